// SpamAssassin's body text for imported body rules: whitespace folding, paragraphs, long
// lines, and rules that see it line by line. The expected hits are what SpamAssassin 4.0.1
// reported for the same messages and rules (spamassassin -t -L --cf='body ...').
#include "lib/rules/sa_body.h"

#include "gtest/gtest.h"
#include "lib/rules/sa_import.h"

namespace farside::rules {
namespace {

mime::Message Parse(const std::string& raw) {
  static std::vector<std::unique_ptr<std::string>> keep;  // the model points into its text
  keep.push_back(std::make_unique<std::string>(raw));
  return mime::Message::Parse(*keep.back(), mime::Message::DefaultLimits());
}

TEST(SaBody, WhitespaceRunsFoldToOneSpaceAndBlankLinesEndParagraphs) {
  EXPECT_EQ(FoldSaWhitespace("foo\xc2\xa0" "bar\nbaz   qux\xe2\x80\x83" "end\n\nnext para\n"),
            "foo bar baz qux end\nnext para ");
  // What precedes the first newline of a paragraph break, and what follows the last, is a
  // space of its own (Perl: s/\n+\s*\n+/\0/ then s/\s+/ /).
  EXPECT_EQ(FoldSaWhitespace("a \t\n \n\n  b"), "a \n b");
  EXPECT_EQ(FoldSaWhitespace("a\n\nb\nc"), "a\nb c");
  EXPECT_EQ(FoldSaWhitespace("\xe3\x80\x80x\xe2\x80\xa8y\xc2\x85z"), " x y z");
  EXPECT_EQ(FoldSaWhitespace("no\xc2\xa9space"), "no\xc2\xa9space") << "only whitespace folds";
}

TEST(SaBody, TextPartsAttachmentsTooJoinedAndLongLinesBroken) {
  mime::Message m = Parse(
      "Subject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
      "--b\nContent-Type: text/plain\n\nfirst  part\nline two\n"
      "--b\nContent-Type: image/gif\n\nGIF89a\n"
      "--b\nContent-Type: text/plain\nContent-Disposition: attachment; filename=a.txt\n\nattached\n"
      "--b\nContent-Type: text/html\n\n<p>one<br>two</p><p>three</p>\n"
      "--b--\n");
  // As SpamAssassin: a newline before each leaf once there is text (the image's and the
  // attachment's make a paragraph end), the text attachment read too. SpamAssassin renders
  // the HTML as "one two" and "three" (<br> a line, <p> a paragraph); Farside's renderer
  // ends a line at both, and each of its lines is taken as a paragraph.
  EXPECT_EQ(SaBodyText(m, 0), "first part line two\nattached one\ntwo\nthree");
  std::string words;
  for (int i = 0; i < 500; ++i) words += "word ";  // 2,500 bytes on one line
  const std::string broken = SaBodyText(Parse("Subject: s\n\n" + words + "\n"), 0);
  ASSERT_GT(broken.find('\n'), 2000u);
  EXPECT_LE(broken.find('\n'), 2048u);
  EXPECT_EQ(broken[broken.find('\n') - 1], ' ') << "broken after its last space";
}

TEST(SaBody, ImportedBodyRulesMatchWithinALineAsSpamAssassinDoes) {
  SaImport imp = ImportSpamAssassin({{"t.cf", R"(
body T_A /foo bar baz qux end/
body T_B /foo\xc2\xa0bar/
body T_C /end\nnext/
body T_D /^next para/
)"}},
                                    100000);
  ASSERT_EQ(imp.skipped_count(), 0);
  auto rs = RuleSet::FromRuleFiles({{"sa", imp.rules, true}}, 100000, nullptr);
  ASSERT_TRUE(rs.ok()) << rs.status();
  mime::Message m = Parse(
      "Subject: test\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
      "foo\xc2\xa0" "bar\nbaz   qux\xe2\x80\x83" "end\n\nnext para\n");
  std::string hits;
  for (const auto& h : (*rs)->Run(m, [](const std::string&) { return 0.0; })) hits += h.rule->name + " ";
  EXPECT_EQ(hits, "T_A T_D ");
}

}  // namespace
}  // namespace farside::rules
