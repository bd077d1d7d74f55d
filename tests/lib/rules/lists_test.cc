// Lists: each type's file format and matching, what each lookup reads from the message and
// envelope, errors naming file and line, and reloading a changed file.
#include "lib/rules/lists.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace farside::rules {
namespace {

std::shared_ptr<const ListSet::Entries> Parse(const char* type, const char* text) {
  auto e = ParseListFile(type, text, "t.list");
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? *e : nullptr;
}

TEST(ListFileTest, IpListsTakeAddressesAndNetworksOfBothFamilies) {
  auto e = Parse("ip", "# comment\n192.0.2.0/24\n198.51.100.7  # one host\n2001:db8::/32\n");
  EXPECT_TRUE(ListMatch(*e, "192.0.2.200"));
  EXPECT_FALSE(ListMatch(*e, "192.0.3.1"));
  EXPECT_TRUE(ListMatch(*e, "198.51.100.7"));
  EXPECT_FALSE(ListMatch(*e, "198.51.100.8"));
  EXPECT_TRUE(ListMatch(*e, "2001:db8:1::5"));
  EXPECT_FALSE(ListMatch(*e, "2001:db9::1"));
  EXPECT_FALSE(ListMatch(*e, "not an ip"));
}

TEST(ListFileTest, DomainsCoverTheirSubdomainsOnly) {
  auto e = Parse("domain", "example.com\n.Spam.Test\n");
  EXPECT_EQ(*ListMatch(*e, "example.com"), "example.com");
  EXPECT_EQ(*ListMatch(*e, "mail.eu.Example.com"), "example.com");
  EXPECT_FALSE(ListMatch(*e, "notexample.com"));
  EXPECT_TRUE(ListMatch(*e, "a.spam.test"));
}

TEST(ListFileTest, EmailListsTakeAddressesAndWholeDomains) {
  auto e = Parse("email", "Boss@Example.com\n@partner.test\n");
  EXPECT_TRUE(ListMatch(*e, "boss@example.com"));
  EXPECT_FALSE(ListMatch(*e, "other@example.com"));
  EXPECT_TRUE(ListMatch(*e, "anyone@partner.test"));
}

TEST(ListFileTest, HeaderAndRegexLists) {
  auto h = Parse("header", "Bulk Mailer 3.0\n");
  EXPECT_TRUE(ListMatch(*h, "  bulk mailer 3.0 "));
  EXPECT_FALSE(ListMatch(*h, "Bulk Mailer 3.01"));
  auto r = Parse("regex", "# whole-line comment\n^re: *\\[#\\d+\\]\n");
  EXPECT_TRUE(ListMatch(*r, "Re: [#123] ticket"));
  EXPECT_FALSE(ListMatch(*r, "# whole-line comment"));
}

TEST(ListFileTest, MistakesNameTheLine) {
  auto e = ParseListFile("ip", "192.0.2.1\n300.1.1.1\n", "bad.list");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "bad.list:2: '300.1.1.1' is not an IP address");
  auto r = ParseListFile("regex", "ok\n(unclosed\n", "bad.re");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StartsWith(r.status().message(), "bad.re:2: bad regex")) << r.status();
}

class ListSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/lists_" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  ListSet::Declared Decl(const std::string& name, const std::string& type, const std::string& file,
                         const std::string& lookup, double score) {
    ListSet::Declared d;
    d.list.set_name(name);
    d.list.set_type(type);
    d.list.set_file(file);
    d.list.set_lookup(lookup);
    d.list.set_score(score);
    d.base_dir = dir_;
    d.rule_file = dir_ + "/lists.yaml";
    return d;
  }
  std::string dir_;
};

TEST_F(ListSetTest, EachLookupReadsItsPartOfTheMessageAndEnvelope) {
  Write("ips", "203.0.113.0/24\n");
  Write("relays", "198.51.100.9\n");
  Write("domains", "shop.example\n");
  Write("allow", "friend@partner.test\n");
  Write("urls", "bad-site.com\n");
  auto set = ListSet::Create({Decl("CLIENT_LISTED", "ip", "ips", "", 3),
                              Decl("RELAY_LISTED", "ip", "relays", "received", 2),
                              Decl("FROM_DOMAIN_LISTED", "domain", "domains", "from", 1),
                              Decl("RCPT_ALLOWED", "email", "allow", "rcpt", -5),
                              Decl("URL_LISTED", "domain", "urls", "url", 4)});
  ASSERT_TRUE(set.ok()) << set.status();
  auto msg = mime::Message::Parse(
      "Received: from a (a [198.51.100.9]) by mx; Mon, 1 Jan 2024 10:00:00 +0000\n"
      "From: News <news@mail.shop.example>\n\nsee http://www.bad-site.com/x\n",
      mime::Message::DefaultLimits());
  farside::v1::Envelope env;
  env.set_client_ip("203.0.113.77");
  env.add_rcpt_to("Friend@partner.test");
  std::string names;
  for (const auto& h : (*set)->Run(msg, env)) names += h.symbol + "=" + h.option + " ";
  EXPECT_EQ(names,
            "CLIENT_LISTED=203.0.113.77 RELAY_LISTED=198.51.100.9 FROM_DOMAIN_LISTED=shop.example "
            "RCPT_ALLOWED=friend@partner.test URL_LISTED=bad-site.com ");
  // Without an envelope address, the client is the newest public Received relay.
  env.clear_client_ip();
  Write("ips", "198.51.100.0/24\n");
  (*set)->ReloadChanged();
  auto hits = (*set)->Run(msg, env);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].symbol, "CLIENT_LISTED");
}

TEST_F(ListSetTest, AChangedFileIsReadAgainAndABrokenOneKeepsTheLastGood) {
  Write("senders", "a@example.com\n");
  auto set = ListSet::Create({Decl("SENDER_LISTED", "email", "senders", "from", 2)});
  ASSERT_TRUE(set.ok()) << set.status();
  auto b = mime::Message::Parse("From: b@example.com\n\nx\n", mime::Message::DefaultLimits());
  farside::v1::Envelope env;
  EXPECT_TRUE((*set)->Run(b, env).empty());
  Write("senders", "a@example.com\nb@example.com\n");
  (*set)->ReloadChanged();
  EXPECT_EQ((*set)->Run(b, env).size(), 1u);
  // Run itself notices within a second.
  Write("senders", "a@example.com\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE((*set)->Run(b, env).empty());
  // A file that no longer parses: the last good contents stay.
  Write("senders", "a@example.com\n");
  auto ip = ListSet::Create({Decl("NET", "ip", "senders", "", 1)});
  EXPECT_FALSE(ip.ok());
  EXPECT_TRUE(absl::StrContains(ip.status().message(), "list NET: ")) << ip.status();
}

TEST_F(ListSetTest, DeclarationMistakesAreErrors) {
  Write("x", "a\n");
  auto bad_type = ListSet::Create({Decl("L", "asn", "x", "", 1)});
  ASSERT_FALSE(bad_type.ok());
  EXPECT_TRUE(absl::StrContains(bad_type.status().message(), "list L: type is one of")) << bad_type.status();
  auto bad_lookup = ListSet::Create({Decl("L", "ip", "x", "subject", 1)});
  ASSERT_FALSE(bad_lookup.ok());
  EXPECT_TRUE(absl::StrContains(bad_lookup.status().message(), "cannot look up 'subject'"));
  auto missing = ListSet::Create({Decl("L", "domain", "nope", "", 1)});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "nope")) << missing.status();
}

}  // namespace
}  // namespace farside::rules
