// Shared state end to end: a real redis-server, the controller, a scanner and the proxy's
// SMTP front end in front of smtp-sink, driven by swaks: greylisting as a sending MTA sees
// it, and what a Redis restart under load does to scans.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
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
           "    header: {name: Subject, pattern: 'in doubt'}\n";
    std::ofstream(dir_ + "/farside.yaml")
        << "scanner:\n  greylist:\n    delay: 4s\n    expiry: 1h\n    allow: [allowed.test]\n";
    redis_ = RedisServer::Start(redis_port_, dir_);
    ASSERT_NE(redis_, nullptr);
    group_.Add(Process::Start("controller",
                              {Binary("farside-controller"), "--listen", Loopback(ctl_port_),
                               "--metrics", Loopback(ctl_metrics_), "--redis", Loopback(redis_port_)},
                              dir_));
    group_.Add(Process::Start(
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

}  // namespace
}  // namespace farside::testing
