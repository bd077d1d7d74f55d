// The raw header/body view and header lookup.
#include "lib/mime/raw_message.h"

#include "gtest/gtest.h"

namespace farside::mime {
namespace {

TEST(RawMessage, SplitsAtTheFirstEmptyLineWithCrlfOrLf) {
  RawMessage lf("Subject: a\nFrom: b\n\nbody\n\nmore\n");
  EXPECT_EQ(lf.header_block(), "Subject: a\nFrom: b\n");
  EXPECT_EQ(lf.body(), "body\n\nmore\n");
  RawMessage crlf("Subject: a\r\n\r\nbody\r\n");
  EXPECT_EQ(crlf.body(), "body\r\n");
}

TEST(RawMessage, ALineThatIsNoHeaderStartsTheBody) {
  RawMessage bare("XJS*C4JDBQADN1 test string\n");
  EXPECT_EQ(bare.header_block(), "");
  EXPECT_EQ(bare.body(), "XJS*C4JDBQADN1 test string\n");
  RawMessage mixed("Subject: x\nnot a header line\nmore\n");
  EXPECT_EQ(mixed.header_block(), "Subject: x\n");
  EXPECT_EQ(mixed.body(), "not a header line\nmore\n");
  RawMessage only_headers("Subject: x\nFrom: y\n");
  EXPECT_EQ(only_headers.body(), "");
}

TEST(RawMessage, HeaderLookupUnfoldsAndIgnoresCase) {
  RawMessage m(
      "Received: from a\n\tby b\nSUBJECT: Hello\n  folded world\nMessage-Id:  <abc@example.test> "
      "(comment)\n\nSubject: not a header\n");
  EXPECT_EQ(m.Header("subject").value(), "Hello folded world");
  EXPECT_EQ(m.Header("Received").value(), "from a by b");
  EXPECT_FALSE(m.Header("Date").has_value());
  EXPECT_EQ(m.MessageId(), "abc@example.test");
}

TEST(RawMessage, MessageIdWithoutBracketsIsKeptTrimmed) {
  EXPECT_EQ(RawMessage("Message-ID: plain-id\n\n").MessageId(), "plain-id");
  EXPECT_EQ(RawMessage("From: x\n\n").MessageId(), "");
}

}  // namespace
}  // namespace farside::mime
