// URL and e-mail extraction; each test names the real-world trick or rule it checks.
#include "lib/mime/urls.h"

#include <deque>

#include "gtest/gtest.h"
#include "lib/mime/message.h"

namespace farside::mime {
namespace {

Extracted FromText(absl::string_view text) {
  Extracted e;
  ExtractFromText(text, 100, &e);
  return e;
}

TEST(Urls, PublicSuffixListGivesRegisteredDomains) {
  EXPECT_EQ(RegisteredDomain("mail.example.co.uk"), "example.co.uk");
  EXPECT_EQ(RegisteredDomain("a.b.example.com"), "example.com");
  EXPECT_EQ(RegisteredDomain("setup.notatld"), "") << "no listed suffix, no domain";
}

TEST(Urls, WithSchemeBareWwwAndBareHostsWithARealSuffix) {
  Extracted e = FromText(
      "See https://Shop.Example.com/offer?id=1. Or www.example.org, or visit deals.example.net/x "
      "but not e.g. this or version 1.2.3 or 4.99 dollars or file.notatld.");
  ASSERT_EQ(e.urls.size(), 3u);
  EXPECT_EQ(e.urls[0].host, "shop.example.com");
  EXPECT_EQ(e.urls[0].url, "https://Shop.Example.com/offer?id=1") << "trailing '.' dropped";
  EXPECT_EQ(e.urls[1].host, "www.example.org");
  EXPECT_TRUE(e.urls[1].schemeless);
  EXPECT_EQ(e.urls[2].domain, "example.net");
}

TEST(Urls, QuirkUserinfoTrickPointsElsewhere) {
  auto u = ParseUrl("http://www.bank.example@evil.test.com/login", Url::Source::kHtmlLink);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "evil.test.com");
  EXPECT_TRUE(u->userinfo);
}

TEST(Urls, QuirkZeroWidthCharactersAndPercentEncodedHosts) {
  Extracted e = FromText("go to http://pay\xE2\x80\x8Bpal.example.com/ now");
  ASSERT_EQ(e.urls.size(), 1u);
  EXPECT_EQ(e.urls[0].host, "paypal.example.com");
  EXPECT_TRUE(e.urls[0].obfuscated);
  auto p = ParseUrl("http://%65vil.example.com/", Url::Source::kHtmlLink);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->host, "evil.example.com");
  EXPECT_TRUE(p->obfuscated);
  auto h = ParseUrl("hxxp://evil.example.com/", Url::Source::kText);
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->obfuscated);
}

TEST(Urls, IdnHostsBecomePunycodeAndMixedScriptsAreFlagged) {
  auto u = ParseUrl("http://bücher.example.com/", Url::Source::kHtmlLink);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "xn--bcher-kva.example.com");
  EXPECT_TRUE(u->idn);
  EXPECT_FALSE(u->mixed_scripts);
  // "pаypal" with a Cyrillic 'а' (U+0430): a homograph.
  auto h = ParseUrl("http://p\xD0\xB0ypal.com/", Url::Source::kHtmlLink);
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->mixed_scripts);
}

TEST(Urls, NumericHostsAreIpLiteralsOnlyWithAScheme) {
  for (const char* s : {"http://192.0.2.1/x", "http://3221225985/", "http://0xC0.0x0.0x2.0x1/"}) {
    auto u = ParseUrl(s, Url::Source::kHtmlLink);
    ASSERT_TRUE(u.has_value()) << s;
    EXPECT_TRUE(u->ip_host) << s;
    EXPECT_EQ(u->domain, "");
  }
  EXPECT_TRUE(FromText("only 19.99 today, v2.0.1").urls.empty());
  EXPECT_FALSE(ParseUrl("javascript:alert(1)", Url::Source::kHtmlLink).has_value());
  EXPECT_FALSE(ParseUrl("cid:part1", Url::Source::kHtmlImage).has_value());
}

TEST(Emails, AddressesWithARealDomainAndMailto) {
  Extracted e = FromText("write to Sales@Example.COM, or as:jm@example.org; mailto:x@y.notatld");
  ASSERT_EQ(e.emails.size(), 2u);
  EXPECT_EQ(e.emails[0].address, "Sales@example.com");
  EXPECT_EQ(e.emails[1].address, "jm@example.org") << "what precedes the local part is dropped";
}

TEST(Urls, MessageCollectsTextAndHtmlOnceEach) {
  static std::deque<std::string> keep;
  keep.push_back(
      "Content-Type: multipart/alternative; boundary=b\n\n--b\n\nsee http://a.example.com/\n"
      "--b\nContent-Type: text/html\n\n<a href=\"http://a.example.com/\">http://a.example.com/</a>"
      "<a href=\"http://evil.example.net/\">http://bank.example.com/</a><img src=\"http://img.example.org/t.gif\">"
      "<a href=\"mailto:info@example.com\">mail</a>\n--b--\n");
  Message m = Message::Parse(keep.back(), Message::DefaultLimits());
  const Extracted& x = m.Links();
  ASSERT_EQ(x.urls.size(), 4u);  // a (text, then href: once), evil, img, bank (visible text)
  EXPECT_EQ(x.urls[1].host, "evil.example.net");
  EXPECT_EQ(x.urls[1].anchor_text, "http://bank.example.com/") << "anchor shows another domain";
  EXPECT_EQ(x.urls[2].source, Url::Source::kHtmlImage);
  ASSERT_EQ(x.emails.size(), 1u);
  EXPECT_EQ(x.emails[0].address, "info@example.com");
}

}  // namespace
}  // namespace farside::mime
