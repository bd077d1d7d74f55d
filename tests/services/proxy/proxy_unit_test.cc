// The proxy's pieces without sockets: verdict and fail-policy mapping, milter verdicts,
// and the scanner pool following what a DNS name resolves to.
#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/common/config_loader.h"
#include "services/proxy/decision.h"
#include "services/proxy/milter_front.h"
#include "services/proxy/scanner_pool.h"
#include "services/proxy/smtp_front.h"

namespace farside::proxy {
namespace {

farside::v1::ProxyConfig Config(const std::string& yaml = "") {
  farside::v1::Config c;
  config::ApplyDefaults(&c);
  absl::Status st = config::MergeYaml(yaml, "test", &c);
  EXPECT_TRUE(st.ok()) << st;
  return c.proxy();
}

farside::v1::ScanResult Result(farside::v1::Action a) {
  farside::v1::ScanResult r;
  r.set_action(a);
  auto* h = r.add_header_changes();
  h->set_op(farside::v1::HeaderChange::OP_ADD);
  h->set_name("X-Spam-Score");
  h->set_value("7.00");
  return r;
}

TEST(DecisionTest, ActionsMapToWhatTheMtaDoes) {
  const auto cfg = Config();
  Decision rej = FromResult(Result(farside::v1::REJECT), cfg, false);
  EXPECT_EQ(rej.kind, Decision::kReject);
  EXPECT_EQ(rej.reply.code(), 550u) << "the built-in reply when the scanner sent none";
  EXPECT_TRUE(rej.changes.empty()) << "refused mail gets no headers";
  EXPECT_EQ(FromResult(Result(farside::v1::GREYLIST), cfg, false).reply.code(), 451u);
  EXPECT_EQ(FromResult(Result(farside::v1::SOFT_REJECT), cfg, false).kind, Decision::kTempfail);
  EXPECT_EQ(FromResult(Result(farside::v1::DISCARD), cfg, false).kind, Decision::kDiscard);
  Decision q = FromResult(Result(farside::v1::QUARANTINE), cfg, false);
  EXPECT_EQ(q.kind, Decision::kQuarantine);
  EXPECT_EQ(q.changes.size(), 1u);
  Decision ok = FromResult(Result(farside::v1::ADD_HEADER), cfg, true);
  EXPECT_EQ(ok.kind, Decision::kAccept);
  ASSERT_EQ(ok.changes.size(), 2u);
  EXPECT_EQ(ok.changes[0].op(), farside::v1::HeaderChange::OP_REMOVE) << "forged unscanned mark";
  EXPECT_EQ(ok.changes[0].name(), "X-Farside-Unscanned");
  EXPECT_EQ(ok.label, "add_header");
}

TEST(DecisionTest, ConfiguredRepliesWinOverTheScanners) {
  auto cfg = Config("proxy:\n  replies:\n    reject: \"554 5.7.0 Not here\"\n");
  farside::v1::ScanResult r = Result(farside::v1::REJECT);
  r.mutable_smtp_reply()->set_code(550);
  r.mutable_smtp_reply()->set_text("scanner text");
  Decision d = FromResult(r, cfg, false);
  EXPECT_EQ(d.reply.code(), 554u);
  EXPECT_EQ(d.reply.enhanced_code(), "5.7.0");
  EXPECT_EQ(d.reply.text(), "Not here");
  EXPECT_TRUE(ValidateReplies(cfg.replies()).ok());
  auto bad = Config("proxy:\n  replies:\n    greylist: \"later\"\n");
  absl::Status st = ValidateReplies(bad.replies());
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("proxy.replies.greylist"), std::string::npos) << st;
}

TEST(DecisionTest, FailPolicyAndOversize) {
  const absl::Status down = absl::UnavailableError("none of 2 scanners is healthy");
  Decision t = FailPolicy(down, Config(), false);
  EXPECT_EQ(t.kind, Decision::kTempfail) << "tempfail is the default";
  EXPECT_EQ(t.reply.code(), 451u);
  EXPECT_EQ(t.label, "unscanned_tempfail");
  Decision a = FailPolicy(down, Config("proxy:\n  fail_policy: FAIL_POLICY_ACCEPT\n"), false);
  EXPECT_EQ(a.kind, Decision::kAccept);
  ASSERT_EQ(a.changes.size(), 1u);
  EXPECT_EQ(a.changes[0].name(), "X-Farside-Unscanned");
  EXPECT_NE(a.changes[0].value().find("none of 2 scanners"), std::string::npos);
  EXPECT_EQ(FailPolicy(down, Config("proxy:\n  fail_policy: FAIL_POLICY_REJECT\n"), false).reply.code(), 550u);
  Decision big = Oversize(40 << 20, Config(), false);
  EXPECT_EQ(big.kind, Decision::kAccept);
  EXPECT_NE(big.changes[0].value().find("over the scan limit"), std::string::npos);
}

TEST(DecisionTest, AuthenticatedMailIsOutbound) {
  auto cfg = Config("proxy:\n  outbound_profile: outbound\n");
  farside::v1::Envelope in, out;
  SetDirection(cfg, &in);
  EXPECT_EQ(in.direction(), farside::v1::DIRECTION_INBOUND);
  out.set_authenticated_user("alice");
  SetDirection(cfg, &out);
  EXPECT_EQ(out.direction(), farside::v1::DIRECTION_OUTBOUND);
  EXPECT_EQ(out.settings_profile(), "outbound");
}

TEST(MilterVerdictTest, CarriesTheReplyAndTheHeaderChanges) {
  Decision d = FromResult(Result(farside::v1::REJECT), Config(), false);
  milter::Verdict v = ToMilterVerdict(d);
  EXPECT_EQ(v.kind, milter::Verdict::kReject);
  EXPECT_EQ(v.code, "550");
  EXPECT_EQ(v.enhanced, "5.7.1");
  farside::v1::ScanResult r = Result(farside::v1::NO_ACTION);
  auto* rm = r.add_header_changes();
  rm->set_op(farside::v1::HeaderChange::OP_REMOVE);
  rm->set_name("X-Spam-Flag");
  milter::Verdict a = ToMilterVerdict(FromResult(r, Config(), false));
  ASSERT_EQ(a.edits.size(), 2u);
  EXPECT_EQ(a.edits[1].op, milter::HeaderEdit::kDelete);
  EXPECT_EQ(ToHeaderEdits(FromResult(r, Config(), false))[1].op, mime::HeaderEdit::kDelete);
}

TEST(ScannerPoolTest, ANameStandsForEveryAddressItResolvesTo) {
  telemetry::ServiceMetrics metrics("proxy");
  std::vector<std::string> answer = {"10.0.0.1", "10.0.0.2"};
  bool fail = false;
  ScannerPool::Options o;
  o.targets = {"scanners.farside.svc:11433", "192.0.2.9:11433"};
  o.health_interval = absl::Hours(1);  // no background rounds during the test
  o.health_timeout = absl::Milliseconds(10);
  o.resolve_interval = absl::Hours(1);
  o.resolver = [&](const std::string& host) -> absl::StatusOr<std::vector<std::string>> {
    EXPECT_EQ(host, "scanners.farside.svc");
    if (fail) return absl::UnavailableError("SERVFAIL");
    return answer;
  };
  auto pool = ScannerPool::Create(o, &metrics);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ((*pool)->Targets(),
            (std::vector<std::string>{"10.0.0.1:11433", "10.0.0.2:11433", "192.0.2.9:11433"}));
  answer = {"10.0.0.2", "10.0.0.3"};  // one scanner went, another came
  (*pool)->Resolve();
  EXPECT_EQ((*pool)->Targets(),
            (std::vector<std::string>{"10.0.0.2:11433", "10.0.0.3:11433", "192.0.2.9:11433"}));
  fail = true;  // DNS trouble keeps the last answer
  (*pool)->Resolve();
  EXPECT_EQ((*pool)->size(), 3u);
  EXPECT_FALSE((*pool)->Pick().ok()) << "none has answered a health check";
}

TEST(ScannerPoolTest, TheSystemResolverReadsRealNames) {
  auto addrs = SystemResolver()("localhost");
  ASSERT_TRUE(addrs.ok()) << addrs.status();
  EXPECT_NE(std::find(addrs->begin(), addrs->end(), "127.0.0.1"), addrs->end());
  EXPECT_FALSE(SystemResolver()("no-such-host.invalid").ok());
}

}  // namespace
}  // namespace farside::proxy
