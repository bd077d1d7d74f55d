// HTML reduced to visible text and links; each test names the behaviour it checks.
#include "lib/mime/html.h"

#include "gtest/gtest.h"
#include "lib/mime/message.h"

namespace farside::mime {
namespace {

TEST(Html, VisibleTextOnlyScriptsStylesCommentsAndHeadDropped) {
  HtmlContent h = HtmlToText(
      "<html><head><title>T</title><style>p{color:red}</style></head><body>"
      "<p>Hello   <b>world</b></p><script>var x=1;</script><!-- hidden -->"
      "<div>second&nbsp;line &amp; more</div></body></html>");
  EXPECT_EQ(h.text, "Hello world\nsecond\xC2\xA0line & more");
}

TEST(Html, LinksKeepHrefAndAnchorTextImagesAndForms) {
  HtmlContent h = HtmlToText(
      "<a href=\"http://evil.test/login\">https://bank.example/</a>"
      "<a href='http://x.test/'><img src=\"cid:logo\" alt=\"Logo\"></a>"
      "<form action=\"http://collect.test/post\"><input name=p></form>");
  ASSERT_EQ(h.links.size(), 2u);
  EXPECT_EQ(h.links[0].href, "http://evil.test/login");
  EXPECT_EQ(h.links[0].text, "https://bank.example/") << "anchor text showing another domain";
  EXPECT_EQ(h.links[1].text, "Logo") << "an image's alt text is its anchor text";
  ASSERT_EQ(h.images.size(), 1u);
  EXPECT_EQ(h.images[0], "cid:logo");
  ASSERT_EQ(h.forms.size(), 1u);
  EXPECT_EQ(h.forms[0], "http://collect.test/post");
}

TEST(Html, Html5ParsingRecoversFromBrokenMarkup) {
  // Unclosed tags and a stray end tag read as a browser reads them.
  HtmlContent h = HtmlToText("<p>one<p>two</b><a href=x>three");
  EXPECT_EQ(h.text, "one\ntwothree") << "the link is inline in the second paragraph";
  ASSERT_EQ(h.links.size(), 1u);
  EXPECT_EQ(h.links[0].text, "three");
}

TEST(Html, NodeLimitTruncates) {
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "<b>x</b>";
  HtmlContent h = HtmlToText(many, 100);
  EXPECT_TRUE(h.truncated);
}

TEST(Html, MessagePartsBuildTheirHtmlViewOnDemand) {
  const std::string raw =
      "Content-Type: multipart/alternative; boundary=b\n\n--b\n\nplain\n--b\n"
      "Content-Type: text/html; charset=iso-8859-1\n\n<p>Fr\xf6sche <a href=\"http://f.test\">hier</a>\n"
      "--b--\n";
  Message m = Message::Parse(raw, Message::DefaultLimits());
  ASSERT_EQ(m.parts().size(), 3u);
  EXPECT_TRUE(m.parts()[1].Html().links.empty()) << "text/plain has no HTML view";
  const HtmlContent& h = m.parts()[2].Html();
  EXPECT_EQ(h.text, "Frösche hier") << "converted to UTF-8 before parsing";
  ASSERT_EQ(h.links.size(), 1u);
  EXPECT_EQ(h.links[0].href, "http://f.test");
}

}  // namespace
}  // namespace farside::mime
