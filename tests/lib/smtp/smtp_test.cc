// The SMTP codec and server state machine: lines and their limits, paths, replies both
// ways, dot-stuffing, command order, pipelining, STARTTLS and DATA's refusals.
#include <string>

#include "gtest/gtest.h"
#include "lib/mime/header_edit.h"
#include "lib/smtp/codec.h"
#include "lib/smtp/server_session.h"

namespace farside::smtp {
namespace {

using Event = ServerSession::Event;

TEST(LineReaderTest, SplitsOnCrlfFlagsBareLfAndCutsHugeLines) {
  LineReader r(10);
  r.Feed("EHLO a\r\nNOOP\nxx");
  auto a = r.Next();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->text, "EHLO a");
  EXPECT_FALSE(a->bare_lf);
  auto b = r.Next();
  EXPECT_EQ(b->text, "NOOP");
  EXPECT_TRUE(b->bare_lf);
  EXPECT_FALSE(r.Next().has_value()) << "no line end yet";
  r.Feed(std::string(1 << 20, 'x'));  // a megabyte with no line end
  auto c = r.Next();
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->too_long);
  EXPECT_EQ(c->text.size(), 10u);
  EXPECT_LT(r.buffered(), 64u) << "the rest of the line is not held";
  r.Feed("yyy\r\nQUIT\r\n");
  auto d = r.Next();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->text, "QUIT") << "the tail of the long line was skipped";
}

TEST(PathTest, ParsesAddressesAndParameters) {
  auto p = ParsePath("FROM:<a@b.test> SIZE=100 body=8BITMIME", "FROM:", true);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->address, "a@b.test");
  EXPECT_EQ(p->Param("SIZE"), "100");
  EXPECT_EQ(p->Param("BODY"), "8BITMIME");
  EXPECT_EQ(ParsePath("from: <>", "FROM:", true)->address, "");
  EXPECT_EQ(ParsePath("TO:<@relay.test:u@d.test>", "TO:", false)->address, "u@d.test");
  EXPECT_EQ(ParsePath("TO:<Postmaster>", "TO:", false)->address, "Postmaster");
  EXPECT_FALSE(ParsePath("TO:<>", "TO:", false).ok());
  EXPECT_FALSE(ParsePath("TO:u@d.test", "TO:", false).ok()) << "no brackets";
  EXPECT_FALSE(ParsePath("TO:<u@d.test", "TO:", false).ok());
  EXPECT_FALSE(ParsePath("TO:<nodomain>", "TO:", false).ok());
  EXPECT_FALSE(ParsePath("FROM:<a@b>", "TO:", false).ok());
  EXPECT_FALSE(ParsePath(std::string("TO:<a\x01@b>"), "TO:", false).ok());
}

TEST(ReplyTest, FormatsAndReadsMultiLineReplies) {
  EXPECT_EQ(FormatReply(250, "", "mx.test\nPIPELINING\nSIZE 10"),
            "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
  EXPECT_EQ(FormatReply(550, "5.7.1", "No"), "550 5.7.1 No\r\n");
  ReplyReader rr;
  EXPECT_FALSE(rr.Add("250-mx.test").value().has_value());
  auto r = rr.Add("250 PIPELINING");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->code, 250);
  EXPECT_EQ((*r)->lines.size(), 2u);
  auto e = ReplyReader().Add("451 4.7.1 Try later");
  EXPECT_EQ((*e)->enhanced, "4.7.1");
  EXPECT_EQ((*e)->Text(), "Try later");
  EXPECT_FALSE(ReplyReader().Add("hello").ok());
  ReplyReader mixed;
  ASSERT_TRUE(mixed.Add("250-a").ok());
  EXPECT_FALSE(mixed.Add("550 b").ok()) << "the code changed inside one reply";
}

TEST(DotStuffTest, StuffsLeadingDotsAndEndsWithTheTerminator) {
  EXPECT_EQ(DotStuff("a\r\n.b\r\n..\r\n"), "a\r\n..b\r\n...\r\n.\r\n");
  EXPECT_EQ(DotStuff("a\nb"), "a\r\nb\r\n.\r\n") << "LF becomes CRLF, a last line is ended";
  EXPECT_EQ(DotStuff(""), ".\r\n");
}

TEST(DataReaderTest, UnstuffsAndOnlyACrlfDotEndsTheMessage) {
  DataReader d(1000);
  LineReader lr(100);
  lr.Feed("..hidden\r\n.\nstill data\r\n.\r\n");
  bool done = false;
  while (auto l = lr.Next()) {
    if (d.Add(*l)) {
      done = true;
      break;
    }
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(d.message(), ".hidden\r\n\r\nstill data\r\n") << "a bare-LF dot is data";
  EXPECT_TRUE(d.bare_lf());
}

ServerOptions Options() {
  ServerOptions o;
  o.hostname = "mx.test";
  o.max_size = 100;
  o.max_errors = 3;
  o.tls_available = true;
  return o;
}

Reply Ok(int code = 250) {
  Reply r;
  r.code = code;
  r.enhanced = "2.0.0";
  r.lines = {"Ok"};
  return r;
}

TEST(ServerSessionTest, APipelinedTransactionAsksForEachDecisionInOrder) {
  ServerSession s(Options());
  std::string out;
  s.Feed("EHLO client.test\r\nMAIL FROM:<a@b.test> SIZE=20\r\nRCPT TO:<c@d.test>\r\n"
         "RCPT TO:<e@d.test>\r\nDATA\r\nSubject: x\r\n\r\n..body\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(s.Next(&out), Event::kMail);
  EXPECT_NE(out.find("250-PIPELINING"), std::string::npos) << out;
  EXPECT_NE(out.find("250-STARTTLS"), std::string::npos) << out;
  EXPECT_NE(out.find("SIZE 100"), std::string::npos) << out;
  EXPECT_EQ(s.envelope().mail_from, "a@b.test");
  s.Answer(Ok(), &out);
  EXPECT_EQ(s.Next(&out), Event::kRcpt);
  EXPECT_EQ(s.pending_rcpt(), "c@d.test");
  s.Answer(Ok(), &out);
  EXPECT_EQ(s.Next(&out), Event::kRcpt);
  Reply no;
  no.code = 550;
  no.enhanced = "5.1.1";
  no.lines = {"No such user"};
  s.Answer(no, &out);
  out.clear();
  EXPECT_EQ(s.Next(&out), Event::kMessage);
  EXPECT_EQ(out, "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(s.envelope().rcpt_to, std::vector<std::string>{"c@d.test"}) << "only accepted ones";
  EXPECT_EQ(s.message(), "Subject: x\r\n\r\n.body\r\n");
  out.clear();
  s.Answer(Ok(), &out);
  EXPECT_EQ(out, "250 2.0.0 Ok\r\n");
  EXPECT_EQ(s.Next(&out), Event::kClose);
  EXPECT_NE(out.find("221 "), std::string::npos);
}

TEST(ServerSessionTest, CommandsOutOfOrderAreRefusedAndTooManyErrorsHangUp) {
  ServerSession s(Options());
  std::string out;
  s.Feed("MAIL FROM:<a@b.test>\r\nEHLO x\r\nRCPT TO:<c@d.test>\r\nDATA\r\nBOGUS\r\n");
  EXPECT_EQ(s.Next(&out), Event::kClose);
  EXPECT_NE(out.find("503 5.5.1 Say EHLO first"), std::string::npos) << out;
  EXPECT_NE(out.find("503 5.5.1 Need MAIL before RCPT"), std::string::npos) << out;
  EXPECT_NE(out.find("421 4.7.0"), std::string::npos) << out;
}

TEST(ServerSessionTest, SizeLimitsBareLfAndLongLinesAreRefusedWithoutAScan) {
  ServerOptions o = Options();
  o.max_data_line = 50;
  ServerSession s(o);
  std::string out;
  s.Feed("EHLO x\r\nMAIL FROM:<a@b.test> SIZE=1000\r\n");
  EXPECT_EQ(s.Next(&out), Event::kNeedMore);
  EXPECT_NE(out.find("552 5.3.4"), std::string::npos) << out;
  auto one = [&](const std::string& data, const std::string& want) {
    out.clear();
    s.Feed("MAIL FROM:<a@b.test>\r\n");
    ASSERT_EQ(s.Next(&out), Event::kMail);
    s.Answer(Ok(), &out);
    s.Feed("RCPT TO:<c@d.test>\r\n");
    ASSERT_EQ(s.Next(&out), Event::kRcpt);
    s.Answer(Ok(), &out);
    s.Feed("DATA\r\n" + data + ".\r\n");
    EXPECT_EQ(s.Next(&out), Event::kReset);
    EXPECT_NE(out.find(want), std::string::npos) << out;
  };
  std::string big;
  for (int i = 0; i < 5; ++i) big += std::string(40, 'x') + "\r\n";
  one(big, "552 5.3.4");
  one("a\nb\r\n", "554 5.6.0 Message has a line ending in a bare LF");
  one(std::string(60, 'y') + "\r\n", "554 5.6.0 Message has a line longer than 50");
}

TEST(ServerSessionTest, StartTlsForgetsTheSessionAndIsOfferedOnce) {
  ServerSession s(Options());
  std::string out;
  s.Feed("EHLO x\r\nSTARTTLS\r\n");
  EXPECT_EQ(s.Next(&out), Event::kStartTls);
  EXPECT_NE(out.find("220 2.0.0 Ready to start TLS"), std::string::npos);
  s.TlsStarted();
  out.clear();
  s.Feed("MAIL FROM:<a@b.test>\r\nEHLO x\r\nSTARTTLS\r\n");
  EXPECT_EQ(s.Next(&out), Event::kNeedMore);
  EXPECT_NE(out.find("503 5.5.1 Say EHLO first"), std::string::npos) << "EHLO again after TLS";
  EXPECT_EQ(out.find("STARTTLS\r\n"), std::string::npos) << "not offered twice: " << out;
  EXPECT_NE(out.find("502 5.5.1 TLS is already on"), std::string::npos) << out;
}

TEST(ServerSessionTest, XforwardCarriesTheOriginalClient) {
  ServerSession s(Options());
  std::string out;
  s.Feed("EHLO x\r\nXFORWARD ADDR=192.0.2.9 NAME=client.test HELO=c.test IDENT=4ABC\r\n"
         "XFORWARD ADDR=IPV6:2001:db8::1\r\nMAIL FROM:<>\r\n");
  EXPECT_EQ(s.Next(&out), Event::kMail);
  EXPECT_EQ(s.envelope().xforward_addr, "2001:db8::1");
  EXPECT_EQ(s.envelope().xforward_name, "client.test");
  EXPECT_EQ(s.envelope().xforward_ident, "4ABC");
  EXPECT_EQ(s.envelope().mail_from, "");
}

TEST(HeaderEditTest, AppliesEditsWithMilterSemantics) {
  const std::string msg = "Subject: hi\r\nX-Spam-Flag: NO\r\nTo: a@b\r\nX-Spam-Flag: NO\r\n"
                          " folded\r\n\r\nbody\r\n";
  std::string got = mime::ApplyHeaderEdits(
      msg, {{mime::HeaderEdit::kDelete, "x-spam-flag", "", 0},
            {mime::HeaderEdit::kChange, "Subject", "*** SPAM *** hi", 1},
            {mime::HeaderEdit::kAdd, "X-Spam-Status", "Yes\nscore=9", 0},
            {mime::HeaderEdit::kInsert, "X-Top", "1", 0}});
  EXPECT_EQ(got, "X-Top: 1\r\nSubject: *** SPAM *** hi\r\nTo: a@b\r\nX-Spam-Status: Yes\r\n"
                 "\tscore=9\r\n\r\nbody\r\n");
  EXPECT_EQ(mime::ApplyHeaderEdits("Subject: x\r\n", {{mime::HeaderEdit::kAdd, "A", "b", 0}}),
            "Subject: x\r\nA: b\r\n\r\n") << "no body";
}

}  // namespace
}  // namespace farside::smtp
