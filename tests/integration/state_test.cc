// Shared state end to end: a real redis-server, the controller, a scanner and the proxy's
// SMTP front end in front of smtp-sink, driven by swaks: greylisting as a sending MTA sees
// it, and what a Redis restart under load does to scans.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "farside/v1/scanner.grpc.pb.h"
#include "gtest/gtest.h"
#include "lib/rpc/health_client.h"
#include "tests/integration/harness.h"
#include "tests/integration/mta.h"

namespace farside::testing {
namespace {

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("state");
    redis_port_ = FreePort();
    ctl_port_ = FreePort();
    ctl_metrics_ = FreePort();
    scan_port_ = FreePort();
    scan_metrics_ = FreePort();
    smtp_port_ = FreePort();
    proxy_metrics_ = FreePort();
    // One rule puts a message in the greylist band (score 5: above greylist 4, below
    // add_header 6), so the test decides which mail is in doubt.
    std::filesystem::create_directories(dir_ + "/rules");
    std::ofstream(dir_ + "/rules/band.yaml")
        << "rules:\n  - name: TEST_IN_DOUBT\n    score: 5\n    description: test rule\n"
           "    header: {name: Subject, pattern: 'in doubt'}\n"
           "  - name: TEST_SURE_SPAM\n    score: 10\n    description: test rule\n"
           "    header: {name: Subject, pattern: 'sure spam'}\n";
    std::ofstream(dir_ + "/farside.yaml")
        << "scanner:\n  greylist:\n    delay: 4s\n    expiry: 1h\n    allow: [allowed.test]\n";
    redis_ = RedisServer::Start(redis_port_, dir_);
    ASSERT_NE(redis_, nullptr);
    controller_ = group_.Add(Process::Start("controller",
                              {Binary("farside-controller"), "--listen", Loopback(ctl_port_),
                               "--metrics", Loopback(ctl_metrics_), "--redis", Loopback(redis_port_)},
                              dir_));
    scanner_ = group_.Add(Process::Start(
        "scanner",
        {Binary("farside-scanner"), "--config", dir_ + "/farside.yaml", "--listen",
         Loopback(scan_port_), "--metrics", Loopback(scan_metrics_), "--controller",
         Loopback(ctl_port_), "--rules_dir", dir_ + "/rules"},
        dir_));
    sink_ = Sink::Start(dir_);
    ASSERT_NE(sink_, nullptr);
    group_.Add(Process::Start(
        "proxy",
        {Binary("farside-proxy"), "--listen", Loopback(FreePort()), "--smtp_listen",
         Loopback(smtp_port_), "--metrics", Loopback(proxy_metrics_), "--scanners",
         Loopback(scan_port_), "--smtp_downstream", Loopback(sink_->port())},
        dir_));
    for (int port : {ctl_metrics_, scan_metrics_, proxy_metrics_}) {
      ASSERT_TRUE(WaitFor([&] { return HttpGet(port, "/readyz").status == 200; }, absl::Seconds(30)))
          << "not ready on metrics port " << port;
    }
  }

  void TearDown() override {
    if (HasFailure() && redis_) std::fprintf(stderr, "----- redis log -----\n%s\n", redis_->Log().c_str());
  }

  // One delivery attempt through the proxy's SMTP front end, as a sending MTA makes it.
  CommandResult Send(const std::string& from, const std::string& subject, const std::string& body) {
    return Swaks({"--server", Loopback(smtp_port_), "--from", from, "--to", "bob@dest.test",
                  "--header", "Subject: " + subject, "--body", body});
  }

  std::string dir_;
  int redis_port_, ctl_port_, ctl_metrics_, scan_port_, scan_metrics_, smtp_port_, proxy_metrics_;
  std::unique_ptr<Process> redis_;
  ProcessGroup group_;
  Process* controller_ = nullptr;
  Process* scanner_ = nullptr;
  std::unique_ptr<Sink> sink_;
};

TEST_F(StateTest, GreylistingTempfailsFirstTryAndEarlyRetryAndAcceptsARetryAfterTheDelay) {
  const absl::Time first = absl::Now();
  CommandResult r1 = Send("alice@sender.test", "a message in doubt", "Hello there.");
  EXPECT_EQ(r1.exit_code, 26) << "tempfailed after DATA\n" << r1.out;
  EXPECT_TRUE(absl::StrContains(r1.out, "<** 451 4.7.1")) << r1.out;

  // A retry well before the delay (4 s) is still a retry too early.
  CommandResult r2 = Send("alice@sender.test", "a message in doubt", "Hello there.");
  ASSERT_LT(absl::Now() - first, absl::Seconds(3)) << "the machine is too slow for this delay";
  EXPECT_EQ(r2.exit_code, 26) << r2.out;
  EXPECT_TRUE(absl::StrContains(r2.out, "<** 451 4.7.1")) << r2.out;
  EXPECT_EQ(sink_->Count(), 0);

  // Mail that is not in doubt is never greylisted; nor is an allowed sender's.
  CommandResult clean = Send("carol@sender.test", "lunch", "At noon?");
  EXPECT_EQ(clean.exit_code, 0) << clean.out;
  CommandResult allowed = Send("dave@mail.allowed.test", "a message in doubt", "Hi.");
  EXPECT_EQ(allowed.exit_code, 0) << allowed.out;
  ASSERT_TRUE(sink_->WaitForCount(2, absl::Seconds(20)));

  // After the delay the same triplet passes.
  absl::SleepFor(first + absl::Milliseconds(4500) - absl::Now());
  CommandResult r3 = Send("alice@sender.test", "a message in doubt", "Hello there.");
  EXPECT_EQ(r3.exit_code, 0) << r3.out;
  ASSERT_TRUE(sink_->WaitForCount(3, absl::Seconds(20)));
  bool passed = false;
  for (const std::string& m : sink_->Messages()) {
    if (absl::StrContains(m, "From: alice@sender.test")) passed = absl::StrContains(m, "GREYLIST_PASSED");
  }
  EXPECT_TRUE(passed) << "the passed message names GREYLIST_PASSED in its headers";

  // The same body under another triplet passes at once (the body entry): a bulk sender's
  // retry may come from another machine of its pool, under another bounce address.
  CommandResult other = Send("alice+2@sender.test", "a message in doubt", "Hello there.");
  EXPECT_EQ(other.exit_code, 0) << other.out;
}

TEST_F(StateTest, AutolearnLearnsClearVerdictsOnceAndKeepsTokensOutOfHistory) {
  // A second scanner that autolearns: spam from score 5 (the test rule), ham at 0.1 or less.
  std::ofstream(dir_ + "/autolearn.yaml")
      << "scanner:\n  bayes:\n    autolearn: true\n    autolearn_spam_score: 5\n";
  const int port = FreePort(), metrics = FreePort();
  group_.Add(Process::Start("scanner-autolearn",
                            {Binary("farside-scanner"), "--config", dir_ + "/autolearn.yaml", "--listen",
                             Loopback(port), "--metrics", Loopback(metrics), "--controller",
                             Loopback(ctl_port_), "--rules_dir", dir_ + "/rules"},
                            dir_));
  ASSERT_TRUE(WaitFor([&] { return HttpGet(metrics, "/readyz").status == 200; }, absl::Seconds(30)));
  const std::string spam = dir_ + "/doubt.eml", ham = dir_ + "/plain.eml";
  std::ofstream(spam) << "From: a@b.test\r\nSubject: in doubt\r\n\r\nWin a prize today.\r\n";
  std::ofstream(ham) << "From: c@d.test\r\nSubject: lunch\r\n\r\nAt noon, by the river?\r\n";
  // The spam twice: its digest is learned once.
  CommandResult r = RunCommand({Binary("farside"), "--scanner", Loopback(port), "scan", spam, spam, ham},
                               absl::Seconds(30));
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << "1: not every verdict was accept\n" << r.out << r.err;
  auto learned = [&](const char* cls) {
    CommandResult c = RunCommand({"redis-cli", "-p", std::to_string(redis_port_), "HGET",
                                  "farside:bayes:learned", cls});
    return std::string(absl::StripAsciiWhitespace(c.out));
  };
  ASSERT_TRUE(WaitFor([&] { return learned("spam") == "1" && learned("ham") == "1"; }, absl::Seconds(10)))
      << "spam " << learned("spam") << ", ham " << learned("ham");
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(learned("spam"), "1") << "the same message again is not counted twice";
  CommandResult fields = RunCommand({"redis-cli", "-p", std::to_string(redis_port_), "HLEN", "farside:bayes:spam"});
  int n = 0;
  EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(fields.out), &n) && n > 5) << fields.out;
  // History keeps the scans, not their tokens.
  CommandResult h = RunCommand({"redis-cli", "-p", std::to_string(redis_port_), "LINDEX", "farside:history", "0"});
  EXPECT_LT(h.out.size(), 400u) << "a record without its tokens is small";
}

TEST_F(StateTest, ReputationFollowsPastVerdictsOfTheClientSenderDomainAndLinks) {
  const std::string spam = dir_ + "/rep-spam.eml", probe = dir_ + "/rep-probe.eml";
  std::ofstream(spam) << "From: x@bad.test\r\nSubject: sure spam\r\n\r\nSee http://www.spamsite.example.net/buy now.\r\n";
  std::ofstream(probe) << "From: x@bad.test\r\nSubject: hello\r\n\r\nSee http://shop.spamsite.example.net/ again.\r\n";
  auto scan = [&](const std::string& file, const std::string& ip, const std::string& from) {
    return RunCommand({Binary("farside"), "--scanner", Loopback(scan_port_), "--ip", ip, "--from", from,
                       "scan", file},
                      absl::Seconds(30));
  };
  // Without history: nothing (and this probe's own vote is for other names).
  CommandResult first = scan(probe, "203.0.113.9", "z@fresh.test");
  EXPECT_FALSE(absl::StrContains(first.out, "REP_IP") || absl::StrContains(first.out, "REP_FROM")) << first.out;
  for (int i = 0; i < 6; ++i) scan(spam, "192.0.2.66", "x@bad.test");
  // The votes ride with the records (flushed within record_flush_interval, 200 ms).
  absl::SleepFor(absl::Seconds(1));
  CommandResult r = scan(probe, "192.0.2.66", "x@bad.test");
  EXPECT_TRUE(absl::StrContains(r.out, "REP_FROM_DOMAIN_SPAM (1.50)")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "REP_URL_SPAM")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "symbol: REP_IP_SPAM (2.00)")) << "bounded by ip_max_score\n" << r.out;
  absl::SleepFor(absl::Seconds(1));
  // Another client and sender, the same link: only the link's reputation follows it.
  CommandResult other = scan(probe, "198.51.100.7", "y@good.test");
  EXPECT_TRUE(absl::StrContains(other.out, "REP_URL_SPAM")) << other.out;
  EXPECT_FALSE(absl::StrContains(other.out, "REP_IP_")) << other.out;
  EXPECT_FALSE(absl::StrContains(other.out, "REP_FROM_DOMAIN")) << other.out;
}

TEST_F(StateTest, ReputationDecaysWithTheHalfLife) {
  // A controller whose votes halve every second, and a scanner asking it.
  std::ofstream(dir_ + "/decay.yaml") << "controller:\n  reputation_half_life: 1s\n";
  const int c_port = FreePort(), c_metrics = FreePort(), s_port = FreePort(), s_metrics = FreePort();
  group_.Add(Process::Start("controller-decay",
                            {Binary("farside-controller"), "--config", dir_ + "/decay.yaml", "--listen",
                             Loopback(c_port), "--metrics", Loopback(c_metrics), "--redis", Loopback(redis_port_)},
                            dir_));
  group_.Add(Process::Start("scanner-decay",
                            {Binary("farside-scanner"), "--listen", Loopback(s_port), "--metrics",
                             Loopback(s_metrics), "--controller", Loopback(c_port), "--rules_dir", dir_ + "/rules"},
                            dir_));
  for (int m : {c_metrics, s_metrics}) {
    ASSERT_TRUE(WaitFor([&] { return HttpGet(m, "/readyz").status == 200; }, absl::Seconds(30)));
  }
  const std::string spam = dir_ + "/decay-spam.eml";
  std::ofstream(spam) << "From: x@decay.test\r\nSubject: sure spam\r\n\r\nBuy.\r\n";
  std::vector<std::string> args = {Binary("farside"), "--scanner", Loopback(s_port), "--ip", "192.0.2.99", "scan"};
  for (int i = 0; i < 12; ++i) args.push_back(spam);
  RunCommand(args, absl::Seconds(30));
  absl::SleepFor(absl::Milliseconds(500));  // the votes ride with the records
  CommandResult fresh = RunCommand({Binary("farside"), "--scanner", Loopback(s_port), "--ip", "192.0.2.99",
                                    "scan", spam}, absl::Seconds(30));
  EXPECT_TRUE(absl::StrContains(fresh.out, "REP_IP_SPAM")) << fresh.out;
  // Five half-lives later, twelve votes weigh less than the five an opinion needs.
  absl::SleepFor(absl::Seconds(5));
  CommandResult old = RunCommand({Binary("farside"), "--scanner", Loopback(s_port), "--ip", "192.0.2.99",
                                  "scan", spam}, absl::Seconds(30));
  EXPECT_FALSE(absl::StrContains(old.out, "REP_IP_SPAM")) << old.out;
}

// A message of `n` words drawn from `words`, different for each `seed`.
std::string Made(const std::vector<std::string>& words, int seed, const std::string& subject) {
  std::string body;
  uint32_t x = static_cast<uint32_t>(seed) * 2654435761u + 1;
  for (int i = 0; i < 60; ++i) {
    x = x * 1103515245u + 12345u;
    absl::StrAppend(&body, words[(x >> 8) % words.size()], i % 12 == 11 ? "\r\n" : " ");
  }
  return absl::StrCat("From: sender", seed, "@example.test\r\nTo: bob@dest.test\r\nSubject: ", subject,
                      "\r\nMessage-ID: <", seed, "@example.test>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\n",
                      body, " ", seed, "\r\n");
}

const std::vector<std::string> kSpamWords = {"viagra", "casino", "winner", "jackpot", "pills", "cheap",
                                             "bonus", "credit", "loan", "offer", "unsubscribe", "millions"};
const std::vector<std::string> kHamWords = {"meeting", "agenda", "minutes", "project", "review", "draft",
                                            "lunch", "thanks", "schedule", "budget", "report", "team"};

// Learns `n` made spam and `n` made ham through the fixture's controller.
void LearnThrough(const std::string& dir, int ctl_port, int n) {
  for (const char* cls : {"spam", "ham"}) {
    const std::string d = absl::StrCat(dir, "/learn-", cls);
    std::filesystem::create_directories(d);
    for (int i = 0; i < n; ++i) {
      std::ofstream(absl::StrCat(d, "/", i, ".eml"))
          << Made(cls == std::string("spam") ? kSpamWords : kHamWords, i, "note");
    }
    CommandResult l = RunCommand({Binary("farside"), "--controller", Loopback(ctl_port), "--timeout",
                                  "20s", "learn", cls, d, "--jobs", "4"},
                                 absl::Seconds(120));
    ASSERT_EQ(l.exit_code, 0) << l.out << l.err;
  }
}

bool Stateful(const farside::v1::ScanResult& r) {
  for (const auto& s : r.symbols()) {
    if (absl::StartsWith(s.name(), "BAYES_") || absl::StartsWith(s.name(), "GREYLIST_")) return true;
  }
  return false;
}

TEST_F(StateTest, RedisRestartedDuringATwoMinuteLoadRunFailsNoScanAndStateComesBackWithinFiveSeconds) {
  // Enough learned mail for Bayes to speak (200 of each class by default).
  ASSERT_NO_FATAL_FAILURE(LearnThrough(dir_, ctl_port_, 220));
  auto channel = rpc::MakeChannel(Loopback(scan_port_), 16 << 20);
  const absl::Duration run = absl::Seconds(120);
  const absl::Time start = absl::Now();
  std::atomic<bool> stop{false};
  std::atomic<int> scans{0}, failures{0};
  std::mutex mu;
  std::string first_failure;
  // (start time of the scan, whether shared state answered) for every scan.
  std::vector<std::pair<absl::Time, bool>> seen;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      auto stub = farside::v1::Scanner::NewStub(channel);
      for (int i = 0; !stop.load(); ++i) {
        farside::v1::ScanRequest req;
        // Spam "in doubt" lands in a header band, so greylisting answers too.
        req.set_message(i % 2 ? Made(kSpamWords, 100000 + c * 100000 + i, "in doubt")
                              : Made(kHamWords, 100000 + c * 100000 + i, "status"));
        req.mutable_envelope()->set_client_ip("192.0.2.9");
        req.mutable_envelope()->set_mail_from("load@example.test");
        req.mutable_envelope()->add_rcpt_to("bob@dest.test");
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        farside::v1::ScanResult res;
        const absl::Time t = absl::Now();
        grpc::Status st = stub->Scan(&ctx, req, &res);
        scans++;
        std::lock_guard<std::mutex> lock(mu);
        if (!st.ok()) {
          if (failures++ == 0) first_failure = st.error_message();
          continue;
        }
        seen.emplace_back(t, Stateful(res));
      }
    });
  }
  // 40 s of normal load, Redis away for 10 s (saved and shut down, as a restart does), back.
  absl::SleepFor(absl::Seconds(40));
  // Scans that began within a second of the shutdown may meet Redis going away.
  const absl::Time down_at = absl::Now() - absl::Seconds(1);
  CommandResult down = RunCommand({"redis-cli", "-p", std::to_string(redis_port_), "shutdown", "save"});
  redis_->Stop();
  absl::SleepFor(absl::Seconds(10));
  redis_ = RedisServer::Start(redis_port_, dir_);
  ASSERT_NE(redis_, nullptr);
  const absl::Time back_at = absl::Now();
  absl::SleepFor(start + run - absl::Now());
  stop = true;
  for (auto& t : clients) t.join();

  int before = 0, before_stateful = 0, outage = 0, outage_stateful = 0, after5 = 0, after5_stateful = 0;
  absl::Time first_back = absl::InfiniteFuture();
  for (const auto& [t, stateful] : seen) {
    if (t < down_at) {
      ++before;
      before_stateful += stateful;
    } else if (t < back_at) {
      ++outage;
      outage_stateful += stateful;
    } else {
      if (stateful) first_back = std::min(first_back, t);
      if (t >= back_at + absl::Seconds(5)) {
        ++after5;
        after5_stateful += stateful;
      }
    }
  }
  std::printf("redis restart: %d scans in %.0f s, %d failed; before %d/%d stateful, during the outage "
              "%d/%d, from 5 s after Redis was back %d/%d; first stateful answer %.2f s after Redis was back\n",
              scans.load(), absl::ToDoubleSeconds(run), failures.load(), before_stateful, before,
              outage_stateful, outage, after5_stateful, after5,
              absl::ToDoubleSeconds(first_back - back_at));
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_EQ(down.exit_code, 0) << down.out << down.err;
  EXPECT_GT(before, 100);
  EXPECT_EQ(before_stateful, before) << "every scan had Bayes or greylisting answers with Redis up";
  EXPECT_GT(outage, 0);
  EXPECT_LT(outage_stateful, outage) << "Redis away: the answers stop";
  EXPECT_LE(first_back - back_at, absl::Seconds(5));
  EXPECT_GT(after5, 100);
  EXPECT_EQ(after5_stateful, after5) << "from 5 s after Redis was back, every scan had them again";
  for (Process* p : {controller_, scanner_}) EXPECT_TRUE(p->Running()) << p->name() << " died";
}

TEST_F(StateTest, AControllerSeesTokensLearnedThroughAnotherWithinSeconds) {
  // Controller B starts first, while Redis has no tokens, so its known-token set is empty.
  const int b_port = FreePort(), b_metrics = FreePort(), s_port = FreePort(), s_metrics = FreePort();
  Process* b = group_.Add(Process::Start("controller-b",
                                         {Binary("farside-controller"), "--listen", Loopback(b_port),
                                          "--metrics", Loopback(b_metrics), "--redis", Loopback(redis_port_)},
                                         dir_));
  group_.Add(Process::Start("scanner-b",
                            {Binary("farside-scanner"), "--listen", Loopback(s_port), "--metrics",
                             Loopback(s_metrics), "--controller", Loopback(b_port), "--rules_dir",
                             dir_ + "/rules"},
                            dir_));
  for (int m : {b_metrics, s_metrics}) {
    ASSERT_TRUE(WaitFor([&] { return HttpGet(m, "/readyz").status == 200; }, absl::Seconds(30)));
  }
  // Learned through controller A.
  ASSERT_NO_FATAL_FAILURE(LearnThrough(dir_, ctl_port_, 210));
  const std::string msg = dir_ + "/probe.eml";
  std::ofstream(msg) << Made(kSpamWords, 999999, "probe");
  const absl::Time learned = absl::Now();
  CommandResult r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = RunCommand({Binary("farside"), "--scanner", Loopback(s_port), "scan", msg}, absl::Seconds(20));
        return absl::StrContains(r.out, "symbol: BAYES_SPAM");
      },
      absl::Seconds(10)))
      << r.out;
  std::printf("known tokens: controller B classified with A's learning %.2f s after it\n",
              absl::ToDoubleSeconds(absl::Now() - learned));
  EXPECT_TRUE(b->Running());
}

TEST_F(StateTest, ExpiryDropsTokensOfOneMessageOnlyOnceRedisHoldsTooMany) {
  // A controller that allows 8 token fields and re-reads the tokens every second.
  std::ofstream(dir_ + "/expiry.yaml")
      << "controller:\n  bayes_known_refresh: 1s\n  bayes_max_stored_tokens: 8\n";
  const int port = FreePort(), metrics = FreePort();
  group_.Add(Process::Start("controller-expiry",
                            {Binary("farside-controller"), "--config", dir_ + "/expiry.yaml", "--listen",
                             Loopback(port), "--metrics", Loopback(metrics), "--redis", Loopback(redis_port_)},
                            dir_));
  ASSERT_TRUE(WaitFor([&] { return HttpGet(metrics, "/readyz").status == 200; }, absl::Seconds(30)));
  // Two messages sharing their text; each has words of its own.
  const std::string d = dir_ + "/expiry";
  std::filesystem::create_directories(d);
  std::ofstream(d + "/1.eml") << "Subject: offer\r\n\r\ncheap pills today alpha\r\n";
  std::ofstream(d + "/2.eml") << "Subject: offer\r\n\r\ncheap pills today omega\r\n";
  CommandResult l = RunCommand({Binary("farside"), "--controller", Loopback(port), "learn", "spam", d});
  ASSERT_EQ(l.exit_code, 0) << l.out << l.err;
  auto redis = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"redis-cli", "-p", std::to_string(redis_port_)});
    return RunCommand(args).out;
  };
  const std::string before = redis({"HLEN", "farside:bayes:spam"});
  std::string vals;
  ASSERT_TRUE(WaitFor(
      [&] {
        vals = redis({"HVALS", "farside:bayes:spam"});
        return !vals.empty() && !absl::StrContains(vals, "1\n");
      },
      absl::Seconds(10)))
      << "still single-message tokens: " << vals;
  const std::string after = redis({"HLEN", "farside:bayes:spam"});
  std::printf("expiry: %s -> %s token fields\n", std::string(absl::StripAsciiWhitespace(before)).c_str(),
              std::string(absl::StripAsciiWhitespace(after)).c_str());
  int n_before = 0, n_after = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(before), &n_before));
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(after), &n_after));
  EXPECT_GT(n_before, 8);
  EXPECT_GT(n_after, 0) << "what both messages had stays";
  EXPECT_LT(n_after, n_before);
}

}  // namespace
}  // namespace farside::testing
