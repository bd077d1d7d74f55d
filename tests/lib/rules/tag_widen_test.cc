// WidenTag must match everything the tag matches: checked over every 1- and 2-byte string,
// every 3-byte UTF-8 sequence, a block of 4-byte ones and numeric character references,
// for tags written the way SpamAssassin's homoglyph tags are.
#include "lib/rules/tag_widen.h"

#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/rules/regex.h"

namespace farside::rules {
namespace {

bool Whole(const Regex& re, const std::string& s) {
  std::optional<absl::string_view> m = re.Find(s, 100000);
  return m.has_value() && m->size() == s.size();
}

std::vector<std::string> Candidates() {
  std::vector<std::string> out;
  for (int a = 0; a < 256; ++a) {
    out.push_back(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) out.push_back({static_cast<char>(a), static_cast<char>(b)});
  }
  for (int a = 0xe0; a <= 0xef; ++a) {
    for (int b = 0x80; b <= 0xbf; ++b) {
      for (int c = 0x80; c <= 0xbf; ++c) out.push_back({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
    }
  }
  for (int c = 0x80; c <= 0xbf; ++c) {
    for (int d = 0x80; d <= 0xbf; ++d) out.push_back({'\xf0', '\x9d', static_cast<char>(c), static_cast<char>(d)});
  }
  for (int n = 0; n < 3000; ++n) {
    out.push_back(absl::StrCat("&#", n, ";"));
    out.push_back(absl::StrCat("&#x", absl::Hex(n), ";"));
  }
  return out;
}

// Tags in the shape of SpamAssassin's: a class with Latin-1 bytes, two-byte UTF-8 letters
// as class pairs, three- and four-byte ones as nested groups, two-character look-alikes,
// and numeric references spelled digit by digit.
const char* const kTags[] = {
    R"((?:[aA\@\xe0-\xe5]|[\xc3][\x80-\x85\xa0-\xa5]|[\xd0][\x90\xb0]|[\xe1](?:[\xba][\xa0-\xa3]|[\xb8][\x80\x81])|[\xf0][\x9d](?:[\x90][\x80\x9a]|[\x91][\x8e]))|&\#(?:22[4-9]|1(?:07[23]|24)|x(?:e[0-5]|430));)",
    R"((?:[mM]|rn|[\xd0][\x9c\xbc]|[\xe1](?:[\xb8][\xbe\xbf]|[\xb9][\x80-\x83])))",
    R"((?:[iIl|!1\xec-\xef]|[\xc3][\x8c-\x8f\xac-\xaf]|[\xd1][\x96\x97]|&\#(?:23[6-9]|105);))",
    R"((?:[vV]|\\\/|[\xd1][\xb4-\xb7]))",
    R"((?:=?\s|[\xe2](?:[\x80][\x80-\x8b\xaf]|[\x81][\x9f])|&(?:\#(?:160|x[aA]0)|nbsp);))",
    R"([\s\d_*\$\%(),.:;?!}{\[\]|\/?^\#~\xa1`'+-])",
    R"(\W{0,2})",
};

TEST(WidenTag, MatchesEveryStringTheTagMatchesAndLetterTagsShrink) {
  const std::vector<std::string> candidates = Candidates();
  for (size_t k = 0; k < std::size(kTags); ++k) {
    const char* tag = kTags[k];
    std::optional<std::string> wide = WidenTag(tag);
    ASSERT_TRUE(wide.has_value()) << tag;
    for (const char* flags : {"b", "ib"}) {
      auto orig = Regex::Compile(absl::StrCat("\\A(?:", tag, ")\\z"), flags);
      auto widened = Regex::Compile(absl::StrCat("\\A", *wide, "\\z"), flags);
      ASSERT_TRUE(orig.ok()) << tag << orig.status();
      ASSERT_TRUE(widened.ok()) << *wide << widened.status();
      int matched = 0;
      for (const std::string& s : candidates) {
        if (!Whole(*orig, s)) continue;
        ++matched;
        ASSERT_TRUE(Whole(*widened, s)) << "tag " << tag << "\nwidened " << *wide << "\nmisses "
                                         << absl::CHexEscape(s) << " (flags " << flags << ")";
      }
      EXPECT_GT(matched, 0) << tag;
    }
    if (k < 4) {
      EXPECT_LT(wide->size(), std::string(tag).size()) << "a letter tag: " << *wide;
    }
  }
}

TEST(WidenTag, ThePlainFormMatchesEveryPlainStringTheTagMatches) {
  // Plain: bytes below 0x80 and no "&#"; every such string of up to three bytes, and words.
  std::vector<std::string> plain;
  for (int a = 0; a < 128; ++a) {
    plain.push_back(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 128; ++b) {
      plain.push_back({static_cast<char>(a), static_cast<char>(b)});
      for (int c : {' ', ';', 'a', 'n', 's', 'p', '/', '0'}) plain.push_back({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
    }
  }
  for (const char* w : {"&nbsp;", "&nbsp", "rn", "\\/", "=\n"}) plain.push_back(w);
  for (const char* tag : kTags) {
    std::optional<std::string> wide = WidenTag(tag, /*plain_text=*/true);
    ASSERT_TRUE(wide.has_value()) << tag;
    EXPECT_EQ(wide->find("\\x8"), std::string::npos) << "no high bytes: " << *wide;
    EXPECT_EQ(wide->find("&\\x23"), std::string::npos) << "no entity shape: " << *wide;
    auto orig = Regex::Compile(absl::StrCat("\\A(?:", tag, ")\\z"), "ib");
    auto widened = Regex::Compile(absl::StrCat("\\A", *wide, "\\z"), "ib");
    ASSERT_TRUE(orig.ok() && widened.ok()) << *wide;
    int matched = 0;
    for (const std::string& s : plain) {
      if (s.find("&#") != std::string::npos || !Whole(*orig, s)) continue;
      ++matched;
      ASSERT_TRUE(Whole(*widened, s)) << "tag " << tag << "\nplain form " << *wide << "\nmisses "
                                       << absl::CHexEscape(s);
    }
    EXPECT_GT(matched, 0) << tag;
  }
  EXPECT_EQ(WidenTag(R"((?:[mM\xcc]|rn|[\xd0][\x9c\xbc]))", true), "(?:[Mm]|rn)");
  EXPECT_EQ(WidenTag(R"((?:[cC]|&\#(?:99|67);))", true), "(?:[Cc])");
  // Nothing of it can be in a plain text.
  EXPECT_FALSE(WidenTag(R"((?:[\xc3][\xa0]|&\#224;))", true).has_value());
}

TEST(WidenTag, HighBytesFoldIntoOneClassAndEntitiesIntoOneShape) {
  EXPECT_EQ(WidenTag(R"((?:[aA\@]|[\xc3][\xa0-\xa5]|[\xe1](?:[\xba][\xa0]|[\xb8][\x80])))"),
            "(?:[@Aa\\x80-\\xff]+)");
  EXPECT_EQ(WidenTag(R"((?:[mM]|rn|&\#(?:77|109);))"), "(?:[Mm]|&\\x23[0-9A-FXa-fx]*;|rn)");
}

TEST(WidenTag, RefusesWhatItDoesNotRead) {
  for (const char* tag : {"(a)", "a.b", "^a", "a$", "(?=a)", "(?!a)", "\\1", "\\ba", "[[:alpha:]]", "a{", "*a"}) {
    EXPECT_FALSE(WidenTag(tag).has_value()) << tag;
  }
}

TEST(TagInNegativeLookaround, FindsTagsOnlyInsideNegativeGroups) {
  EXPECT_TRUE(TagInNegativeLookaround("(?!<V><I>)x"));
  EXPECT_TRUE(TagInNegativeLookaround("a(?<!b(?:<A>))"));
  EXPECT_FALSE(TagInNegativeLookaround("(?!viagra)<V><I><A>"));
  EXPECT_FALSE(TagInNegativeLookaround("(?=<C>)(?!click)<C>"));
  EXPECT_FALSE(TagInNegativeLookaround("(?![<]x)<A>")) << "a '<' in a class is no tag";
}

}  // namespace
}  // namespace farside::rules
