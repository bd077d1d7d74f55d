// The whole stack on loopback: a real redis-server, the controller, two scanners and the
// proxy, driven by the farside CLI, promtool and Node's @grpc/grpc-js.
#include <filesystem>
#include <fstream>
#include <memory>
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "farside/v1/scanner.pb.h"
#include "farside/v1/state.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "lib/rpc/health_client.h"
#include "tests/integration/harness.h"

namespace farside::testing {
namespace {

using grpc::health::v1::HealthCheckResponse;

class StackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("stack");
    redis_port_ = FreePort();
    ctl_port_ = FreePort();
    ctl_metrics_ = FreePort();
    for (int i = 0; i < 2; ++i) {
      scan_ports_[i] = FreePort();
      scan_metrics_[i] = FreePort();
    }
    proxy_metrics_ = FreePort();
    proxy_milter_ = FreePort();
    proxy_smtp_ = FreePort();

    redis_ = RedisServer::Start(redis_port_, dir_);
    ASSERT_NE(redis_, nullptr);
    controller_ = group_.Add(Process::Start(
        "controller",
        {Binary("farside-controller"), "--listen", Loopback(ctl_port_), "--metrics",
         Loopback(ctl_metrics_), "--redis", Loopback(redis_port_)},
        dir_));
    for (int i = 0; i < 2; ++i) {
      scanners_[i] = group_.Add(Process::Start(
          absl::StrCat("scanner", i),
          {Binary("farside-scanner"), "--listen", Loopback(scan_ports_[i]), "--metrics",
           Loopback(scan_metrics_[i]), "--controller", Loopback(ctl_port_), "--name",
           absl::StrCat("scanner-", i), "--rules_dir",
           i == 0 ? SourcePath("rules/default") : "", "--rules_cache_dir", dir_ + "/prefilters"},
          dir_));
    }
    proxy_ = group_.Add(Process::Start(
        "proxy",
        {Binary("farside-proxy"), "--listen", Loopback(proxy_milter_), "--smtp_listen",
         Loopback(proxy_smtp_), "--metrics", Loopback(proxy_metrics_), "--scanners",
         absl::StrCat(Loopback(scan_ports_[0]), ",", Loopback(scan_ports_[1]))},
        dir_));
    for (int port : {ctl_metrics_, scan_metrics_[0], scan_metrics_[1], proxy_metrics_}) {
      ASSERT_TRUE(WaitFor([&] { return HttpGet(port, "/readyz").status == 200; },
                          absl::Seconds(15)))
          << "not ready on metrics port " << port;
    }
  }

  void TearDown() override {
    // ProcessGroup prints the services' logs itself when the test failed.
    if (::testing::Test::HasFailure() && redis_) {
      std::fprintf(stderr, "----- redis log -----\n%s\n", redis_->Log().c_str());
    }
  }

  CommandResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {Binary("farside"), "--scanner", Loopback(scan_ports_[0]),
                               "--controller", Loopback(ctl_port_), "--timeout", "10s"});
    return RunCommand(args, absl::Seconds(20));
  }

  // The controller's health as seen by Node's grpc-js client.
  std::string NodeHealth(int port, const std::string& service = "") {
    CommandResult r = RunCommand(
        {"node", SourcePath("tests/node/health.js"), Loopback(port), service}, absl::Seconds(15));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return std::string(absl::StripAsciiWhitespace(r.out));
  }

  HealthCheckResponse::ServingStatus OurHealth(int port) {
    auto st = rpc::CheckHealth(rpc::MakeChannel(Loopback(port), 1 << 20), absl::Seconds(1));
    return st.ok() ? *st : HealthCheckResponse::UNKNOWN;
  }

  std::string dir_;
  int redis_port_, ctl_port_, ctl_metrics_, proxy_metrics_, proxy_milter_, proxy_smtp_;
  int scan_ports_[2], scan_metrics_[2];
  std::unique_ptr<Process> redis_;
  ProcessGroup group_;
  Process* controller_ = nullptr;
  Process* scanners_[2] = {nullptr, nullptr};
  Process* proxy_ = nullptr;
};

TEST_F(StackTest, GtubeIsRejectedPlainPassesAndStatsCountBoth) {
  CommandResult spam = Cli({"scan", SourcePath("tests/data/gtube.eml")});
  EXPECT_EQ(spam.exit_code, 1) << spam.out << spam.err;
  EXPECT_TRUE(absl::StrContains(spam.out, "action: reject")) << spam.out;
  EXPECT_TRUE(absl::StrContains(spam.out, "symbol: GTUBE")) << spam.out;
  EXPECT_TRUE(absl::StrContains(spam.out, "smtp reply: 550 5.7.1")) << spam.out;

  CommandResult ham = Cli({"scan", SourcePath("tests/data/plain.eml")});
  EXPECT_EQ(ham.exit_code, 0) << ham.out << ham.err;
  EXPECT_TRUE(absl::StrContains(ham.out, "action: no_action")) << ham.out;
  EXPECT_FALSE(absl::StrContains(ham.out, "GTUBE")) << ham.out;

  // Records reach the controller on the next batched call or the flush (200 ms).
  CommandResult stats;
  bool counted = WaitFor(
      [&] {
        stats = Cli({"stats"});
        return stats.exit_code == 0 && absl::StrContains(stats.out, "scanned: 2");
      },
      absl::Seconds(10));
  ASSERT_TRUE(counted) << stats.out << stats.err;
  EXPECT_TRUE(absl::StrContains(stats.out, "no_action        1")) << stats.out;
  EXPECT_TRUE(absl::StrContains(stats.out, "reject           1")) << stats.out;

  CommandResult history = Cli({"history"});
  EXPECT_EQ(history.exit_code, 0) << history.err;
  EXPECT_TRUE(absl::StrContains(history.out, "Farside chain test (GTUBE)")) << history.out;
}

TEST_F(StackTest, DefaultRulesScoreARiskyMessage) {
  // scanner 0 runs the default rules (rules/default); the message shows one sender and is
  // another, links to an IP address and carries a program behind a PDF name.
  const std::string msg =
      "From: \"support@bank.example\" <x@evil.example>\nDate: Thu, 03 Dec 2026 09:00:00 +0000\n"
      "Message-ID: <r1@evil.example>\nSubject: Your invoice\nMIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nsee http://192.0.2.1/pay\n--b\n"
      "Content-Disposition: attachment; filename=\"invoice.pdf.exe\"\n\nMZ\n--b--\n";
  CommandResult r = RunCommand({Binary("farside"), "--scanner", Loopback(scan_ports_[0]), "scan", "-"},
                               absl::Seconds(20), msg);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  for (const char* sym : {"ATTACH_EXECUTABLE_NAME", "ATTACH_DOUBLE_EXTENSION",
                          "ATTACH_EXECUTABLE_CONTENT", "URI_IP_LITERAL", "FROM_NAME_HAS_ADDRESS"}) {
    EXPECT_TRUE(absl::StrContains(r.out, absl::StrCat("symbol: ", sym, " ("))) << sym << "\n" << r.out;
  }
  // 17.5 points and more: over reject (15), though no rule forces it.
  EXPECT_TRUE(absl::StrContains(r.out, "action: reject")) << r.out;
  // The same message on scanner 1, which has no rule files, only shows the parser's view.
  CommandResult bare = RunCommand(
      {Binary("farside"), "--scanner", Loopback(scan_ports_[1]), "scan", "-"}, absl::Seconds(20), msg);
  EXPECT_EQ(bare.exit_code, 0) << bare.out;
}

TEST_F(StackTest, BayesLearnsThroughTheCliAndClassifiesThroughTheBatchedCall) {
  // Before anything is learned, Bayes says nothing and the result says why.
  CommandResult early = Cli({"scan", "--json", SourcePath("tests/data/plain.eml")});
  EXPECT_TRUE(absl::StrContains(early.out, "\"check\":\"bayes\"")) << early.out;
  const std::string dir = TempDir("bayes");
  const char* spam_words[] = {"cheap", "pills", "viagra", "offer", "winner", "casino", "bonus", "credit"};
  const char* ham_words[] = {"meeting", "agenda", "project", "review", "minutes", "budget", "team", "draft"};
  for (const char* cls : {"spam", "ham"}) {
    std::filesystem::create_directories(absl::StrCat(dir, "/", cls));
    for (int i = 0; i < 210; ++i) {
      const char** w = std::string(cls) == "spam" ? spam_words : ham_words;
      std::ofstream(absl::StrCat(dir, "/", cls, "/", i, ".eml"))
          << "From: x" << i << "@sender.test\nSubject: " << w[i % 8] << " " << w[(i + 3) % 8]
          << " number " << i << "\n\n" << w[i % 8] << " " << w[(i + 1) % 8] << " "
          << w[(i + 2) % 8] << " " << w[(i + 5) % 8] << " item " << i << " of " << cls << "\n";
    }
  }
  CommandResult spam = Cli({"learn", "spam", dir + "/spam"});
  EXPECT_EQ(spam.exit_code, 0) << spam.out << spam.err;
  EXPECT_TRUE(absl::StrContains(spam.out, "learned 210, relearned 0, already learned 0")) << spam.out;
  CommandResult ham = Cli({"learn", "ham", dir + "/ham"});
  EXPECT_TRUE(absl::StrContains(ham.out, "learned 210,")) << ham.out;
  CommandResult again = Cli({"learn", "ham", dir + "/ham"});
  EXPECT_TRUE(absl::StrContains(again.out, "learned 0, relearned 0, already learned 210")) << again.out;
  CommandResult moved = Cli({"learn", "ham", dir + "/spam/0.eml"});
  EXPECT_TRUE(absl::StrContains(moved.out, "relearned 1")) << moved.out;

  const std::string spammy = "Subject: casino bonus winner\n\ncheap pills and a casino bonus offer\n";
  CommandResult s = RunCommand({Binary("farside"), "--scanner", Loopback(scan_ports_[1]), "scan", "-"},
                               absl::Seconds(20), spammy);
  EXPECT_TRUE(absl::StrContains(s.out, "symbol: BAYES_SPAM (4.00)")) << s.out;
  const std::string hammy = "Subject: project meeting\n\nthe agenda and budget review for the team\n";
  CommandResult h = RunCommand({Binary("farside"), "--scanner", Loopback(scan_ports_[1]), "scan", "-"},
                               absl::Seconds(20), hammy);
  EXPECT_TRUE(absl::StrContains(h.out, "symbol: BAYES_HAM (-3.00)")) << h.out;
}

TEST_F(StackTest, RateLimitHoldsAcrossConcurrentClientsAgainstRealRedis) {
  // A scanner with one limit: 10 messages per client address, draining one per 100 s.
  const std::string cfg = TempDir("rl") + "/farside.yaml";
  std::ofstream(cfg) << "scanner:\n  ratelimits:\n    - name: per_ip\n      selectors: [ip]\n"
                        "      burst: 10\n      rate: 0.01\n      allow: [192.0.2.200]\n";
  const int port = FreePort(), metrics = FreePort();
  group_.Add(Process::Start("scanner-rl",
                            {Binary("farside-scanner"), "--config", cfg, "--listen", Loopback(port),
                             "--metrics", Loopback(metrics), "--controller", Loopback(ctl_port_)},
                            dir_));
  ASSERT_TRUE(WaitFor([&] { return HttpGet(metrics, "/readyz").status == 200; }, absl::Seconds(30)));
  // Four clients at once, 10 messages each, all from one address: 40 tries, room for 10.
  std::vector<std::string> args = {Binary("farside"), "--scanner", Loopback(port), "--ip", "192.0.2.77", "scan"};
  for (int i = 0; i < 10; ++i) args.push_back(SourcePath("tests/data/plain.eml"));
  std::vector<CommandResult> results(4);
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) clients.emplace_back([&, c] { results[c] = RunCommand(args, absl::Seconds(60)); });
  for (auto& t : clients) t.join();
  int accepted = 0, limited = 0;
  for (const CommandResult& r : results) {
    for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
      line = absl::StripAsciiWhitespace(line);
      if (!absl::StartsWith(line, "action: ")) continue;
      if (line == "action: soft_reject") ++limited;
      else ++accepted;
    }
  }
  std::printf("ratelimit: %d accepted, %d limited of 40 (burst 10)\n", accepted, limited);
  EXPECT_EQ(accepted + limited, 40) << results[0].out << results[0].err;
  EXPECT_GE(accepted, 9);
  EXPECT_LE(accepted, 11) << "the bucket's allowance is 10";
  EXPECT_TRUE(absl::StrContains(results[0].out + results[1].out + results[2].out + results[3].out,
                                "symbol: RATELIMIT_PER_IP"));
  // Another address has its own bucket; an allowed one is never limited.
  for (const char* ip : {"192.0.2.78", "192.0.2.200"}) {
    std::vector<std::string> a = args;
    a[4] = ip;
    CommandResult r = RunCommand(a, absl::Seconds(60));
    EXPECT_FALSE(absl::StrContains(r.out, "soft_reject")) << ip << "\n" << r.out;
  }
}

TEST_F(StackTest, JsonOutputIsTheProtobufMappingOfScanResult) {
  CommandResult r = Cli({"scan", "--json", SourcePath("tests/data/gtube.eml")});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  farside::v1::ScanResult parsed;
  auto st = google::protobuf::util::JsonStringToMessage(r.out, &parsed);
  ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << r.out;
  EXPECT_EQ(parsed.action(), farside::v1::REJECT);
  ASSERT_GE(parsed.symbols_size(), 1);
  EXPECT_EQ(parsed.forced_by(), "GTUBE");
  EXPECT_TRUE(std::any_of(parsed.symbols().begin(), parsed.symbols().end(),
                          [](const farside::v1::Symbol& s) { return s.name() == "GTUBE"; }));
  EXPECT_EQ(parsed.message_id(), "gtube-chain-test@sender.test");
  EXPECT_EQ(parsed.smtp_reply().code(), 550u);
  EXPECT_TRUE(parsed.thresholds().has_reject());
  EXPECT_DOUBLE_EQ(parsed.thresholds().reject(), 15);
  EXPECT_TRUE(absl::StrContains(r.out, "\"action\":\"REJECT\"")) << r.out;

  CommandResult stdin_scan = RunCommand({Binary("farside"), "--scanner", Loopback(scan_ports_[1]),
                                  "scan", "--json", "-"},
                                 absl::Seconds(20), "Subject: hi\n\nhello\n");
  EXPECT_EQ(stdin_scan.exit_code, 0) << stdin_scan.err;
  EXPECT_TRUE(absl::StrContains(stdin_scan.out, "\"action\":\"NO_ACTION\"")) << stdin_scan.out;
  EXPECT_TRUE(absl::StrContains(stdin_scan.out, "\"scanner\":\"scanner-1\"")) << stdin_scan.out;
}

TEST_F(StackTest, EveryMetricsPortPassesPromtoolAndAnswersProbes) {
  ASSERT_EQ(Cli({"scan", SourcePath("tests/data/gtube.eml")}).exit_code, 1);
  std::string promtool = FindProgram("promtool");
  ASSERT_FALSE(promtool.empty()) << "promtool is not installed (Debian package prometheus)";
  for (int port : {proxy_metrics_, scan_metrics_[0], scan_metrics_[1], ctl_metrics_}) {
    HttpResult m = HttpGet(port, "/metrics");
    ASSERT_EQ(m.status, 200) << port;
    CommandResult check = RunCommand({promtool, "check", "metrics"}, absl::Seconds(20), m.body);
    EXPECT_EQ(check.exit_code, 0) << "port " << port << ": " << check.err << "\n" << m.body;
    EXPECT_TRUE(absl::StrContains(m.body, "_build_info{")) << m.body;
    EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
    EXPECT_EQ(HttpGet(port, "/readyz").status, 200);
    EXPECT_EQ(HttpGet(port, "/nothing-here").status, 404);
  }
  std::string scanner = HttpGet(scan_metrics_[0], "/metrics").body;
  EXPECT_TRUE(absl::StrContains(scanner, "farside_scanner_scans_total{action=\"reject\"} 1"))
      << scanner;
  EXPECT_TRUE(absl::StrContains(scanner, "farside_scanner_scan_duration_seconds_count 1"));
  EXPECT_TRUE(absl::StrContains(scanner,
                                "farside_scanner_grpc_requests_total{code=\"OK\",method=\"Scan\"} 1"))
      << scanner;
  // The proxy learns of both scanners at its next health round (a busy machine may need a
  // few): wait for it rather than race it.
  std::string proxy;
  EXPECT_TRUE(WaitFor(
      [&] {
        proxy = HttpGet(proxy_metrics_, "/metrics").body;
        return absl::StrContains(proxy, "farside_proxy_scanners_healthy 2");
      },
      absl::Seconds(10)))
      << proxy;
}

TEST_F(StackTest, HealthAnswersServingToNodeGrpcJs) {
  ASSERT_FALSE(FindProgram("node").empty()) << "node is not installed";
  EXPECT_EQ(NodeHealth(scan_ports_[0]), "SERVING");
  EXPECT_EQ(NodeHealth(scan_ports_[1]), "SERVING");
  EXPECT_EQ(NodeHealth(ctl_port_), "SERVING");
  EXPECT_EQ(NodeHealth(scan_ports_[0], "farside.v1.Scanner"), "SERVING");
  EXPECT_EQ(NodeHealth(ctl_port_, "farside.v1.State"), "SERVING");
}

TEST_F(StackTest, ReflectionListsOurServicesToNodeGrpcJs) {
  ASSERT_FALSE(FindProgram("node").empty()) << "node is not installed";
  const std::pair<int, const char*> cases[] = {{scan_ports_[0], "farside.v1.Scanner"},
                                               {ctl_port_, "farside.v1.State"}};
  for (const auto& [port, service] : cases) {
    CommandResult r = RunCommand({"node", SourcePath("tests/node/reflection.js"), Loopback(port)},
                                 absl::Seconds(15));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(absl::StrContains(r.out, absl::StrCat(service, "\n"))) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "grpc.health.v1.Health")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "file farside/v1/")) << r.out;
  }
}

TEST_F(StackTest, ControllerHealthFollowsRedisWithoutCrashing) {
  ASSERT_EQ(OurHealth(ctl_port_), HealthCheckResponse::SERVING);
  ASSERT_EQ(redis_->Stop(), 0);
  EXPECT_TRUE(WaitFor([&] { return OurHealth(ctl_port_) == HealthCheckResponse::NOT_SERVING; },
                      absl::Seconds(10)));
  EXPECT_EQ(NodeHealth(ctl_port_), "NOT_SERVING");
  EXPECT_EQ(NodeHealth(ctl_port_, "farside.v1.State"), "NOT_SERVING");
  EXPECT_EQ(HttpGet(ctl_metrics_, "/readyz").status, 503);
  // Scanning goes on while Redis is away; the record waits in the scanner.
  EXPECT_EQ(Cli({"scan", SourcePath("tests/data/gtube.eml")}).exit_code, 1);
  CommandResult stats = Cli({"stats"});
  EXPECT_EQ(stats.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(stats.err, "is unavailable: redis")) << stats.err;

  redis_ = RedisServer::Start(redis_port_, dir_);
  ASSERT_NE(redis_, nullptr);
  EXPECT_TRUE(WaitFor([&] { return OurHealth(ctl_port_) == HealthCheckResponse::SERVING; },
                      absl::Seconds(10)));
  EXPECT_EQ(NodeHealth(ctl_port_), "SERVING");
  EXPECT_EQ(HttpGet(ctl_metrics_, "/readyz").status, 200);
  EXPECT_TRUE(controller_->Running());
  // The record kept during the outage arrives once Redis is back.
  EXPECT_TRUE(WaitFor(
      [&] { return absl::StrContains(Cli({"stats"}).out, "reject           1"); },
      absl::Seconds(10)));
}

TEST_F(StackTest, ProxyReadinessFollowsItsScanners) {
  EXPECT_EQ(HttpGet(proxy_metrics_, "/readyz").status, 200);
  EXPECT_EQ(scanners_[0]->Stop(), 0);
  EXPECT_EQ(HttpGet(proxy_metrics_, "/readyz").status, 200) << "one scanner is left";
  EXPECT_EQ(scanners_[1]->Stop(), 0);
  EXPECT_TRUE(WaitFor([&] { return HttpGet(proxy_metrics_, "/readyz").status == 503; },
                      absl::Seconds(10)));
  EXPECT_TRUE(absl::StrContains(HttpGet(proxy_metrics_, "/readyz").body, "none of 2 scanners"));
  CommandResult r = Cli({"scan", SourcePath("tests/data/plain.eml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "cannot reach the scanner at")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line, not a gRPC dump";
}

TEST_F(StackTest, ScannerWithoutControllerStillScansAndSaysWhatWasSkipped) {
  ASSERT_EQ(controller_->Stop(), 0);
  CommandResult r = Cli({"scan", SourcePath("tests/data/gtube.eml")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "action: reject")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "skipped: controller")) << r.out;
}

TEST_F(StackTest, SigtermStopsEveryServiceWithExitZero) {
  EXPECT_EQ(proxy_->Stop(absl::Seconds(15)), 0);
  EXPECT_EQ(scanners_[0]->Stop(absl::Seconds(15)), 0);
  EXPECT_EQ(scanners_[1]->Stop(absl::Seconds(15)), 0);
  EXPECT_EQ(controller_->Stop(absl::Seconds(15)), 0);
}

}  // namespace
}  // namespace farside::testing
