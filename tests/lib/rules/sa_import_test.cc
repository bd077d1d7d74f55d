// The SpamAssassin importer on hand-written .cf text; each test names the .cf rule it checks.
#include "lib/rules/sa_import.h"

#include <deque>

#include "gmock/gmock.h"
#include "lib/rules/sa_html.h"
#include "gtest/gtest.h"

namespace farside::rules {
namespace {

SaImport Import(const std::string& cf) { return ImportSpamAssassin({{"t.cf", cf}}, 100000); }

const farside::v1::Rule* Find(const SaImport& imp, const std::string& name) {
  for (const auto& r : imp.rules.rules()) {
    if (r.name() == name) return &r;
  }
  return nullptr;
}

// The names of the imported rules that hit message `m`, each followed by a space.
std::string HitNames(const RuleSet& rs, const std::string& m) {
  auto msg = mime::Message::Parse(m, mime::Message::DefaultLimits());
  std::string out;
  for (const auto& h : rs.Run(msg, [](const std::string&) { return 0.0; })) out += h.rule->name + " ";
  return out;
}

TEST(SaImport, RuleKindsScoresDescriptionsAndLaterDefinitionsWin) {
  SaImport imp = Import(R"(
# a comment
body     LOTTERY_WIN   /you have won \$\d+/i
describe LOTTERY_WIN   Claims you won money
score    LOTTERY_WIN   2.5 2.6 2.7 2.8
rawbody  RAW_FONT      m{<font\s+size=\"?7}i
uri      URI_HEX       m,^https?://[^/]*%[0-9a-f]{2},i
full     FULL_X        /^X-Bogus:/m
header   SUBJ_FREE     Subject =~ /\bfree\b/i
header   FROM_ADDR_NUM From:addr =~ /^\d+\@/
header   HAS_XM        exists:X-Mailer
header   NO_UA         User-Agent !~ /./ [if-unset: none]
meta     COMBO         LOTTERY_WIN && (SUBJ_FREE || !HAS_XM)
header   SUBJ_FREE     Subject =~ /\bgratis\b/i
)");
  EXPECT_EQ(imp.skipped_count(), 0) << imp.skipped[0].rule << ": " << imp.skipped[0].reason;
  const auto* lw = Find(imp, "LOTTERY_WIN");
  ASSERT_NE(lw, nullptr);
  EXPECT_EQ(lw->body(), "you have won \\$\\d+");
  EXPECT_EQ(lw->flags(), "im") << "body rules anchor per line, as SpamAssassin matches them";
  EXPECT_DOUBLE_EQ(lw->score(), 2.5) << "score set 0: no network, no Bayes";
  EXPECT_EQ(lw->description(), "Claims you won money");
  EXPECT_EQ(Find(imp, "RAW_FONT")->rawbody(), "<font\\s+size=\\\"?7");
  EXPECT_EQ(Find(imp, "URI_HEX")->uri(), "^https?://[^/]*%[0-9a-f]{2}");
  EXPECT_EQ(Find(imp, "FROM_ADDR_NUM")->header().part(), "address");
  EXPECT_EQ(Find(imp, "HAS_XM")->header().name(), "X-Mailer");
  EXPECT_TRUE(Find(imp, "NO_UA")->header().negate());
  EXPECT_EQ(Find(imp, "NO_UA")->header().if_unset(), "none");
  EXPECT_EQ(Find(imp, "SUBJ_FREE")->header().pattern(), "\\bgratis\\b") << "the last definition wins";
  EXPECT_EQ(imp.by_type.at("header").loaded, 4);
  EXPECT_EQ(imp.by_type.at("meta").loaded, 1);
}

TEST(SaImport, ReplaceTagsExpandInTheRulesThatAskForThem) {
  SaImport imp = Import(R"(
replace_tag   V   (?:[vV]|\\/)
replace_tag   I   [iI1!|]
replace_inter W1  \W?
replace_post  P2  {1,2}
body  FUZZY_VI   /<inter W1><post P2><V><I>x/i
body  PLAIN_VI   /<V><I>/
replace_rules FUZZY_VI
)");
  EXPECT_EQ(Find(imp, "FUZZY_VI")->body(), R"((?:[vV]|\\/){1,2}\W?[iI1!|]{1,2}x)");
  EXPECT_EQ(Find(imp, "PLAIN_VI")->body(), "<V><I>") << "not listed in replace_rules";
}

TEST(SaImport, HomoglyphRulesRunInByteModeBehindAWidenedPrefilterPattern) {
  SaImport imp = Import(R"(
replace_tag   M   (?:[mM]|rn|[\xd0][\x9c\xbc]|[\xce][\x9c]|[\xe1](?:[\xb8][\xbe\xbf]|[\xb9][\x80-\x83]))
replace_tag   O   (?:[oO0]|[\xc3][\xb2-\xb6]|[\xd0][\x9e\xbe]|[\xce][\x9f\xbf]|[\xe1](?:[\xbd][\x80-\x85]|[\xbb][\x8d-\xa3]))
replace_tag   N   (?:[nN]|[\xc3][\x91\xb1]|[\xc5][\x83-\x8b]|[\xce][\x9d\xb7]|[\xe1](?:[\xb9][\x84-\x8b]))
replace_tag   E   (?:[eE3]|[\xc3][\xa8-\xab]|[\xd0][\x95\xb5]|[\xce][\x95\xb5]|[\xe1](?:[\xba][\xb8-\xbf]|[\xbb][\x80-\x87]))
replace_tag   Y   (?:[yY]|[\xc3][\xbd\xbf]|[\xd1][\x83]|[\xce][\xa5\xb3]|[\xe1](?:[\xbb][\xb2-\xb9]))
replace_inter W1  \W?
replace_post  P2  {1,2}
body  FUZZY_MONEY   /<inter W1><post P2>(?!money)<M><O><N><E><Y>/i
body  __NOT_WIDENED /(?!<M><O>)main/i
body  PLAIN_A       /alpha/
body  PLAIN_B       /beta/
body  PLAIN_C       /gamma/
replace_rules FUZZY_MONEY __NOT_WIDENED
)");
  const farside::v1::Rule* fuzzy = Find(imp, "FUZZY_MONEY");
  ASSERT_NE(fuzzy, nullptr);
  EXPECT_THAT(fuzzy->flags(), ::testing::HasSubstr("b")) << "SpamAssassin matches these on bytes";
  EXPECT_FALSE(fuzzy->prefilter_pattern().empty());
  EXPECT_LT(fuzzy->prefilter_pattern().size(), fuzzy->body().size());
  EXPECT_TRUE(Find(imp, "__NOT_WIDENED")->prefilter_pattern().empty())
      << "a tag in a negative lookahead: widening it would narrow the pattern";
  auto with = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_GE((*with)->prefiltered(), 4u) << "the widened pattern is in the prefilter";
  auto without = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr,
                                        LoadOptions{.prefilter = false, .cache_dir = ""});
  ASSERT_TRUE(without.ok());
  const std::string utf8 = "Subject: x\nContent-Type: text/plain; charset=utf-8\n\n";
  for (const auto& [body, want] : std::vector<std::pair<std::string, std::string>>{
           {"send m0ney now", "FUZZY_MONEY "},
           {"send money now", ""},
           {"send m\xd0\xbeney now", "FUZZY_MONEY "},  // a Cyrillic o
           {"send rn-o-n-e-y now", "FUZZY_MONEY "},
           {"send mmoonneeyy now", "FUZZY_MONEY "}}) {
    EXPECT_EQ(HitNames(**with, utf8 + body + "\n"), want) << body;
    EXPECT_EQ(HitNames(**without, utf8 + body + "\n"), want) << body << " (no prefilter)";
  }
}

TEST(SaImport, ConditionalsTakeEveryPluginAsLoaded) {
  SaImport imp = Import(R"(
ifplugin Mail::SpamAssassin::Plugin::Foo
body IN_PLUGIN /a/
endif
if !plugin(Mail::SpamAssassin::Plugin::Foo)
body FALLBACK /b/
else
body OTHERWISE /c/
endif
if (version >= 3.004000)
  body VERSIONED /d/
endif
)");
  EXPECT_NE(Find(imp, "IN_PLUGIN"), nullptr);
  EXPECT_EQ(Find(imp, "FALLBACK"), nullptr);
  EXPECT_NE(Find(imp, "OTHERWISE"), nullptr);
  EXPECT_NE(Find(imp, "VERSIONED"), nullptr);
}

TEST(SaImport, WhatCannotBeImportedIsSkippedWithAReason) {
  SaImport imp = Import(R"(
body     RAZOR_X    eval:check_razor2()
body     PYZOR_X    eval:check_pyzor()
header   SPAMHDR    X-Spam-Flag =~ /x/
body     BROKEN     /(unclosed/
uri_detail URI_D    host =~ /foo/
meta     NEEDS_RAZOR  !RAZOR_X && BROKEN_TOO
meta     ON_TOP     NEEDS_RAZOR || PYZOR_X
)");
  EXPECT_EQ(imp.loaded(), 0);
  ASSERT_EQ(imp.skipped.size(), 7u);
  std::map<std::string, std::string> why;
  for (const auto& s : imp.skipped) why[s.rule] = s.reason;
  EXPECT_EQ(why["RAZOR_X"], "eval: check_razor2");
  EXPECT_EQ(why["PYZOR_X"], "eval: check_pyzor");
  EXPECT_THAT(why["SPAMHDR"], ::testing::HasSubstr("made by SpamAssassin itself"));
  // A meta rule that reads a rule left out is left out: reading it as 0 would make
  // "!RAZOR_X" true where SpamAssassin's rule could hit.
  EXPECT_EQ(why["NEEDS_RAZOR"], "reads RAZOR_X, which was skipped");
  EXPECT_EQ(why["ON_TOP"], "reads NEEDS_RAZOR, which was skipped");
  EXPECT_THAT(why["BROKEN"], ::testing::HasSubstr("bad regex"));
  EXPECT_THAT(why["URI_D"], ::testing::HasSubstr("uri_detail"));
}

TEST(SaImport, RelayPseudoHeadersComeFromTheReceivedFields) {
  const std::string m =
      "Received: from mx.example.net (mx.example.net [10.0.0.5]) by in.example.net; Mon, 1 Jan 2024\n"
      "Received: from helo.test (dyn-1.isp.test [203.0.113.9]) by mx.example.net with ESMTP id Q1;"
      " Mon, 1 Jan 2024\n"
      "Received: from [198.51.100.7] (helo=pc) by dyn-1.isp.test; Mon, 1 Jan 2024\n"
      "Return-Path: <bounce@lists.example.org>\n"
      "Subject: x\n\nbody\n";
  auto msg = mime::Message::Parse(m, mime::Message::DefaultLimits());
  EXPECT_EQ(*PseudoHeader(msg, "X-Spam-Relays-Trusted"),
            "[ ip=10.0.0.5 rdns=mx.example.net helo=mx.example.net by=in.example.net ident= "
            "envfrom= intl=1 id= auth= msa=0 ]");
  const std::string ext = *PseudoHeader(msg, "X-Spam-Relays-External");
  EXPECT_THAT(ext, ::testing::StartsWith("[ ip=203.0.113.9 rdns=dyn-1.isp.test helo=helo.test "
                                         "by=mx.example.net ident= envfrom= intl=0 id=Q1 "));
  EXPECT_THAT(ext, ::testing::HasSubstr("] [ ip=198.51.100.7 "));
  EXPECT_EQ(*PseudoHeader(msg, "EnvelopeFrom"), "bounce@lists.example.org");
  EXPECT_FALSE(PseudoHeader(msg, "Subject").has_value());

  SaImport imp = Import(R"(
header  __RDNS_NONE  X-Spam-Relays-Untrusted =~ /^[^\]]+ rdns= /
header  EXT_DYN      X-Spam-Relays-External =~ /rdns=dyn-/
header  ENV_LISTS    EnvelopeFrom =~ /\@lists\./
)");
  ASSERT_EQ(imp.skipped_count(), 0);
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok());
  std::string hits;
  for (const auto& h : (*rs)->Run(msg, [](const std::string&) { return 0.0; })) {
    hits += h.rule->name + " ";
  }
  EXPECT_EQ(hits, "EXT_DYN ENV_LISTS ");
}

TEST(SaImport, AllExternalHoldsTheFieldsFromTheFirstUntrustedRelaysReceivedOn) {
  const std::string m =
      "X-Top: added here\n"
      "Received: from mx.example.net (mx.example.net [10.0.0.5]) by in.example.net; Mon, 1 Jan 2024\n"
      "X-Middle: added by mx\n"
      "Received: from helo.test (dyn-1.isp.test [203.0.113.9]) by mx.example.net; Mon, 1 Jan 2024\n"
      "X-Low: from outside\n"
      "Subject: x\n\nbody\n";
  auto msg = mime::Message::Parse(m, mime::Message::DefaultLimits());
  const std::string ext = *PseudoHeader(msg, "ALL-EXTERNAL");
  EXPECT_THAT(ext, ::testing::StartsWith("Received: from helo.test"));
  EXPECT_THAT(ext, ::testing::HasSubstr("\nX-Low: from outside\nSubject: x\n"));
  EXPECT_THAT(ext, ::testing::Not(::testing::HasSubstr("X-Middle")));
  const std::string trusted = *PseudoHeader(msg, "ALL-TRUSTED");
  EXPECT_THAT(trusted, ::testing::StartsWith("X-Top: added here\nReceived: from mx.example.net"));
  EXPECT_THAT(trusted, ::testing::EndsWith("X-Middle: added by mx\nReceived: from helo.test (dyn-1.isp.test "
                                           "[203.0.113.9]) by mx.example.net; Mon, 1 Jan 2024\n"));
  EXPECT_THAT(trusted, ::testing::Not(::testing::HasSubstr("X-Low")));
}

// A meta rule reading a rule no file defines reads it as 0, as SpamAssassin's does.
TEST(SaImport, UndefinedSymbolsInMetaRulesReadAsZero) {
  SaImport imp = Import(R"(
body  __LOTTERY  /lottery/
meta  LOTTERY_UNSPOOFED  __LOTTERY && !__NEVER_DEFINED
meta  NEEDS_ONE          __LOTTERY && __NEVER_DEFINED
)");
  ASSERT_EQ(imp.skipped_count(), 0);
  EXPECT_EQ(Find(imp, "LOTTERY_UNSPOOFED")->meta(), "__LOTTERY && !0");
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_EQ(HitNames(**rs, "Subject: x\n\nwon the lottery\n"), "__LOTTERY LOTTERY_UNSPOOFED ");
}

TEST(SaImport, AZeroScoreDisablesARuleAndMetaRulesReadItAsZero) {
  // SpamAssassin runs no rule whose score is 0 (sub-rules included, when given one), and a
  // meta rule reads such a rule as 0. A rule in testing (T_) scores 0.01 unless told, a
  // "nice" rule -1.
  SaImport imp = Import(R"(
body   OFFER        /offer/i
score  OFFER        0
body   __CHEAP      /cheap/i
score  __CHEAP      0
body   __WATCH      /watch/i
meta   CHEAP_WATCH  __CHEAP && __WATCH
meta   NOT_OFFER    __WATCH && !OFFER
meta   OFFER_META   OFFER || __WATCH
score  OFFER_META   0 0 0 0
body   T_NEW_RULE   /watch/i
body   PLAIN_RULE   /watch/i
body   NICE_RULE    /watch/i
tflags NICE_RULE    nice
body   NICE_SCORED  /watch/i
tflags NICE_SCORED  nice
score  NICE_SCORED  -0.5
)");
  ASSERT_EQ(imp.skipped_count(), 0) << imp.skipped[0].rule << ": " << imp.skipped[0].reason;
  EXPECT_FALSE(Find(imp, "OFFER")->enabled());
  EXPECT_FALSE(Find(imp, "__CHEAP")->enabled());
  EXPECT_FALSE(Find(imp, "OFFER_META")->enabled());
  EXPECT_TRUE(Find(imp, "__WATCH")->enabled());
  EXPECT_EQ(Find(imp, "CHEAP_WATCH")->meta(), "0 && __WATCH");
  EXPECT_EQ(Find(imp, "NOT_OFFER")->meta(), "__WATCH && !0");
  EXPECT_EQ(imp.loaded(), 10) << "disabled rules are loaded: a local score brings them back";
  EXPECT_EQ(imp.disabled_count(), 3);
  EXPECT_EQ(imp.by_type.at("body").disabled, 2);
  EXPECT_DOUBLE_EQ(Find(imp, "T_NEW_RULE")->score(), 0.01);
  EXPECT_DOUBLE_EQ(Find(imp, "PLAIN_RULE")->score(), 1.0);
  EXPECT_DOUBLE_EQ(Find(imp, "NICE_RULE")->score(), -1.0) << "a nice rule's default is negative";
  EXPECT_DOUBLE_EQ(Find(imp, "NICE_SCORED")->score(), -0.5);
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_EQ(HitNames(**rs, "Subject: x\n\nA cheap offer: a watch\n"),
            "T_NEW_RULE PLAIN_RULE NICE_RULE NICE_SCORED __WATCH NOT_OFFER ");
}

TEST(SaImport, SenderListsShortenersAndEnvelopeChecksRun) {
  SaImport imp = Import(R"(
enlist_addrlist (SUSP_NTLD) *@*.top *@*.icu
enlist_addrlist (SUSP_NTLD) billing@example.?et
url_shortener bit.ly .page.link
header  FROM_SUSP_NTLD    eval:check_from_in_list('SUSP_NTLD')
header  REPLYTO_SUSP_NTLD eval:check_replyto_in_list('SUSP_NTLD')
body    URL_SHORT         eval:short_url()
header  RP_MATCHES        eval:check_mailfrom_matches_rcvd()
header  ENV_IS_FROM       eval:check_for_matching_env_and_hdr_from()
header  NO_RCVD           eval:gated_through_received_hdr_remover()
)");
  ASSERT_EQ(imp.skipped_count(), 0);
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_EQ(HitNames(**rs,
                     "Received: from a (mail.shop.co.uk [203.0.113.9]) by mx.example.net; Mon, 1 Jan 2024\n"
                     "Return-Path: <bounce@news.shop.co.uk>\n"
                     "From: Shop <news@shop.top>\nReply-To: billing@example.net\nSubject: x\n\n"
                     "see https://bit.ly/abc and http://x.page.link/q but not https://bit.ly\n"),
            "FROM_SUSP_NTLD REPLYTO_SUSP_NTLD URL_SHORT RP_MATCHES ");
  // No Received at all; the envelope sender is From; shortener hosts need a path or a
  // listed parent; other registered domains do not match the relay.
  EXPECT_EQ(HitNames(**rs, "Return-Path: <a@b.example>\nFrom: A <A@b.example>\nSubject: x\n\n"
                           "https://bit.ly and https://y.x.page.link/q and https://www.bit.ly/z\n"),
            "URL_SHORT ENV_IS_FROM NO_RCVD ");
  // A rule naming a list nobody declared is an error for native rules.
  farside::v1::RuleFile f;
  auto* r = f.add_rules();
  r->set_name("X");
  r->set_check("from_in_list(NOPE)");
  r->set_enabled(true);
  auto bad = RuleSet::FromRuleFiles({{"mine.yaml", f, false}}, 100000, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("no address list 'NOPE'"));
}

TEST(SaImport, EvalsWithANativeCheckAndMimeheaderRulesLoadAndRun) {
  SaImport imp = Import(R"(
header  HEADER_FROM_DIFFERENT_DOMAINS  eval:check_equal_from_domains()
body    HTML_MESSAGE       eval:html_test('html')
body    MIME_HTML_ONLY     eval:check_for_mime_html_only()
header  DATE_IN_FUTURE_06_12  eval:check_for_shifted_date('6', '12')
header  DATE_IN_PAST_96_XX    eval:check_for_shifted_date('undef', '-96')
mimeheader GIF_NAME        Content-Type =~ /name="[a-z]{3,}\.gif"/
)");
  ASSERT_EQ(imp.skipped_count(), 0) << imp.skipped[0].reason;
  EXPECT_EQ(Find(imp, "DATE_IN_FUTURE_06_12")->check(), "date_shift(6,12)");
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  auto hits = [&](const std::string& m) { return HitNames(**rs, m); };
  EXPECT_EQ(hits("Received: from a (a [203.0.113.1]) by mx; Mon, 01 Jan 2024 10:00:00 +0000\n"
                 "Date: Mon, 01 Jan 2024 18:00:00 +0000\n"
                 "From: Shop <news@mail.shop.example.com>\nReturn-Path: <b@bounces.example.net>\n"
                 "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
                 "Content-Type: text/html\n\n<p>hi</p>\n--b\n"
                 "Content-Type: image/gif; name=\"logo.gif\"\n\nGIF89a\n--b--\n"),
            "HEADER_FROM_DIFFERENT_DOMAINS HTML_MESSAGE MIME_HTML_ONLY DATE_IN_FUTURE_06_12 GIF_NAME ");
  EXPECT_EQ(hits("Received: from a (a [203.0.113.1]) by mx; Mon, 08 Jan 2024 10:00:00 +0000\n"
                 "Date: Mon, 01 Jan 2024 10:00:00 +0000\n"
                 "From: a@example.com\nReturn-Path: <x@sub.example.com>\n\nplain\n"),
            "DATE_IN_PAST_96_XX ");
}

TEST(SaImport, CountingEvalsMapToBuiltInChecks) {
  SaImport imp = Import(R"(
body    GIF_ATTACH_1       eval:image_count('gif','1','1')
body    __PNG_ATTACH_2P    eval:image_count('png','2')
header  HEADER_COUNT_SUBJECT  eval:check_header_count_range('Subject','2','999')
body    BODY_LT_128        eval:check_body_length('128')
header  SUBJ_ALL_CAPS      eval:subject_is_all_caps()
body    HTML_IMAGE_ONLY_04 eval:html_image_only('0000','0400')
body    __UPPERCASE_75_100 eval:check_for_uppercase('75', '100')
)");
  ASSERT_EQ(imp.skipped_count(), 0) << imp.skipped[0].reason;
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  auto msg = mime::Message::Parse(
      "Subject: FREE MONEY NOW\nSubject: again\nContent-Type: multipart/mixed; boundary=b\n\n"
      "--b\nContent-Type: text/html\n\n<img src=x.gif>SHORT\n"
      "--b\nContent-Type: image/gif\n\nGIF89a\n--b--\n",
      mime::Message::DefaultLimits());
  const std::string hits = HitNames(**rs, std::string(msg.raw()));
  EXPECT_EQ(hits, "GIF_ATTACH_1 HEADER_COUNT_SUBJECT BODY_LT_128 SUBJ_ALL_CAPS HTML_IMAGE_ONLY_04 ");
}

TEST(SaImport, FreeMailChecksUseTheFreemailDomains) {
  SaImport imp = Import(R"(
freemail_domains  mail.example  aol.*  *.free.hr
header  FREEMAIL_FROM               eval:check_freemail_from()
header  FREEMAIL_REPLYTO_END_DIGIT  eval:check_freemail_header('Reply-To', '\d@')
header  FREEMAIL_REPLYTO            eval:check_freemail_replyto('replyto')
)");
  ASSERT_EQ(imp.skipped_count(), 0) << imp.skipped[0].reason;
  EXPECT_EQ(imp.rules.freemail_domains_size(), 3);
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  auto hits = [&](const std::string& m) { return HitNames(**rs, m); };
  EXPECT_EQ(hits("From: a@aol.de\nReply-To: win2024@x.free.hr\n\nhi\n"),
            "FREEMAIL_FROM FREEMAIL_REPLYTO_END_DIGIT FREEMAIL_REPLYTO ");
  EXPECT_EQ(hits("From: postmaster@mail.example\n\nhi\n"), "") << "role addresses do not count";
  EXPECT_EQ(hits("From: a@company.example\nReply-To: a@company.example\n\nhi\n"), "");
}

TEST(SaImport, BodyRulesReadTheSubjectAsSpamAssassinDoes) {
  SaImport imp = Import("body SUBJ_WORD /\\bjackpot\\b/i\n");
  ASSERT_EQ(imp.skipped_count(), 0);
  EXPECT_TRUE(Find(imp, "SUBJ_WORD")->body_with_subject());
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(HitNames(**rs, "Subject: JACKPOT inside\n\nplain text\n"), "SUBJ_WORD ");
  EXPECT_EQ(HitNames(**rs, "Subject: hello\n\nplain text\n"), "");
}

TEST(SaImport, RelayCountingEvals) {
  SaImport imp = Import(R"(
header ALL_TRUSTED      eval:check_all_trusted()
header NO_RELAYS        eval:check_no_relays()
header MISSING_HEADERS  eval:check_for_missing_to_header()
)");
  ASSERT_EQ(imp.skipped_count(), 0) << imp.skipped[0].reason;
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_EQ(HitNames(**rs, "To: a@b.example\n\nx\n"), "NO_RELAYS ");
  EXPECT_EQ(HitNames(**rs, "Received: from a (a [192.168.1.2]) by b; Mon, 1 Jan 2024\n\nx\n"),
            "ALL_TRUSTED MISSING_HEADERS ");
  EXPECT_EQ(HitNames(**rs, "Received: from a (a [192.168.1.2]) by b; Mon, 1 Jan 2024\n"
                           "Received: from c (c [203.0.113.1]) by a; Mon, 1 Jan 2024\n"
                           "Apparently-To: x@y.example\n\nx\n"),
            "");
}

TEST(SaImport, ImportedRulesRunThroughTheRuleSet) {
  SaImport imp = Import(R"(
body   __SUB_A  /cheap/i
header __SUB_B  Subject =~ /offer/i
meta   BOTH     __SUB_A && __SUB_B
score  BOTH     3.0
)");
  auto set = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(set.ok()) << set.status();
  static std::deque<std::string> keep;
  keep.push_back("Subject: A special offer\n\nCheap watches here\n");
  mime::Message msg = mime::Message::Parse(keep.back(), mime::Message::DefaultLimits());
  std::vector<std::string> names;
  for (const auto& h : (*set)->Run(msg, [](const std::string&) { return 0.0; })) {
    names.push_back(h.rule->name);
  }
  EXPECT_THAT(names, ::testing::ElementsAre("__SUB_A", "__SUB_B", "BOTH"));
  EXPECT_DOUBLE_EQ(Find(imp, "__SUB_A")->score(), 0) << "sub-rules score nothing";
}

TEST(SaImport, ANativeRuleReplacesAnImportedOneOfTheSameName) {
  SaImport imp = Import("header MISSING_DATE exists:Date\nscore MISSING_DATE 9\n");
  RuleSet::File native{"local.yaml", {}, false};
  auto* r = native.rules.add_rules();
  r->set_name("MISSING_DATE");
  r->set_enabled(true);
  r->set_score(1);
  r->mutable_header()->set_name("Date");
  r->mutable_header()->set_missing(true);
  std::vector<RuleSet::Skipped> skipped;
  auto set = RuleSet::FromRuleFiles({{"sa", imp.rules, true}, native}, 100000, &skipped);
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ((*set)->size(), 1u);
  EXPECT_DOUBLE_EQ((*set)->rules()[0].score, 1);
  EXPECT_EQ((*set)->rules()[0].file, "local.yaml");
  // Two native files defining one name is still a mistake.
  auto twice = RuleSet::FromRuleFiles({native, native}, 100000, &skipped);
  EXPECT_FALSE(twice.ok());
}


// HTML.pm's counts: every tag, the HTML 4 ones as elements, balance held at 0 or more.
TEST(SaHtml, CountsTagsElementsBalanceCommentsAnchorsAndTitles) {
  const SaHtmlStats h = SaHtml(
      "<!DOCTYPE html><html><head><title>Big title</title></head><body>"
      "<center>V<b></b>iagra</center></center><blink>x</blink><o:p></o:p>"
      "<!-- saved from url=(0022)http://x.test --><! x>"
      "<a href=\"http://a.test\"><img src=a.gif width=10 height=50%></a>"
      "<script>if (a<b) document.write('<p>')</script>"
      "<embed src=x><form action=\"MAILTO:a@b.test\"></form></body></html>");
  EXPECT_EQ(h.inside.at("center"), 0);
  EXPECT_EQ(h.closed_extra, 1) << "the second </center>";
  EXPECT_TRUE(h.inside.count("!doctype"));
  EXPECT_TRUE(h.inside.count("blink"));
  EXPECT_EQ(h.inside.count("p"), 0u) << "script content is not markup";
  // 25 tags and the DOCTYPE; three are not elements (o:p is: Office's namespace).
  EXPECT_EQ(h.tags, 26);
  EXPECT_EQ(h.tags - h.elements, 3) << "<blink>, </blink>, <embed>";
  EXPECT_EQ(h.obfuscation, 2) << "V<b></b>iagra, and iagra</center></center><blink>x";
  ASSERT_EQ(h.comments.size(), 2u);
  EXPECT_EQ(h.comments[0], "<!-- saved from url=(0022)http://x.test -->");
  EXPECT_EQ(h.comments[1], "<! x>") << "a bogus comment; <!x> would be a declaration";
  ASSERT_EQ(h.anchors.size(), 1u);
  EXPECT_EQ(h.anchors[0], "<img>\n");
  ASSERT_EQ(h.titles.size(), 1u);
  EXPECT_EQ(h.titles[0], "Big title");
  EXPECT_DOUBLE_EQ(h.image_area, 10 * 300) << "50% of a 600-pixel screen";
  EXPECT_TRUE(h.embeds);
  EXPECT_TRUE(h.form_action_mailto);
  EXPECT_NEAR(*h.Value("bad_tag_ratio"), 3.0 / 26, 1e-9);
  EXPECT_FALSE(SaHtml("just text").Value("bad_tag_ratio").has_value());
}

TEST(SaImport, HtmlEvalsReadSpamAssassinsHtmlStatistics) {
  SaImport imp = Import(R"(
body HTML_COMMENT_SAVED_URL  eval:html_text_match('comment', '<!-- saved from url=\(\d{4}\)')
body __HTML_LINK_IMAGE       eval:html_text_match('anchor', '<img>')
body HTML_TAG_BALANCE_BODY   eval:html_tag_balance('body', '!= 0')
body HTML_EMBEDS             eval:html_test('embeds')
body HTML_SHORT_LENGTH       eval:html_eval('length', '< 512')
body HTML_LENGTH_LONG        eval:html_range('length', '1024', 'inf')
body HTML_TITLE_LONG         eval:html_title_subject_ratio('2')
body HTML_BGSOUND            eval:html_tag_exists('bgsound')
meta LINKED_IMAGE            __HTML_LINK_IMAGE
)");
  ASSERT_EQ(imp.skipped_count(), 0) << imp.skipped[0].reason;
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_EQ(HitNames(**rs, "Subject: hi\nContent-Type: text/html\n\n"
                           "<html><title>a much longer title</title><body>"
                           "<!-- saved from url=(0022)http://x.test -->"
                           "<a href=http://a.test><img src=a.gif></a><embed src=x></html>\n"),
            "HTML_COMMENT_SAVED_URL HTML_TAG_BALANCE_BODY HTML_EMBEDS HTML_SHORT_LENGTH "
            "HTML_TITLE_LONG __HTML_LINK_IMAGE LINKED_IMAGE ");
  EXPECT_EQ(HitNames(**rs, "Subject: hi\nContent-Type: text/plain\n\n<bgsound src=x>\n"), "")
      << "plain text has no HTML statistics";
}

// "tflags multiple maxhits=N": the rule's value is its match count, which metas compare.
TEST(SaImport, MultipleRulesCountTheirMatches) {
  SaImport imp = Import(R"(
body   __TEXT_LINE  /^\s*\S/
tflags __TEXT_LINE  multiple maxhits=3
body   __WORD       /\bwin\b/i
tflags __WORD       multiple
meta   FEW_LINES    __TEXT_LINE < 3
meta   MANY_WINS    __WORD > 3
)");
  ASSERT_EQ(imp.skipped_count(), 0);
  EXPECT_EQ(Find(imp, "__TEXT_LINE")->max_hits(), 3u);
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_EQ(HitNames(**rs, "Subject: x\n\nwin win\n"), "__TEXT_LINE FEW_LINES __WORD ")
      << "the Subject line and one body line";
  // SpamAssassin's body lines are paragraphs (4.0.1 gives the same for both).
  EXPECT_EQ(HitNames(**rs, "Subject: x\n\nwin\nwin win\nWIN\nend\n"), "__TEXT_LINE FEW_LINES __WORD MANY_WINS ");
  EXPECT_EQ(HitNames(**rs, "Subject: x\n\nwin\n\nwin win\n\nWIN\n\nend\n"), "__TEXT_LINE __WORD MANY_WINS ");
}

// A pattern too large for PCRE2 becomes pieces, each a sub-rule, that a meta of its name ORs.
TEST(SaImport, PatternsTooLargeForPcre2AreSplitAtTheirAlternations) {
  std::string words;
  for (int i = 0; i < 6000; ++i) words += (i ? "|" : "") + std::string("w") + std::to_string(i) + "x[a-c]{2,5}y";
  SaImport imp = Import("body BIG_LIST /(?:^|\\s)(?:" + words + ")\\b/i\nscore BIG_LIST 2.5\n");
  ASSERT_EQ(imp.skipped_count(), 0) << imp.skipped[0].reason;
  const farside::v1::Rule* big = Find(imp, "BIG_LIST");
  ASSERT_NE(big, nullptr);
  EXPECT_THAT(big->meta(), ::testing::StartsWith("__BIG_LIST_PIECE1 || __BIG_LIST_PIECE2"));
  EXPECT_EQ(big->score(), 2.5);
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_THAT(HitNames(**rs, "Subject: x\n\nsay w5999xabby now\n"), ::testing::EndsWith("BIG_LIST "));
  EXPECT_THAT(HitNames(**rs, "Subject: x\n\nsay w17xaby now\n"), ::testing::EndsWith("BIG_LIST "));
  EXPECT_EQ(HitNames(**rs, "Subject: x\n\nsay w17xy now\n"), "");
}

TEST(SaImport, HeaderAndMimeEvalsMapToChecks) {
  SaImport imp = Import(R"(
header LOCALPART_IN_SUBJECT  eval:check_for_to_in_subject('user')
rawbody MIME_QP_LONG_LINE    eval:check_for_mime('mime_qp_long_line')
body T_TVD_MIME_EPI          eval:check_msg_parse_flags('mime_epilogue_exists')
body MIME_BAD_ISO_CHARSET    eval:check_for_mime('mime_bad_iso_charset')
header FORGED_GMAIL_RCVD     eval:check_for_forged_gmail_received_headers()
header FROM_NEEDS_MIME       From:name:raw =~ /[\x80-\xff]/
body TVD_SPACE_RATIO         eval:tvd_vertical_words('0','10')
body __HAVE_BOUNCE_RELAYS    eval:have_any_bounce_relays()
body MY_SERVERS_FOUND        eval:check_welcomelist_bounce_relays()
meta HAVE_RELAYS             __HAVE_BOUNCE_RELAYS
welcomelist_bounce_relays    out.example.net
)");
  ASSERT_EQ(imp.skipped_count(), 0) << imp.skipped[0].reason;
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  const std::string qp_line(90, 'a');
  EXPECT_EQ(HitNames(**rs, "From: J\xc3\xb6rg <jorg@gmail.com>\nTo: bob@example.com\nSubject: bob, hello\n"
                           "Content-Type: multipart/mixed; boundary=b\n\n"
                           "--b\nContent-Type: text/plain; charset=iso-2022-cn\n"
                           "Content-Transfer-Encoding: quoted-printable\n\n" + qp_line + "\n"
                           "--b--\nepilogue text\n"),
            "LOCALPART_IN_SUBJECT MIME_QP_LONG_LINE T_TVD_MIME_EPI MIME_BAD_ISO_CHARSET FORGED_GMAIL_RCVD "
            "FROM_NEEDS_MIME TVD_SPACE_RATIO __HAVE_BOUNCE_RELAYS HAVE_RELAYS ");
  EXPECT_EQ(HitNames(**rs, "From: =?utf-8?q?J=C3=B6rg?= <jorg@gmail.com>\nTo: bob@example.com\n"
                           "X-Gm-Message-State: " + std::string(70, 'x') + "\n"
                           "X-Google-Smtp-Source: " + std::string(70, 'y') + "\n"
                           "Subject: about bob\n\nthe bounce:\n"
                           "> Received: from a.example (a.example [192.0.2.1]) by out.example.net with SMTP\n"),
            "MY_SERVERS_FOUND __HAVE_BOUNCE_RELAYS HAVE_RELAYS ");
}

// MIMEEval's, AntiVirus's, HeaderEval's and RelayEval's statistics, ported as checks.
TEST(SaImport, MimeAntivirusTemplateAndHeloEvalsMapToChecks) {
  SaImport imp = Import(R"(
body BLANK_LINES_80_90       eval:check_blank_line_ratio('80','90','4')
body MULTIPART_ALT_NON_TEXT  eval:check_ma_non_text()
body MIME_HTML_MOSTLY        eval:check_mime_multipart_ratio('0.00','0.01')
body MICROSOFT_EXECUTABLE    eval:check_microsoft_executable()
body MIME_SUSPECT_NAME       eval:check_suspect_name()
body PP_TOO_MUCH_UNICODE02   eval:check_abundant_unicode_ratio(0.02)
header UNRESOLVED_TEMPLATE   eval:check_unresolved_template()
header RCVD_HELO_IP_MISMATCH eval:helo_ip_mismatch()
)");
  ASSERT_EQ(imp.skipped_count(), 0) << imp.skipped[0].reason;
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  const std::string html = "<html><body>" + std::string(500, 'x') + "</body></html>";
  // A PE file's first bytes in base64 ("MZ" and its DOS header).
  const std::string pe = "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  auto mail = [&](const std::string& helo, const std::string& mailer, const std::string& name) {
    return "Received: from " + helo + " (mail.example [203.0.113.9]) by mx.example.net with SMTP\n"
           "X-Mailer: " + mailer + "\nSubject: x\nContent-Type: multipart/mixed; boundary=o\n\n"
           "--o\nContent-Type: multipart/alternative; boundary=a\n\n"
           "--a\nContent-Type: text/plain\n\nhi\n"
           "--a\nContent-Type: text/html\n\n" + html + "\n"
           "--a\nContent-Type: application/pdf\n\nxx\n--a--\n"
           "--o\nContent-Type: image/gif; name=\"" + name + "\"\nContent-Transfer-Encoding: base64\n\n" + pe +
           "\n--o--\n";
  };
  EXPECT_EQ(HitNames(**rs, mail("198.51.100.7", "%MAILER_NAME", "photo.exe")),
            "MULTIPART_ALT_NON_TEXT MIME_HTML_MOSTLY MICROSOFT_EXECUTABLE MIME_SUSPECT_NAME UNRESOLVED_TEMPLATE "
            "RCVD_HELO_IP_MISMATCH ");
  EXPECT_EQ(HitNames(**rs, mail("203.0.113.77", "Mailer 1.0", "photo.gif")),
            "MULTIPART_ALT_NON_TEXT MIME_HTML_MOSTLY MICROSOFT_EXECUTABLE ")
      << "a HELO in the client's /24, no template, a fitting name: the PE header alone";
  EXPECT_EQ(HitNames(**rs, mail("10.0.0.1", "x", "photo.gif")).find("RCVD_HELO_IP_MISMATCH"), std::string::npos)
      << "a private HELO address is not compared";
  // Plain text: 8 blank lines of 9 (88.9%), and 3 "&#xHHHH;" escapes per 12 other bytes.
  EXPECT_EQ(HitNames(**rs, "Subject: y\n\n&#x0041;&#x0042;&#x0043; ab\n\n\n\n\n\n\n\n\n"),
            "BLANK_LINES_80_90 PP_TOO_MUCH_UNICODE02 ");
  EXPECT_EQ(HitNames(**rs, "Subject: y\n\nA B C ab\n\n\n\n\n\n\n\n\n"), "BLANK_LINES_80_90 ");
  EXPECT_EQ(HitNames(**rs, "Subject: z\nX-Mailer: 100%Real\n\nhello world\n"), "")
      << "one line is under the 4 the ratio needs; %R alone is no template";
}

// ImageInfo reads image sizes from the GIF, PNG and JPEG headers of base64 parts.
TEST(SaImport, ImageEvalsReadImageHeaders) {
  SaImport imp = Import(R"(
body __GIF_AREA_180K   eval:pixel_coverage('gif','180000','475000')
body __DC_IMG_TEXT     eval:image_to_text_ratio('all', '0.000', '0.008')
meta BIG_GIF           __GIF_AREA_180K
meta LITTLE_TEXT       __DC_IMG_TEXT
)");
  ASSERT_EQ(imp.skipped_count(), 0) << imp.skipped[0].reason;
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  // GIF89a, 600 x 400: base64 of "GIF89a" + 0x58 0x02 0x90 0x01 + padding.
  const std::string gif = "R0lGODlhWAKQAQAAAAAA";
  auto message = [&](const std::string& text) {
    return "Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n" + text +
           "\n--b\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\n" + gif + "\n--b--\n";
  };
  EXPECT_EQ(HitNames(**rs, message("hi")), "__GIF_AREA_180K BIG_GIF __DC_IMG_TEXT LITTLE_TEXT ");
  EXPECT_EQ(HitNames(**rs, message(std::string(3000, 'w'))), "__GIF_AREA_180K BIG_GIF ")
      << "3,000 characters for 240,000 pixels is over the ratio";
}

TEST(SaImport, RatwareAolAndBase64Evals) {
  SaImport imp = Import(R"(
header FAKE_AOL_RELAY_IN_RCVD  eval:check_for_fake_aol_relay_in_rcvd()
header RATWARE_NAME_ID         eval:check_ratware_name_id()
header RATWARE_ENVELOPE_FROM   eval:check_ratware_envelope_from()
body   BASE64_LENGTH_79_INF    eval:check_base64_length('79')
)");
  ASSERT_EQ(imp.skipped_count(), 0) << imp.skipped[0].reason;
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_EQ(HitNames(**rs, "Received: from rly-xa01.mx.aol.com (x [192.0.2.1]) by mx.example.net\n"
                           "Message-ID: <ABCDEFGHIJKLMNOPQRSTUVWXYZAB.win@spam.example>\n"
                           "From: \"Winner\" <win@spam.example>\nTo: bob@example.com\n"
                           "Return-Path: <example.com.bob@bulk.example>\n"
                           "Content-Transfer-Encoding: base64\n\n" + std::string(100, 'Q') + "\n"),
            "FAKE_AOL_RELAY_IN_RCVD RATWARE_NAME_ID RATWARE_ENVELOPE_FROM BASE64_LENGTH_79_INF ");
  EXPECT_EQ(HitNames(**rs, "Received: from rly-xa01.mx.aol.com (x [192.0.2.1]) by mx.aol.com "
                           "(v1/AOL-1.2.3) with ESMTP id MAILIN1\nFrom: Bob <bob@example.com>\n"
                           "To: bob@example.com\n\nQUJD\n"),
            "");
}

// DKIM evals read the scanner's verified signatures in the late run.
TEST(SaImport, DkimEvalsReadVerifiedSignaturesInTheLateRun) {
  SaImport imp = Import(R"(
header DKIM_VALID_AU          eval:check_dkim_valid_author_sig()
header __RESIGNER             eval:check_dkim_valid('googlegroups.com', '.lists.example')
header __DKIM_DEPENDABLE      eval:check_dkim_dependable()
header __FROM_EQ_TO           eval:check_fromname_equals_to()
meta   RESIGNED               __RESIGNER && __DKIM_DEPENDABLE
meta   FROMNAME_EQUALS_TO     __FROM_EQ_TO
fns_ignore_dkim linkedin.com
)");
  ASSERT_EQ(imp.skipped_count(), 0) << imp.skipped[0].reason;
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  ASSERT_TRUE((*rs)->has_late());
  auto msg = mime::Message::Parse("From: \"bob@example.com\" <x@spam.net>\nTo: bob@example.com\n\nhi\n",
                                  mime::Message::DefaultLimits());
  auto zero = [](const std::string&) { return 0.0; };
  auto run = [&](std::vector<std::string> domains) {
    RuleSet::RunState st;
    std::string out;
    for (const auto& h : (*rs)->Run(msg, zero, nullptr, &st)) out += h.rule->name + " ";
    EXPECT_EQ(out, "") << "the first run leaves the DKIM rules for later";
    st.checks.dkim_pass_domains = std::move(domains);
    st.checks.dkim_checked = true;
    for (const auto& h : (*rs)->RunLate(msg, zero, nullptr, &st)) out += h.rule->name + " ";
    return out;
  };
  EXPECT_EQ(run({"spam.net"}), "DKIM_VALID_AU __FROM_EQ_TO FROMNAME_EQUALS_TO ");
  EXPECT_EQ(run({"a.lists.example"}), "__RESIGNER __DKIM_DEPENDABLE RESIGNED __FROM_EQ_TO FROMNAME_EQUALS_TO ");
  EXPECT_EQ(run({"linkedin.com"}), "") << "a signer the rules excuse";
}

}  // namespace
}  // namespace farside::rules
