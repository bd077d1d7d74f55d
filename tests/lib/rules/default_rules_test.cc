// Farside's default rule set (rules/default): it loads, it holds at least 60 scored rules
// with descriptions, and the built-in checks behind them find what they describe.
#include <cstdlib>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "lib/rules/rule_set.h"

namespace farside::rules {
namespace {

// Loaded once: compiling the prefilters takes a moment.
const RuleSet* Defaults() {
  static const RuleSet* set = [] {
    const char* src = std::getenv("FARSIDE_SOURCE_DIR");
    std::string dir = std::string(src != nullptr ? src : ".") + "/rules/default";
    auto rs = RuleSet::LoadDirs({dir}, 100000);
    EXPECT_TRUE(rs.ok()) << rs.status();
    return rs.ok() ? rs->release() : nullptr;
  }();
  return set;
}

std::set<std::string> Hits(const RuleSet& rs, const std::string& m) {
  auto msg = mime::Message::Parse(m, mime::Message::DefaultLimits());
  std::set<std::string> out;
  for (const auto& h : rs.Run(msg, [](const std::string&) { return 0.0; })) {
    if (h.rule->name.rfind("__", 0) != 0) out.insert(h.rule->name);  // sub-rules count nothing
  }
  return out;
}

TEST(DefaultRules, SixtyOrMoreScoredRulesEachWithADescription) {
  const RuleSet* rs = Defaults();
  ASSERT_NE(rs, nullptr);
  int scored = 0;
  for (const CompiledRule& r : rs->rules()) {
    if (r.name.rfind("__", 0) == 0) continue;
    ++scored;
    EXPECT_GT(r.description.size(), 20u) << r.name;
    EXPECT_NE(r.score, 0) << r.name;
  }
  EXPECT_GE(scored, 60);
}

TEST(DefaultRules, ShoutingLineFoundHoweverLong) {
  // Lines with many capitals and a small letter late once made the pattern backtrack
  // through every way of picking 20 of them, until PCRE2's match limit ended the search
  // as "no match" before the shouting line was reached. It must hit after any such text,
  // and a line with one small letter must not.
  const RuleSet* rs = Defaults();
  ASSERT_NE(rs, nullptr);
  const std::string caps = "THEY STOLE OUR REVOLUTION. NOW WE'RE STEALING IT BACK. ACT NOW, FRIENDS!";
  std::string title_lines;
  for (int i = 0; i < 50; ++i) title_lines += "ABCDE FGHIJ KLMNO PQRS end\n";  // 19 capitals
  EXPECT_TRUE(Hits(*rs, "Subject: x\n\nhello\n" + caps + "\nbye\n").count("BODY_SHOUTING"));
  EXPECT_TRUE(Hits(*rs, "Subject: x\n\n" + title_lines + caps + "\n").count("BODY_SHOUTING"));
  EXPECT_FALSE(Hits(*rs, "Subject: x\n\nhello\n" + caps + "x\nbye\n").count("BODY_SHOUTING"));
  EXPECT_FALSE(Hits(*rs, "Subject: x\n\nSIXTEEN CAPS ONLY\n").count("BODY_SHOUTING"));
}

TEST(DefaultRules, HeaderForgeryChecks) {
  const RuleSet* rs = Defaults();
  ASSERT_NE(rs, nullptr);
  auto h = Hits(*rs,
                "Received: from 198.51.100.3 (unknown [198.51.100.3]) by mx.example.net; "
                "Mon, 01 Jan 2024 10:00:00 +0000\n"
                "Date: Tue, 09 Jan 2024 10:00:00 +0000\n"
                "From: \"PayPal.com Service\" <0012345678@mailer.example.org>\n"
                "Reply-To: <claims@elsewhere.example.net>\n"
                "Message-ID: <nodomain>\n"
                "To: undisclosed-recipients:;\n"
                "Subject: Your refund of $300 !!!\n\nhello\n");
  for (const char* want : {"DATE_IN_FUTURE", "FROM_NAME_OTHER_DOMAIN", "REPLY_TO_OTHER_DOMAIN",
                           "MSGID_NO_DOMAIN", "RCVD_HELO_BARE_IP", "TO_UNDISCLOSED", "FROM_NUMERIC_LOCAL",
                           "SUBJECT_EXCESS_PUNCTUATION", "SUBJECT_HAS_PRICE"}) {
    EXPECT_TRUE(h.count(want)) << want;
  }
  EXPECT_FALSE(h.count("DATE_IN_PAST"));
}

TEST(DefaultRules, PhishingHtmlAndLinks) {
  const RuleSet* rs = Defaults();
  ASSERT_NE(rs, nullptr);
  auto h = Hits(*rs,
                "From: Bank <alerts@bank.example.com>\nTo: a@b.example.org\nSubject: notice\n"
                "MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n"
                "<p>Your account has been suspended. Please verify your account.</p>"
                "<a href=\"http://login.evil-site.net/secure-login.php\">www.bank.example.com</a>"
                "<div style=\"display:none\">random words</div><img src=\"http://evil-site.net/x.png\">\n");
  for (const char* want : {"HTML_ONLY", "HTML_LITTLE_TEXT", "IMAGE_ONLY", "HTML_HIDDEN_TEXT",
                           "ACCOUNT_SUSPENDED", "ACCOUNT_VERIFY", "URI_ANCHOR_MISMATCH",
                           "URI_LOGIN_PAGE", "PHISHING_LINKS"}) {
    EXPECT_TRUE(h.count(want)) << want;
  }
}

TEST(DefaultRules, AttachmentsAndEncodings) {
  const RuleSet* rs = Defaults();
  ASSERT_NE(rs, nullptr);
  auto h = Hits(*rs,
                "From: a@b.example.org\nTo: c@d.example.org\nSubject: =?utf-8?B?aGVsbG8=?=\n"
                "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
                "aGVsbG8gd29ybGQ=\n--b\n"
                "Content-Type: application/octet-stream; name=\"report.docm\"\n"
                "Content-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAA\n"
                "--b\nContent-Type: text/html; name=\"login.htm\"\n"
                "Content-Disposition: attachment; filename=\"login.htm\"\n\n<form action=x>\n--b--\n");
  for (const char* want : {"BASE64_TEXT", "SUBJECT_BASE64_WESTERN", "ATTACH_MACRO_ENABLED_NAME",
                           "ATTACH_EXECUTABLE_CONTENT", "ATTACH_HTML"}) {
    EXPECT_TRUE(h.count(want)) << want;
  }
}

TEST(DefaultRules, PlainMailStaysQuiet) {
  const RuleSet* rs = Defaults();
  ASSERT_NE(rs, nullptr);
  auto h = Hits(*rs,
                "Received: from mail.example.org (mail.example.org [203.0.113.5]) by mx.example.net; "
                "Mon, 01 Jan 2024 10:00:05 +0000\n"
                "Date: Mon, 01 Jan 2024 10:00:00 +0000\nFrom: Ann Example <ann@example.org>\n"
                "To: bob@example.net\nMessage-ID: <1@example.org>\nSubject: lunch\n"
                "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n"
                "Shall we meet at noon?\n");
  EXPECT_TRUE(h.empty()) << *h.begin();
}

}  // namespace
}  // namespace farside::rules
