// The milter codec and session: frames, commands, negotiation, a whole transaction, the
// end-of-message replies, several messages per connection and malformed input.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/milter/codec.h"
#include "lib/milter/session.h"

namespace farside::milter {
namespace {

// All frames in `bytes`, decoded.
std::vector<Frame> Frames(const std::string& bytes) {
  FrameReader r(1 << 20);
  r.Feed(bytes);
  std::vector<Frame> out;
  while (true) {
    auto f = r.Next();
    EXPECT_TRUE(f.ok()) << f.status();
    if (!f.ok() || !f->has_value()) break;
    out.push_back(**f);
  }
  EXPECT_EQ(r.buffered(), 0u);
  return out;
}

Verdict Make(Verdict::Kind kind, std::string code = "", std::string enhanced = "",
             std::string text = "") {
  Verdict v;
  v.kind = kind;
  v.code = std::move(code);
  v.enhanced = std::move(enhanced);
  v.text = std::move(text);
  return v;
}

SessionLimits Limits(uint32_t frame, uint64_t message) {
  SessionLimits l;
  l.max_frame_bytes = frame;
  l.max_message_bytes = message;
  return l;
}

constexpr uint32_t kAllActions = 0x1ff;
constexpr uint32_t kAllSteps = 0x1fffff;

std::string OptNeg(uint32_t steps = kAllSteps, uint32_t acts = kAllActions) {
  return EncodeOptionNegotiation(6, acts, steps);
}

// Feeds `in` and runs the session to its next event.
Session::Event Step(Session& s, const std::string& in, std::string* out) {
  s.Feed(in);
  auto ev = s.Next(out);
  EXPECT_TRUE(ev.ok()) << ev.status();
  return ev.ok() ? *ev : Session::Event::kClosed;
}

std::string OneMessage(const std::string& subject) {
  std::string in;
  in += EncodeMacros(kConnect, {{"j", "mta.test"}, {"{daemon_name}", "smtpd"}});
  in += EncodeConnect("client.example", '4', 40000, "192.0.2.7");
  in += EncodeStrings(kHelo, {"client.example"});
  in += EncodeMacros(kMail, {{"i", "QID1"}, {"{auth_authen}", "alice"}});
  in += EncodeStrings(kMail, {"<alice@example.test>", "SIZE=100"});
  in += EncodeStrings(kRcpt, {"<bob@dest.test>"});
  in += EncodeStrings(kRcpt, {"<carol@dest.test>"});
  in += EncodeStrings(kHeader, {"Subject", " " + subject});
  in += EncodeStrings(kHeader, {"X-Long", " first\n\tsecond"});
  in += EncodeStrings(kHeader, {"X-Spam-Flag", " YES"});
  in += EncodeFrame(kEndOfHeaders, "");
  in += EncodeFrame(kBody, "line one\r\n");
  in += EncodeFrame(kBody, "line two\r\n");
  in += EncodeFrame(kEndOfMessage, "");
  return in;
}

TEST(FrameReaderTest, ReassemblesFramesFedOneByteAtATime) {
  std::string bytes = EncodeFrame(kBody, "hello") + EncodeFrame(kQuit, "");
  FrameReader r(100);
  std::vector<Frame> got;
  for (char c : bytes) {
    r.Feed(std::string(1, c));
    auto f = r.Next();
    ASSERT_TRUE(f.ok());
    if (f->has_value()) got.push_back(**f);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].code, kBody);
  EXPECT_EQ(got[0].data, "hello");
  EXPECT_EQ(got[1].code, kQuit);
}

TEST(FrameReaderTest, RefusesOversizedAndEmptyFrames) {
  FrameReader r(10);
  r.Feed(std::string("\x00\x00\x10\x00", 4));
  EXPECT_EQ(r.Next().status().code(), absl::StatusCode::kResourceExhausted);
  FrameReader z(10);
  z.Feed(std::string("\x00\x00\x00\x00", 4));
  EXPECT_EQ(z.Next().status().code(), absl::StatusCode::kInvalidArgument);
  FrameReader huge(1 << 20);
  huge.Feed("\xff\xff\xff\xff");  // a 4 GiB length must not allocate
  EXPECT_FALSE(huge.Next().ok());
}

TEST(ParseTest, ReadsEachCommandsLayout) {
  auto c = Parse({kConnect, std::string("host\0" "6\x01\xbb" "2001:db8::1\0", 20)});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hostname, "host");
  EXPECT_EQ(c->family, '6');
  EXPECT_EQ(c->port, 443);
  EXPECT_EQ(c->address, "2001:db8::1");
  auto u = Parse({kConnect, std::string("h\0U", 3)});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->family, 'U');
  auto m = Parse({kMacro, std::string("Mi\0Q1\0{auth_type}\0\0", 20)});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->macro_for, 'M');
  ASSERT_EQ(m->macros.size(), 2u);
  EXPECT_EQ(m->macros[0].second, "Q1");
  EXPECT_EQ(m->macros[1].second, "");
  auto h = Parse({kHeader, std::string("Subject\0 hi\0", 12)});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->name, "Subject");
  EXPECT_EQ(h->value, " hi");
  auto o = Parse({kOptionNegotiation, std::string("\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff", 12)});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->version, 6u);
  EXPECT_EQ(o->actions, 0x1ffu);
  EXPECT_EQ(o->steps, 0x1fffffu);
}

TEST(ParseTest, MalformedCommandsAreErrorsNamingTheCommand) {
  auto bad = [](char code, std::string data) { return Parse({code, std::move(data)}).status(); };
  EXPECT_NE(bad(kConnect, "no-nul").message().find("'C'"), std::string::npos);
  EXPECT_FALSE(bad(kConnect, std::string("h\0" "4\x01", 4)).ok()) << "truncated port";
  EXPECT_FALSE(bad(kConnect, std::string("h\0" "4\x01\x02" "1.2.3.4", 11)).ok());
  EXPECT_FALSE(bad(kConnect, std::string("h\0X", 3)).ok()) << "unknown family";
  EXPECT_FALSE(bad(kHeader, std::string("Subject\0no-end", 14)).ok());
  auto nul = Parse({kHeader, std::string("Subject\0a\0b\0", 12)});
  ASSERT_TRUE(nul.ok()) << "a NUL inside a value is mail's problem, not the protocol's";
  EXPECT_EQ(nul->value, std::string("a\0b", 3));
  EXPECT_FALSE(bad(kHeader, std::string("\0v\0", 3)).ok()) << "empty name";
  EXPECT_FALSE(bad(kMail, "").ok());
  EXPECT_FALSE(bad(kOptionNegotiation, "short").ok());
  EXPECT_FALSE(bad('Z', "").ok());
  EXPECT_FALSE(bad(kHelo, std::string("a\0b\0", 4)).ok());
}

TEST(SessionTest, NegotiatesOnlyWhatItNeedsAndWhatTheMtaOffers) {
  Session s({});
  std::string out;
  EXPECT_EQ(Step(s, OptNeg(), &out), Session::Event::kNeedMore);
  auto f = Frames(out);
  ASSERT_EQ(f.size(), 1u);
  auto o = Parse(f[0]);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->version, 6u);
  EXPECT_EQ(o->actions, actions::kAddHeaders | actions::kChangeHeaders | actions::kQuarantine);
  EXPECT_TRUE(o->steps & steps::kNoReplyHeader);
  EXPECT_TRUE(o->steps & steps::kNoReplyBody);
  EXPECT_TRUE(o->steps & steps::kNoUnknown);
  EXPECT_TRUE(o->steps & steps::kHeaderLeadingSpace);
  EXPECT_FALSE(o->steps & steps::kNoBody) << "the body is scanned";
  EXPECT_FALSE(o->steps & steps::kNoHeaders);
  EXPECT_FALSE(o->steps & steps::kNoMail);

  // An MTA that offers no step flags and only header adds gets exactly that back.
  Session old({});
  out.clear();
  Step(old, OptNeg(0, actions::kAddHeaders), &out);
  auto o2 = Parse(Frames(out)[0]);
  EXPECT_EQ(o2->steps, 0u);
  EXPECT_EQ(o2->actions, actions::kAddHeaders);
}

TEST(SessionTest, RepliesContinueToEveryStepWhenNoReplyFlagsAreNotOffered) {
  Session s({});
  std::string out;
  Step(s, OptNeg(0), &out);
  out.clear();
  ASSERT_EQ(Step(s, OneMessage("hi"), &out), Session::Event::kMessage);
  // connect, helo, mail, 2 rcpt, 3 headers, eoh, 2 body chunks: 11 continues.
  auto f = Frames(out);
  EXPECT_EQ(f.size(), 11u);
  for (const Frame& x : f) EXPECT_EQ(x.code, kContinue);
}

TEST(SessionTest, BuildsTheEnvelopeAndTheMessageAsReceived) {
  Session s({});
  std::string out;
  Step(s, OptNeg(), &out);
  out.clear();
  ASSERT_EQ(Step(s, OneMessage("hello there"), &out), Session::Event::kMessage);
  EXPECT_TRUE(out.empty()) << "every step was negotiated as no-reply";
  const Transaction& tx = s.transaction();
  EXPECT_EQ(tx.client_ip, "192.0.2.7");
  EXPECT_EQ(tx.client_hostname, "client.example");
  EXPECT_EQ(tx.helo, "client.example");
  EXPECT_EQ(tx.mail_from, "alice@example.test");
  EXPECT_EQ(tx.rcpt_to, (std::vector<std::string>{"bob@dest.test", "carol@dest.test"}));
  EXPECT_EQ(tx.queue_id, "QID1");
  EXPECT_EQ(tx.auth_user, "alice");
  EXPECT_EQ(tx.mta_hostname, "mta.test");
  EXPECT_EQ(tx.message,
            "Subject: hello there\r\nX-Long: first\r\n\tsecond\r\nX-Spam-Flag: YES\r\n\r\n"
            "line one\r\nline two\r\n");
  EXPECT_EQ(tx.size, tx.message.size());
  EXPECT_FALSE(tx.oversize);
}

TEST(SessionTest, FinishSendsHeaderChangesThenTheFinalReply) {
  Session s({});
  std::string out;
  Step(s, OptNeg(), &out);
  Step(s, OneMessage("hi"), &out);
  Verdict v;
  v.edits = {{HeaderEdit::kDelete, "X-Spam-Flag", "", 0},
             {HeaderEdit::kAdd, "X-Spam-Score", "1.50", 0},
             {HeaderEdit::kChange, "Subject", "*** SPAM *** hi", 0},
             {HeaderEdit::kInsert, "X-Top", "first", 0}};
  auto f = Frames(s.Finish(v));
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0].code, kChangeHeader);
  EXPECT_EQ(f[0].data, std::string("\0\0\0\x01X-Spam-Flag\0\0", 17)) << "delete = change to empty";
  EXPECT_EQ(f[1].code, kAddHeader);
  EXPECT_EQ(f[1].data, std::string("X-Spam-Score\0 1.50\0", 19)) << "leading space negotiated";
  EXPECT_EQ(f[2].code, kChangeHeader);
  EXPECT_EQ(f[2].data.substr(0, 4), std::string("\0\0\0\x01", 4)) << "index 0 means the first";
  EXPECT_EQ(f[3].code, kInsertHeader);
  EXPECT_EQ(f[4].code, kAccept);
}

TEST(SessionTest, DeletingEveryOccurrenceGoesLastFirst) {
  Session s({});
  std::string out;
  Step(s, OptNeg(), &out);
  std::string in = EncodeStrings(kMail, {"<>"}) + EncodeStrings(kRcpt, {"<r@x>"});
  for (int i = 0; i < 3; ++i) in += EncodeStrings(kHeader, {"x-spam-flag", " YES"});
  in += EncodeFrame(kEndOfMessage, "");
  ASSERT_EQ(Step(s, in, &out), Session::Event::kMessage);
  EXPECT_EQ(s.transaction().mail_from, "");
  Verdict v;
  v.edits = {{HeaderEdit::kDelete, "X-Spam-Flag", "", 0}};
  auto f = Frames(s.Finish(v));
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].data[3], 3);
  EXPECT_EQ(f[1].data[3], 2);
  EXPECT_EQ(f[2].data[3], 1);
}

TEST(SessionTest, RefusalsUseOurReplyCodeAndCarryNoHeaderChanges) {
  Session s({});
  std::string out;
  Step(s, OptNeg(), &out);
  Step(s, OneMessage("x"), &out);
  Verdict v = Make(Verdict::kReject, "550", "5.7.1", "Spam, 100% sure");
  v.edits = {{HeaderEdit::kAdd, "X-Spam-Score", "20", 0}};
  auto f = Frames(s.Finish(v));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, kReplyCode);
  EXPECT_EQ(f[0].data, std::string("550 5.7.1 Spam, 100%% sure\0", 27));
  // A multi-line text becomes continuation lines.
  Step(s, OneMessage("y"), &out);
  auto g = Frames(s.Finish(Make(Verdict::kTempfail, "451", "4.7.1", "Greylisted\nTry later")));
  EXPECT_EQ(g[0].data, std::string("451-4.7.1 Greylisted\r\n451 4.7.1 Try later\0", 42));
  Step(s, OneMessage("z"), &out);
  EXPECT_EQ(Frames(s.Finish(Make(Verdict::kDiscard)))[0].code, kDiscard);
}

TEST(SessionTest, QuarantineAndChangesNotAllowedInNegotiationAreLeftOut) {
  Session s({});
  std::string out;
  Step(s, OptNeg(kAllSteps, actions::kAddHeaders), &out);
  Step(s, OneMessage("x"), &out);
  Verdict v = Make(Verdict::kQuarantine);
  v.edits = {{HeaderEdit::kChange, "Subject", "new", 1}, {HeaderEdit::kAdd, "X-A", "b", 0}};
  auto f = Frames(s.Finish(v));
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].code, kAddHeader);
  EXPECT_EQ(f[1].code, kAccept);
  EXPECT_EQ(s.dropped_edits(), 2u);
  // Allowed, it is sent before the accept.
  Session q({});
  Step(q, OptNeg(), &out);
  Step(q, OneMessage("x"), &out);
  Verdict held = Make(Verdict::kQuarantine);
  held.quarantine_reason = "held";
  auto g = Frames(q.Finish(held));
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].code, kQuarantine);
  EXPECT_EQ(g[0].data, std::string("held\0", 5));
}

TEST(SessionTest, SeveralMessagesOnOneConnectionKeepTheClientButNotTheMessage) {
  Session s({});
  std::string out;
  Step(s, OptNeg(), &out);
  ASSERT_EQ(Step(s, OneMessage("first"), &out), Session::Event::kMessage);
  s.Finish({});
  std::string second = EncodeMacros(kMail, {{"i", "QID2"}}) +
                       EncodeStrings(kMail, {"<dave@example.test>"}) +
                       EncodeStrings(kRcpt, {"<erin@dest.test>"}) +
                       EncodeStrings(kHeader, {"Subject", " second"}) +
                       EncodeFrame(kEndOfMessage, "");
  ASSERT_EQ(Step(s, second, &out), Session::Event::kMessage);
  const Transaction& tx = s.transaction();
  EXPECT_EQ(tx.client_ip, "192.0.2.7");
  EXPECT_EQ(tx.helo, "client.example");
  EXPECT_EQ(tx.mail_from, "dave@example.test");
  EXPECT_EQ(tx.rcpt_to, std::vector<std::string>{"erin@dest.test"});
  EXPECT_EQ(tx.queue_id, "QID2");
  EXPECT_EQ(tx.auth_user, "") << "the MAIL macros were sent again without it";
  EXPECT_EQ(tx.message, "Subject: second\r\n\r\n");
  EXPECT_EQ(tx.header_names.size(), 1u);
}

TEST(SessionTest, AbortDropsTheMessageAndQuitEnds) {
  Session s({});
  std::string out;
  Step(s, OptNeg(), &out);
  std::string in = EncodeConnect("h", '4', 1, "198.51.100.1") + EncodeStrings(kMail, {"<a@b>"}) +
                   EncodeStrings(kHeader, {"Subject", " dropped"}) + EncodeFrame(kAbort, "") +
                   EncodeStrings(kMail, {"<c@d>"}) + EncodeFrame(kEndOfMessage, "");
  ASSERT_EQ(Step(s, in, &out), Session::Event::kMessage);
  EXPECT_EQ(s.transaction().mail_from, "c@d");
  EXPECT_EQ(s.transaction().message, "\r\n");
  s.Finish({});
  EXPECT_EQ(Step(s, EncodeFrame(kQuitNewConnection, "") + EncodeFrame(kQuit, ""), &out),
            Session::Event::kClosed);
}

TEST(SessionTest, AnOversizedMessageIsCountedButNotKept) {
  Session s(Limits(1 << 20, 64));
  std::string out;
  Step(s, OptNeg(), &out);
  std::string in = EncodeStrings(kMail, {"<a@b>"}) + EncodeStrings(kHeader, {"Subject", " x"});
  for (int i = 0; i < 10; ++i) in += EncodeFrame(kBody, std::string(30, 'a'));
  in += EncodeFrame(kEndOfMessage, "");
  ASSERT_EQ(Step(s, in, &out), Session::Event::kMessage);
  EXPECT_TRUE(s.transaction().oversize);
  EXPECT_EQ(s.transaction().size, 12u + 2 + 300);
  EXPECT_TRUE(s.transaction().message.empty());
}

TEST(SessionTest, ProtocolErrorsEndTheSession) {
  std::string out;
  Session before({});
  before.Feed(EncodeStrings(kMail, {"<a@b>"}));
  EXPECT_FALSE(before.Next(&out).ok()) << "a command before negotiation";
  Session old({});
  old.Feed(EncodeOptionNegotiation(1, 0, 0));
  EXPECT_FALSE(old.Next(&out).ok()) << "version 1";
  Session junk({});
  junk.Feed(OptNeg() + EncodeFrame('Z', "x"));
  EXPECT_FALSE(junk.Next(&out).ok());
  Session big(Limits(100, 1 << 20));
  big.Feed(OptNeg() + EncodeFrame(kBody, std::string(200, 'b')));
  EXPECT_EQ(big.Next(&out).status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace farside::milter
