// Native rules: each rule kind, meta rules, group caps, forced actions, and load errors that
// name the file, the rule and the reason.
#include "lib/rules/rule_set.h"

#include <deque>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/common/config_loader.h"

namespace farside::rules {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<RuleSet> Load(const std::string& yaml) {
  auto s = RuleSet::FromSources({{"test.yaml", yaml}}, 100000);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

absl::Status LoadError(const std::string& yaml) {
  return RuleSet::FromSources({{"bad.yaml", yaml}}, 100000).status();
}

std::set<std::string> Hits(const RuleSet& set, const std::string& raw) {
  static std::deque<std::string> keep;  // part bodies point into the message bytes
  keep.push_back(raw);
  mime::Message msg = mime::Message::Parse(keep.back(), mime::Message::DefaultLimits());
  std::set<std::string> out;
  for (const auto& h : set.Run(msg, [](const std::string& s) { return s == "EXTERNAL" ? 1.0 : 0.0; })) {
    out.insert(h.rule->name);
  }
  return out;
}

const char kMessage[] =
    "From: \"PayPal Support\" <service@evil.example.com>\n"
    "To: a@example.org, b@example.org\n"
    "Subject: =?utf-8?q?URGENT=3A_verify_your_account?=\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=b\n\n"
    "--b\nContent-Type: text/html; charset=utf-8\n\n"
    "<p>Please <b>verify</b> at <a href=\"http://192.0.2.9/login\">here</a></p>\n"
    "--b\nContent-Type: application/octet-stream\n"
    "Content-Disposition: attachment; filename=\"invoice.pdf.exe\"\n\nMZ\n--b--\n";

TEST(RuleSet, EachKindMatchesWhatItReads) {
  auto set = Load(R"(
rules:
  - {name: SUBJ_URGENT, header: {name: Subject, pattern: '^URGENT:'}, score: 1}
  - {name: FROM_NAME_PAYPAL, header: {name: From, part: name, pattern: paypal}, flags: i}
  - {name: FROM_DOMAIN_EVIL, header: {name: From, part: domain, pattern: '(^|\.)example\.com$'}}
  - {name: TO_ALL_EXAMPLE_ORG, header: {name: To, part: address, all: true, pattern: '@example\.org$'}}
  - {name: NO_DATE, header: {name: Date, missing: true}}
  - {name: HAS_SUBJECT, header: {name: Subject}}
  - {name: BODY_VERIFY, body: 'Please verify at here'}
  - {name: RAWBODY_BOLD, rawbody: '<b>verify</b>'}
  - {name: URI_IP, uri: '^https?://\d+\.\d+\.\d+\.\d+/'}
  - {name: DOUBLE_EXT, filename: '\.(pdf|doc)\.(exe|scr)$', flags: i}
  - {name: FULL_MZ, full: '\nMZ\n'}
  - {name: NEVER, body: 'not in the message'}
)");
  ASSERT_NE(set, nullptr);
  EXPECT_THAT(Hits(*set, kMessage),
              ::testing::UnorderedElementsAre("SUBJ_URGENT", "FROM_NAME_PAYPAL", "FROM_DOMAIN_EVIL",
                                              "TO_ALL_EXAMPLE_ORG", "NO_DATE", "HAS_SUBJECT",
                                              "BODY_VERIFY", "RAWBODY_BOLD", "URI_IP", "DOUBLE_EXT",
                                              "FULL_MZ"));
}

TEST(RuleSet, AllMeansEveryAddressOrOccurrence) {
  auto set = Load("rules:\n  - {name: ALL_ORG, header: {name: To, part: domain, all: true, pattern: '^example\\.org$'}}\n");
  EXPECT_EQ(Hits(*set, "To: a@example.org, b@example.net\n\nx").count("ALL_ORG"), 0u);
  EXPECT_EQ(Hits(*set, "To: a@example.org, b@example.org\n\nx").count("ALL_ORG"), 1u);
}

TEST(RuleSet, MetaRulesReadOtherRulesAndOtherChecksInDependencyOrder) {
  // Written out of order on purpose: B_META reads A_META, which is defined after it.
  auto set = Load(R"(
rules:
  - {name: B_META, meta: 'A_META && EXTERNAL'}
  - {name: A_META, meta: 'URI_IP + NO_DATE >= 2'}
  - {name: URI_IP, uri: '//\d+\.\d+\.\d+\.\d+/'}
  - {name: NO_DATE, header: {name: Date, missing: true}}
  - {name: C_META, meta: 'URI_IP && !NO_DATE'}
)");
  ASSERT_NE(set, nullptr);
  std::set<std::string> h = Hits(*set, kMessage);
  EXPECT_TRUE(h.count("A_META"));
  EXPECT_TRUE(h.count("B_META")) << "EXTERNAL comes from another check";
  EXPECT_FALSE(h.count("C_META"));
}

// Sub-rules cost nothing until a meta rule needs them: "A && __B" with A false never runs
// __B, and a sub-rule no meta reads never runs at all.
TEST(RuleSet, SubRulesRunOnlyWhenAMetaRuleReadsThem) {
  auto set = Load(R"(
rules:
  - {name: __PLEASE, body: 'Please'}
  - {name: __VERIFY, body: 'verify'}
  - {name: __UNREAD, body: 'here'}
  - {name: HAS_DATE, header: {name: Date}}
  - {name: DATED_PLEASE, meta: 'HAS_DATE && __PLEASE'}
  - {name: VERIFY_UNDATED, meta: '!HAS_DATE && __VERIFY'}
)");
  ASSERT_NE(set, nullptr);
  std::set<std::string> h = Hits(*set, kMessage);
  EXPECT_FALSE(h.count("__PLEASE")) << "HAS_DATE is false: the && is decided without it";
  EXPECT_TRUE(h.count("__VERIFY"));
  EXPECT_TRUE(h.count("VERIFY_UNDATED"));
  EXPECT_FALSE(h.count("__UNREAD"));
  // Given a Date, the same sub-rule runs and hits.
  h = Hits(*set, std::string("Date: Mon, 1 Jan 2024 00:00:00 +0000\n") + kMessage);
  EXPECT_TRUE(h.count("__PLEASE"));
  EXPECT_TRUE(h.count("DATED_PLEASE"));
}

TEST(RuleSet, GroupCapsHoldAGroupsTotal) {
  auto set = Load("groups:\n  - {name: headers, max_score: 3, min_score: -1}\nrules: []\n");
  ASSERT_NE(set, nullptr);
  EXPECT_DOUBLE_EQ(set->Total({{"headers", 2}, {"headers", 2}, {"body", 1.5}}), 4.5);
  EXPECT_DOUBLE_EQ(set->Total({{"headers", -5}}), -1);
}

TEST(RuleSet, ForcedActionsAndDisabledRules) {
  auto set = Load(R"(
rules:
  - {name: EXE, filename: '\.exe$', force_action: reject, score: 0}
  - {name: OFF, body: 'verify', enabled: false}
)");
  ASSERT_NE(set, nullptr);
  ASSERT_EQ(set->size(), 1u);
  static std::deque<std::string> keep;
  keep.push_back(kMessage);
  mime::Message msg = mime::Message::Parse(keep.back(), mime::Message::DefaultLimits());
  auto hits = set->Run(msg, [](const std::string&) { return 0.0; });
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].rule->force_action, farside::v1::REJECT);
  EXPECT_EQ(hits[0].option, ".exe");
}

TEST(RuleSet, LoadErrorsNameFileRuleAndReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"rules:\n  - {name: BAD_RE, body: '(unclosed'}\n", "bad.yaml: rule BAD_RE: bad regex at offset 9"},
      {"rules:\n  - {name: bad-name, body: x}\n", "rule bad-name: names are letters, digits"},
      {"rules:\n  - {name: TWO, body: x, uri: y}\n", "rule TWO: give exactly one of"},
      {"rules:\n  - {name: NONE}\n", "rule NONE: give exactly one of"},
      {"rules:\n  - {name: M, meta: 'A &&'}\n", "rule M: meta: at column 5"},
      {"rules:\n  - {name: F, body: x, flags: q}\n", "rule F: unknown regex flag 'q'"},
      {"rules:\n  - {name: A, body: x, force_action: explode}\n", "rule A: unknown action 'explode'"},
      {"rules:\n  - {name: H, header: {name: From, part: nose, pattern: x}}\n", "header part is one of"},
      {"rules:\n  - {name: D, body: x}\n  - {name: D, body: y}\n", "rule D: already defined in bad.yaml"},
      {"rules:\n  - {name: X, meta: 'Y'}\n  - {name: Y, meta: 'X'}\n", "cycle: X -> Y -> X"},
      {"rules:\n  - {name: T, bdoy: x}\n", "bad.yaml:2:15: rules[0].bdoy: unknown key"},
      {"rules:\n  - {name: C, check: 'date_shift(1)'}\n", "rule C: unknown check 'date_shift(1)'"},
      {"rules:\n  - {name: C, check: html_only, body: x}\n", "rule C: give exactly one of"},
  };
  for (const auto& [yaml, want] : cases) {
    absl::Status s = LoadError(yaml);
    EXPECT_FALSE(s.ok()) << yaml;
    EXPECT_THAT(std::string(s.message()), HasSubstr(want)) << yaml;
  }
}

TEST(RuleSet, PathologicalPatternsStopAtTheMatchLimit) {
  auto set = RuleSet::FromSources({{"t.yaml", "rules:\n  - {name: SLOW, body: '(a+)+$'}\n"}}, 1000);
  ASSERT_TRUE(set.ok());
  std::string evil = "Subject: x\n\n" + std::string(40, 'a') + "!";
  EXPECT_EQ(Hits(**set, evil).count("SLOW"), 0u) << "gave up instead of hanging";
}

TEST(CutForScan, CutsAfterALineEndOrSpaceWithinAKibibyteElseAtACharacterStart) {
  EXPECT_EQ(CutForScan("short", 10, "\n "), "short");
  EXPECT_EQ(CutForScan("abcdefghij", 0, "\n "), "abcdefghij") << "0 reads everything";
  std::string text = std::string(100, 'a') + "b c\nd";
  EXPECT_EQ(CutForScan(text, 100, "\n "), std::string(100, 'a') + "b c\n") << "a line end first";
  EXPECT_EQ(CutForScan(text, 100, " \n"), std::string(100, 'a') + "b ") << "in the order given";
  std::string far = std::string(100, 'a') + std::string(2000, 'b') + "\n";
  EXPECT_EQ(CutForScan(far, 100, "\n "), std::string(100, 'a')) << "no break within 1 KiB";
  // "é" is two bytes; a cut between them would leave invalid UTF-8.
  std::string utf = std::string(99, 'a') + "\xc3\xa9" + std::string(2000, 'b');
  EXPECT_EQ(CutForScan(utf, 100, "\n "), std::string(99, 'a'));
}

TEST(RuleSet, BodyRulesReadEachPartOnlyUpToItsScanSize) {
  farside::v1::RuleFile rf;
  ASSERT_TRUE(config::MergeYaml("rules:\n  - {name: EARLY, body: early}\n  - {name: LATE, body: late}\n"
                                "  - {name: RAW_LATE, rawbody: late}\n",
                                "t.yaml", &rf)
                  .ok());
  const std::string msg = "Subject: x\n\nearly " + std::string(70000, 'x') + "\nlate\n";
  auto cut = RuleSet::FromRuleFiles({{"t.yaml", rf, false}}, 100000, nullptr, LoadOptions{.prefilter = false, .cache_dir = ""});
  ASSERT_TRUE(cut.ok());
  EXPECT_THAT(Hits(**cut, msg), ::testing::UnorderedElementsAre("EARLY", "RAW_LATE"))
      << "body rules stop near 50,000 bytes; rawbody rules read 500,000";
  LoadOptions whole_options;
  whole_options.prefilter = false;
  whole_options.body_part_scan_size = 0;
  auto whole = RuleSet::FromRuleFiles({{"t.yaml", rf, false}}, 100000, nullptr,
                                      whole_options);
  ASSERT_TRUE(whole.ok());
  EXPECT_THAT(Hits(**whole, msg), ::testing::UnorderedElementsAre("EARLY", "LATE", "RAW_LATE"));
}

}  // namespace
}  // namespace farside::rules
