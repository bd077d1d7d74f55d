// The Vectorscan prefilter: it may say "maybe" too often but never misses a match; the
// repeat loosening keeps a superset; the cache gives the same database back; rule sets
// with and without the prefilter find the same hits.
#include "lib/rules/prefilter.h"

#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "lib/rules/rule_set.h"
#include "lib/rules/regex.h"

namespace farside::rules {
namespace {

TEST(LoosenRepeatsTest, LargeCountedRepeatsLoseTheirUpperBoundAndKeepASmallLowerOne) {
  EXPECT_EQ(LoosenRepeats("<[^>]{1,1000}onMouseOver=[^>]{0,1000}x", 8), "<[^>]+onMouseOver=[^>]*x");
  // Below the threshold a repeat stays exact; at or above it, the lower bound is kept up to
  // threshold - 1 and the upper one goes.
  EXPECT_EQ(LoosenRepeats("a{2,3}b{0,9}c{10}d{8,}e{5,64}", 8), "a{2,3}b*c{7,}d{7,}e{5,}");
  // Braces that are not quantifiers, escaped or in a class, stay as written.
  EXPECT_EQ(LoosenRepeats(R"(\{100\}[{1000}]x{a}\x{263a}{20})", 8), R"(\{100\}[{1000}]x{a}\x{263a}{7,})");
  EXPECT_EQ(LoosenRepeats("[]{20}]a{30}?", 8), "[]{20}]a{7,}?");
}

TEST(DropAnchorsTest, AnchorsGoAndEscapedOrClassedOnesStay) {
  EXPECT_EQ(DropAnchors("(?:$|\\W)opt(?:$|\\W)"), "(?:|\\W)opt(?:|\\W)");
  EXPECT_EQ(DropAnchors("^a\\$[$^]b[^$]$"), "a\\$[$^]b[^$]");
  // Without them the pattern matches more: everything the anchored one did.
  auto anchored = Regex::Compile("(?:$|\\W)opt[-\\s]?out(?:$|\\W)", "i");
  auto dropped = Regex::Compile(DropAnchors("(?:$|\\W)opt[-\\s]?out(?:$|\\W)"), "i");
  ASSERT_TRUE(anchored.ok() && dropped.ok());
  for (const char* s : {" opt-out", "x opt out.", "optout", "to opt-outs"}) {
    if (anchored->Find(s, 100000).has_value()) {
      EXPECT_TRUE(dropped->Find(s, 100000).has_value()) << s;
    }
  }
  EXPECT_TRUE(dropped->Find("optout", 100000).has_value());
  // Vectorscan refuses the anchored form ("embedded end anchor"); the prefilter then holds
  // the dropped one, so the rule is still covered and still marked where it can match.
  auto pf = Prefilter::Build({{"(?:$|\\W)opt[-\\s]?out(?:$|\\W)", "i"}, {"cash", ""}, {"x{3}", ""}, {"y", ""}});
  ASSERT_NE(pf, nullptr);
  EXPECT_TRUE(pf->covers(0));
  std::vector<char> maybe(4, 0);
  pf->Scan("please opt-out now", &maybe);
  EXPECT_EQ(maybe, std::vector<char>({1, 0, 0, 0}));
}

TEST(LoosenRepeatsTest, TheLoosenedPatternMatchesWhateverTheOriginalDoes) {
  const std::string re = "(?:,[^,]{1,90}){5}";
  auto exact = Regex::Compile(re, "");
  auto loose = Regex::Compile(LoosenRepeats(re, 3), "");
  ASSERT_TRUE(exact.ok() && loose.ok());
  for (const char* s : {",a,b,c,d,e", ",a,b,c,d", ",aaaa,bbbb,cccc,dddd,eeee,f"}) {
    if (exact->Find(s, 100000)) {
      EXPECT_TRUE(loose->Find(s, 100000)) << s;
    }
  }
}

TEST(IsValidUtf8Test, RejectsWhatVectorscanMustNotSee) {
  EXPECT_TRUE(IsValidUtf8("plain ascii, longer than eight bytes"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("caf\xe9"));          // Latin-1
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));         // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));     // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // over U+10FFFF
  EXPECT_FALSE(IsValidUtf8("ab\xe2\x82"));        // cut short
}

std::vector<Prefilter::Pattern> Patterns() {
  return {{"viagra", "i"}, {"^Subject: free", "m"}, {"\\bmeet (?!me)\\w+", ""},
          {"(a)\\1", ""},  // a back-reference: prefilter mode approximates it
          {"caf\xc3\xa9", "i"},  // caseless beyond ASCII: left to PCRE2
          {"\\xe9t\\xe9", "b"}};
}

TEST(PrefilterTest, MarksEveryPatternThatMatches) {
  auto pf = Prefilter::Build(Patterns());
  ASSERT_NE(pf, nullptr);
  EXPECT_FALSE(pf->covers(4));
  EXPECT_GE(pf->covered_count(), 4u);
  const std::vector<std::string> texts = {"Buy VIAGRA now", "x\nSubject: free stuff\n", "meet you",
                                          "aa", "nothing here", "\xc3\xa9t\xc3\xa9"};
  for (const std::string& t : texts) {
    std::vector<char> maybe(Patterns().size(), 0);
    pf->Scan(t, &maybe);
    for (size_t i = 0; i < Patterns().size(); ++i) {
      if (!pf->covers(i)) continue;
      auto re = Regex::Compile(Patterns()[i].pattern, Patterns()[i].flags);
      ASSERT_TRUE(re.ok());
      if (re->Find(t, 100000)) {
        EXPECT_TRUE(maybe[i]) << "pattern " << i << " on '" << t << "'";
      }
    }
  }
  std::vector<char> maybe(Patterns().size(), 0);
  pf->Scan("nothing here", &maybe);
  EXPECT_FALSE(maybe[0]);
  EXPECT_FALSE(maybe[1]);
}

TEST(PrefilterTest, TextThatIsNotUtf8MarksEveryPattern) {
  auto pf = Prefilter::Build(Patterns());
  ASSERT_NE(pf, nullptr);
  std::vector<char> maybe(Patterns().size(), 0);
  pf->Scan("caf\xe9 \xff", &maybe);
  for (size_t i = 0; i < Patterns().size(); ++i) EXPECT_EQ(maybe[i] != 0, pf->covers(i)) << i;
}

TEST(PrefilterTest, FindsOneBytePatternsFarIntoTheText) {
  // Debian 12's Vectorscan, on a CPU with AVX-512, missed these past the 64th byte (the
  // full rule NULL_IN_BODY did not fire on a 24 KB message); the prefilter then scans with a
  // variant that finds them, or is not built at all.
  const std::vector<Prefilter::Pattern> patterns = {
      {"\\x00", ""}, {"q", ""}, {"q[jk]", ""}, {"[#]", ""}, {"z", "b"}};
  auto pf = Prefilter::Build(patterns);
  if (pf == nullptr) GTEST_SKIP() << "no prefilter on this machine: " << Prefilter::Runtime();
  EXPECT_EQ(pf->covered_count(), patterns.size());
  for (size_t at : {0, 63, 64, 65, 100, 4000, 30000}) {
    std::string text(at, 'a');
    text += std::string("qk#z\0", 5) + "tail";
    std::vector<char> maybe(patterns.size(), 0);
    pf->Scan(text, &maybe);
    for (size_t i = 0; i < patterns.size(); ++i) {
      EXPECT_TRUE(maybe[i]) << "pattern " << patterns[i].pattern << " at " << at << " ("
                            << Prefilter::Runtime() << ")";
    }
  }
}

TEST(PrefilterTest, IdenticalPatternsAreCompiledOnceAndMarkedTogether) {
  // The pieces of a rule cut for PCRE2 share one widened pattern.
  const std::vector<Prefilter::Pattern> patterns = {
      {"m[o0]ney", "i"}, {"other", ""}, {"m[o0]ney", "i"}, {"m[o0]ney", ""}, {"m[o0]ney", "i"}};
  const std::string dir = ::testing::TempDir() + "/pf_dup_cache";
  std::filesystem::remove_all(dir);
  for (int pass = 0; pass < 2; ++pass) {  // compiled, then from the cache
    auto pf = Prefilter::Build(patterns, dir);
    ASSERT_NE(pf, nullptr);
    EXPECT_EQ(pf->covered_count(), patterns.size());
    std::vector<char> maybe(patterns.size(), 0);
    pf->Scan("send M0NEY", &maybe);
    EXPECT_EQ(maybe, std::vector<char>({1, 0, 1, 0, 1})) << "pass " << pass;
    std::fill(maybe.begin(), maybe.end(), 0);
    pf->Scan("m0ney, other", &maybe);
    EXPECT_EQ(maybe, std::vector<char>({1, 1, 1, 1, 1})) << "pass " << pass;
  }
  std::filesystem::remove_all(dir);
}

TEST(PrefilterTest, PlainTextsAreScannedWithThePlainForms) {
  // The plain form here is deliberately narrower than the pattern, to see which one ran.
  const std::vector<Prefilter::Pattern> patterns = {
      {"m(?:[o0]|\\xd0\\xbe)ney", "ib", "m[o0]ney"}, {"cash", "i"}, {"zzz", "", "never"}};
  auto pf = Prefilter::Build(patterns);
  ASSERT_NE(pf, nullptr);
  EXPECT_EQ(pf->covered_count(), 3u);
  auto scan = [&](const std::string& text) {
    std::vector<char> maybe(patterns.size(), 0);
    pf->Scan(text, &maybe);
    return maybe;
  };
  EXPECT_EQ(scan("send m0ney and cash"), std::vector<char>({1, 1, 0}));
  EXPECT_EQ(scan("zzz"), std::vector<char>({0, 0, 0}));  // plain: "never" was read
  // Not plain (a high byte, or a character reference): the patterns themselves.
  EXPECT_EQ(scan("m\xd0\xbeney, zzz \xc3\xa9"), std::vector<char>({1, 0, 1}));
  EXPECT_EQ(scan("zzz &#1086;"), std::vector<char>({0, 0, 1}));
  EXPECT_TRUE(IsPlainText("plain ascii text, longer than eight bytes & more"));
  EXPECT_FALSE(IsPlainText("caf\xc3\xa9"));
  EXPECT_FALSE(IsPlainText("m&#1086;ney"));
}

TEST(PrefilterTest, TheCacheGivesTheSameDatabaseBack) {
  const std::string dir = ::testing::TempDir() + "/pf_cache";
  std::filesystem::remove_all(dir);
  auto first = Prefilter::Build(Patterns(), dir);
  ASSERT_NE(first, nullptr);
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(e.path().extension(), ".hsdb");
    ++files;
  }
  EXPECT_EQ(files, 1u);
  auto second = Prefilter::Build(Patterns(), dir);  // from the file
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->covered_count(), first->covered_count());
  std::vector<char> a(Patterns().size(), 0), b(Patterns().size(), 0);
  first->Scan("Buy VIAGRA now, meet you", &a);
  second->Scan("Buy VIAGRA now, meet you", &b);
  EXPECT_EQ(a, b);
  // A damaged file is ignored and replaced.
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::filesystem::resize_file(e.path(), 10);
  }
  auto third = Prefilter::Build(Patterns(), dir);
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(third->covered_count(), first->covered_count());
  std::filesystem::remove_all(dir);
}

TEST(PrefilterTest, RuleSetsFindTheSameHitsWithAndWithout) {
  const std::string yaml = R"(
rules:
  - {name: B1, body: 'viagra', flags: i, score: 1}
  - {name: B2, body: '^free', flags: m, score: 1}
  - {name: B3, body: 'cheap\s+meds', score: 1}
  - {name: B4, body: 'x{100}', score: 1}
  - {name: B5, body: 'never', score: 1}
  - {name: S1, header: {name: Subject, pattern: 'hello'}, score: 1}
  - {name: S2, header: {name: Subject, pattern: 'win'}, score: 1}
  - {name: S3, header: {name: Subject, pattern: '^$'}, score: 1}
  - {name: S4, header: {name: Subject, pattern: 'money', negate: true}, score: 1}
  - {name: S5, header: {name: Subject, pattern: '!!!'}, score: 1}
)";
  auto with = RuleSet::FromSources({{"t.yaml", yaml}}, 100000);
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_GE((*with)->prefiltered(), 9u);
  // The same rules again with the prefilter off.
  farside::v1::RuleFile rf;
  for (const CompiledRule& r : (*with)->rules()) {
    auto* p = rf.add_rules();
    p->set_name(r.name);
    p->set_score(1);
    p->set_enabled(true);
    p->set_flags(r.flags);
    if (r.kind == CompiledRule::Kind::kBody) {
      p->set_body(r.pattern);
    } else {
      *p->mutable_header() = r.header;
    }
  }
  auto off = RuleSet::FromRuleFiles({{"t.yaml", rf, false}}, 100000, nullptr, LoadOptions{.prefilter = false, .cache_dir = ""});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ((*off)->prefiltered(), 0u);
  const std::vector<std::string> messages = {
      "Subject: hello, win money\n\nBuy Viagra\nfree pills, cheap  meds\n",
      "Subject:\n\n" + std::string(150, 'x') + "\n",
      "From: a@b.test\n\nnothing\n",
      "Subject: win!!!\nContent-Type: text/html\n\n<p>FREE</p><p>free viagra</p>\n"};
  for (const std::string& m : messages) {
    auto msg = mime::Message::Parse(m, mime::Message::DefaultLimits());
    auto names = [&](const RuleSet& rs) {
      std::string out;
      for (const auto& h : rs.Run(msg, [](const std::string&) { return 0.0; })) out += h.rule->name + " ";
      return out;
    };
    EXPECT_EQ(names(**with), names(**off)) << m;
    EXPECT_FALSE(names(**off).empty()) << m;
  }
}

}  // namespace
}  // namespace farside::rules
