// The MIME model on hand-written messages; each test names the rule or quirk it checks.
#include "lib/mime/message.h"

#include <deque>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace farside::mime {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;

// Part bodies point into the parsed bytes, so the inputs live as long as the test binary.
Message P(const std::string& s) {
  static std::deque<std::string> inputs;
  inputs.push_back(s);
  return Message::Parse(inputs.back(), Message::DefaultLimits());
}

std::vector<std::string> Types(const Message& m) {
  std::vector<std::string> out;
  for (const Part& p : m.parts()) out.push_back(p.content_type);
  return out;
}

TEST(Headers, Rfc5322UnfoldingRemovesOnlyTheLineBreak) {
  Message m = P("Subject: Hello\r\n  folded\tworld\r\nX-A: 1\r\nX-A: 2\r\n\r\nbody");
  EXPECT_EQ(m.Subject(), "Hello  folded\tworld");
  ASSERT_EQ(m.headers().FindAll("x-a").size(), 2u) << "repeated fields kept in order";
  EXPECT_EQ(m.headers().FindAll("X-A")[1]->value, "2");
}

TEST(Headers, Rfc5322ObsoleteWhiteSpaceBeforeColon) {
  Message m = P("From  : a@example.test\nSubject: s\n\nb");
  ASSERT_NE(m.headers().Find("From"), nullptr);
  EXPECT_EQ(m.Subject(), "s");
}

TEST(Headers, Rfc5322BodyStartsAfterTheEmptyLineCrlfOrLf) {
  EXPECT_EQ(P("Subject: a\r\n\r\nbody\r\n").root().body, "body\r\n");
  EXPECT_EQ(P("Subject: a\nFrom: b\n\nbody\n\nmore\n").root().body, "body\n\nmore\n");
  EXPECT_EQ(P("Subject: x\nFrom: y\n").root().body, "") << "all header, no body";
  // A message that is only a body line (the bare GTUBE file): no header at all.
  Message bare = P("XJS*C4JDBQADN1 test string\n");
  EXPECT_TRUE(bare.headers().fields().empty());
  EXPECT_EQ(bare.root().body, "XJS*C4JDBQADN1 test string\n");
}

TEST(Headers, MessageIdWithAndWithoutAngleBrackets) {
  EXPECT_EQ(P("Message-Id:  <abc@example.test> (comment)\n\n").MessageId(), "abc@example.test");
  EXPECT_EQ(P("Message-ID: plain-id\n\n").MessageId(), "plain-id");
  EXPECT_EQ(P("From: x\n\n").MessageId(), "");
}

TEST(Headers, ALineThatIsNoFieldStartsTheBody) {
  Message m = P("Subject: s\nthis is not a header\n\nmore");
  EXPECT_THAT(m.anomalies(), Contains(anomaly::kBadHeaderLine));
  EXPECT_EQ(m.root().decoded, "this is not a header\n\nmore");
}

TEST(EncodedWords, Rfc2047BAndQAdjacentWordsJoined) {
  Message m = P("Subject: =?utf-8?q?caf=C3=A9?=  =?UTF-8?B?IGJhcg==?= end\n\n");
  EXPECT_EQ(m.Subject(), "café bar end");
}

TEST(EncodedWords, Rfc2047MultibyteCharacterSplitAcrossWords) {
  // "é" is C3 A9; a sender split it over two words of the same charset.
  Message m = P("Subject: =?utf-8?q?caf=C3?= =?utf-8?q?=A9?=\n\n");
  EXPECT_EQ(m.Subject(), "café");
}

TEST(EncodedWords, QuirkWordsGluedToTextAreDecodedBrokenOnesKept) {
  EXPECT_EQ(P("Subject: x=?utf-8?q?a?=y\n\n").Subject(), "xay");
  Message broken = P("Subject: =?utf-8?q?never closed\n\n");
  EXPECT_EQ(broken.Subject(), "=?utf-8?q?never closed");
  EXPECT_THAT(broken.anomalies(), Contains(anomaly::kBrokenEncodedWord));
}

TEST(EncodedWords, OtherCharsetsIso2022AndUtf16) {
  // ISO-2022-JP is 7-bit: it must still be converted.
  EXPECT_EQ(P("Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\n\n").Subject(), "日本語");
  EXPECT_EQ(P("Subject: =?utf-16?B?RABlAHMAaQBnAG4A?=\n\n").Subject(), "Design");
  EXPECT_EQ(P("Subject: =?iso-8859-1?q?Fr=F6sche?=\n\n").Subject(), "Frösche");
}

TEST(EncodedWords, QuirkRaw8bitHeaderIsDetected) {
  // Undeclared 8-bit text: valid UTF-8 is taken as such.
  Message m = P("Subject: caf\xc3\xa9\n\n");
  EXPECT_EQ(m.Subject(), "café");
  EXPECT_THAT(m.anomalies(), Contains(anomaly::k8bitHeader));
}

TEST(Parameters, Rfc2231ContinuationsAndCharset) {
  Message m = P(
      "Content-Type: application/pdf;\n name*0*=utf-8''r%C3%A9sum;\n name*1=\"e final.pdf\"\n\nx");
  ASSERT_TRUE(m.root().filename.has_value());
  EXPECT_EQ(*m.root().filename, "résume final.pdf");
}

TEST(Parameters, Rfc2231ExtendedBoundary) {
  Message m = P("Content-Type: multipart/mixed; boundary*=\"us-ascii''XY\"\n\n--XY\n\na\n--XY--\n");
  EXPECT_THAT(Types(m), ElementsAre("multipart/mixed", "text/plain"));
}

TEST(Parameters, DispositionFilenameWinsOverContentTypeName) {
  Message m = P(
      "Content-Type: application/octet-stream; name=\"a.bin\"\n"
      "Content-Disposition: attachment; filename=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"\n\nx");
  EXPECT_EQ(*m.root().filename, "résumé.pdf") << "RFC 2183 first; encoded-word as readers show";
  EXPECT_TRUE(m.root().is_attachment());
}

TEST(ContentType, Rfc2045DefaultsAndInvalidValues) {
  EXPECT_EQ(P("Subject: x\n\nb").root().content_type, "text/plain");
  Message bad = P("Content-Type: garbage\n\nb");
  EXPECT_EQ(bad.root().content_type, "text/plain") << "RFC 2045 5.2";
  EXPECT_THAT(bad.anomalies(), Contains(anomaly::kBadContentType));
  EXPECT_EQ(P("Content-Type: TEXT/HTML (html)\n\nb").root().content_type, "text/html");
}

TEST(Multipart, NestedWithPreambleEpilogueAndPadding) {
  Message m = P(
      "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer\"\n\n"
      "preamble\n--outer  \n"
      "Content-Type: multipart/alternative; boundary=inner\n\n"
      "--inner\n\nplain\n--inner\nContent-Type: text/html\n\n<b>h</b>\n--inner--\n"
      "--outer\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lGODlh\n"
      "--outer--\nepilogue\n");
  EXPECT_THAT(Types(m), ElementsAre("multipart/mixed", "multipart/alternative", "text/plain",
                                    "text/html", "image/gif"));
  EXPECT_EQ(m.parts()[2].text, "plain") << "the line break before a delimiter is the delimiter's";
  EXPECT_EQ(m.parts()[4].decoded, "GIF89a");
  EXPECT_EQ(m.parts()[1].parent, 0);
  EXPECT_EQ(m.parts()[2].depth, 2);
  EXPECT_EQ(m.parts()[0].epilogue, "epilogue\n") << "after the close delimiter's line";
  EXPECT_EQ(m.parts()[1].epilogue, "") << "the inner close delimiter is followed by the outer's";
  EXPECT_TRUE(m.anomalies().empty()) << *m.anomalies().begin();
}

TEST(Multipart, MissingCloseDelimiterAndNoMimeVersion) {
  Message m = P("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nlast part\n");
  EXPECT_THAT(Types(m), ElementsAre("multipart/mixed", "text/plain"));
  EXPECT_THAT(m.anomalies(), Contains(anomaly::kNoCloseBoundary));
  EXPECT_THAT(m.anomalies(), Contains(anomaly::kNoMimeVersion));
  EXPECT_TRUE(m.root().epilogue.empty()) << "no close delimiter, no epilogue";
}

TEST(Multipart, NoBoundaryParameterOrNoDelimiterLine) {
  Message a = P("MIME-Version: 1.0\nContent-Type: multipart/mixed\n\nno boundary");
  EXPECT_EQ(a.parts().size(), 1u);
  EXPECT_THAT(a.anomalies(), Contains(anomaly::kNoBoundary));
  Message b = P("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=zz\n\nnothing here");
  EXPECT_EQ(b.parts().size(), 1u);
  EXPECT_THAT(b.anomalies(), Contains(anomaly::kNoStartBoundary));
}

TEST(Multipart, QuirkEmptyPartsAsMailReadersSeeThem) {
  // Two delimiters in a row hold no part; the part before the close delimiter does.
  Message m = P("Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\nA: 1\n\nx\n--b\n--b--\n");
  EXPECT_THAT(Types(m), ElementsAre("multipart/mixed", "text/plain", "text/plain"));
}

TEST(Multipart, DigestPartsDefaultToMessageRfc822) {
  Message m = P("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: in\n\nbody\n--d--\n");
  EXPECT_THAT(Types(m), ElementsAre("multipart/digest", "message/rfc822", "text/plain"));
  EXPECT_EQ(m.parts()[2].headers.Find("Subject")->value, "in");
}

TEST(MessageRfc822, ParsedRecursivelyAndBase64WrappedOnesDecoded) {
  Message m = P(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n"
      "Content-Transfer-Encoding: base64\n\nU3ViamVjdDogaW5uZXIKCmhlbGxvCg==\n--b--\n");
  EXPECT_THAT(Types(m), ElementsAre("multipart/mixed", "message/rfc822", "text/plain"));
  EXPECT_EQ(m.parts()[2].headers.Find("Subject")->value, "inner");
  EXPECT_THAT(m.anomalies(), Contains(anomaly::kEncodedMessage));
}

TEST(TransferEncoding, TolerantBase64AndQuotedPrintable) {
  EXPECT_EQ(P("Content-Transfer-Encoding: base64\n\naGVs\nbG8*\n").root().decoded, "hello");
  Message qp = P("Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =\nsoft=ZZ  \nend\n");
  EXPECT_EQ(qp.root().decoded, "café soft=ZZ\nend\n");
  EXPECT_THAT(qp.anomalies(), Contains(anomaly::kBadQuotedPrintable));
}

TEST(Charset, DeclaredConvertedAndLiesDetected) {
  Message l1 = P("Content-Type: text/plain; charset=iso-8859-1\n\nFr\xf6sche");
  EXPECT_EQ(l1.root().text, "Frösche");
  // Declared UTF-8, but the bytes are Latin-1: the declaration lies.
  Message lie = P("Content-Type: text/plain; charset=utf-8\n\nFr\xf6sche und Gr\xfc\xdf" "e");
  EXPECT_THAT(lie.anomalies(), Contains(anomaly::kCharsetMismatch));
  EXPECT_NE(lie.root().text.find("Fr\xc3\xb6sche"), std::string::npos) << lie.root().text;
  Message unknown = P("Content-Type: text/plain; charset=x-nonsense-42\n\nplain ascii");
  EXPECT_EQ(unknown.root().text, "plain ascii");
}

TEST(Charset, Iso88591ReadsAsWindows1252) {
  // The WHATWG Encoding standard (and every mail reader) decodes the ISO-8859-1 label as
  // windows-1252: 0x92 is a right quote, 0x80 the euro sign, not C1 controls.
  Message m = P("Content-Type: text/plain; charset=iso-8859-1\n\nit\x92s \x80" "5");
  EXPECT_EQ(m.root().text, "it\xE2\x80\x99s \xE2\x82\xAC" "5");
  // The five bytes windows-1252 leaves undefined still read as Latin-1.
  Message u = P("Content-Type: text/plain; charset=iso-8859-1\n\na\x81z");
  EXPECT_EQ(u.root().text, "a\xC2\x81z");
}

TEST(Limits, DepthPartsAndHeadersBreachAsAnomalies) {
  std::string deep;
  for (int i = 0; i < 40; ++i) {
    deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
            std::to_string(i) + "\n";
  }
  Message d = P(deep);
  EXPECT_THAT(d.anomalies(), Contains(anomaly::kTooDeep));
  EXPECT_LE(d.parts().size(), 21u);

  farside::v1::MimeLimits small = Message::DefaultLimits();
  small.set_max_parts(3);
  small.set_max_headers(2);
  std::string many = "A: 1\nB: 2\nC: 3\nContent-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 10; ++i) many += "--b\n\npart\n";
  Message m = Message::Parse(many, small);
  EXPECT_THAT(m.anomalies(), Contains(anomaly::kTooManyHeaders));
  EXPECT_EQ(m.headers().fields().size(), 2u);
}

TEST(Limits, DecodedSizeIsCapped) {
  farside::v1::MimeLimits small = Message::DefaultLimits();
  small.set_max_decoded_bytes(10);
  const std::string input = "Subject: x\n\n" + std::string(100, 'a');
  Message m = Message::Parse(input, small);
  EXPECT_EQ(m.root().decoded.size(), 10u);
  EXPECT_THAT(m.anomalies(), Contains(anomaly::kDecodedTooBig));
}

TEST(Limits, MessageSizeParsesThePrefixAndSaysSo) {
  farside::v1::MimeLimits small = Message::DefaultLimits();
  small.set_max_message_bytes(20);
  const std::string input = "Subject: short\n\n" + std::string(100, 'b');
  Message m = Message::Parse(input, small);
  EXPECT_EQ(m.Subject(), "short");
  EXPECT_EQ(m.root().decoded.size(), 20u - 16u);
  EXPECT_THAT(m.anomalies(), Contains(anomaly::kMessageTooBig));
  EXPECT_EQ(m.size(), input.size()) << "the size is the message's, not the parsed prefix's";
}

TEST(Robustness, HostileInputsNeverCrash) {
  for (const std::string& s :
       {std::string(), std::string("\n"), std::string("=?"), std::string("Content-Type: ;;;=\n\n"),
        std::string("Content-Type: multipart/x; boundary=\"\n\n--\n"),
        std::string("Subject: =?utf-8?b?====?=\n\n"), std::string(5000, '\0'),
        std::string("Content-Type: text/plain; name*999999999*=x\n\n")}) {
    Message m = P(s);
    EXPECT_GE(m.parts().size(), 1u);
  }
}

}  // namespace
}  // namespace farside::mime
