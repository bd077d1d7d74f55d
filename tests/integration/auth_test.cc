// Issue 7 end to end: the proxy's SMTP front end in front of smtp-sink, the scanner with a
// real clamd and a real dnsmasq serving the test zones, driven by swaks. A virus in an
// attachment is rejected; clean mail arrives with Authentication-Results; clamd away follows
// the fail policy.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/integration/mta.h"
#include "tests/support/clamd.h"
#include "tests/support/dnsmasq.h"

namespace farside::testing {
namespace {

class AuthTest : public ::testing::Test {
 protected:
  void Start(const std::string& antivirus_extra) {
    dir_ = TempDir("auth");
    clamd_ = std::make_unique<Clamd>(dir_ + "/clamd");
    ASSERT_TRUE(clamd_->ready()) << "clamd (Debian's clamav-daemon) did not start";
    dns_ = std::make_unique<Dnsmasq>(std::vector<std::string>{
        "--local=/test/", "--host-record=ready.test,192.0.2.1",
        "--txt-record=sender.test,v=spf1 ip4:127.0.0.0/8 -all",
        "--txt-record=_dmarc.sender.test,v=DMARC1; p=reject"});
    ASSERT_TRUE(dns_->WaitReady("ready.test"));
    scan_port_ = FreePort();
    scan_metrics_ = FreePort();
    smtp_port_ = FreePort();
    proxy_metrics_ = FreePort();
    std::ofstream(dir_ + "/farside.yaml")
        << "scanner:\n"
           "  dns: {servers: [\"" << dns_->server() << "\"], message_budget: 1s}\n"
           "  auth_results: {authserv_id: mx.dest.test}\n"
           "  antivirus: {enabled: true, clamd: \"" << clamd_->tcp() << "\", scan: attachments"
        << antivirus_extra << "}\n";
    // No controller: the scans say so and go on, which is all this test needs of shared state.
    group_.Add(Process::Start("scanner",
                              {Binary("farside-scanner"), "--config", dir_ + "/farside.yaml", "--listen",
                               Loopback(scan_port_), "--metrics", Loopback(scan_metrics_), "--controller",
                               Loopback(FreePort())},
                              dir_));
    sink_ = Sink::Start(dir_);
    ASSERT_NE(sink_, nullptr);
    group_.Add(Process::Start("proxy",
                              {Binary("farside-proxy"), "--listen", Loopback(FreePort()), "--smtp_listen",
                               Loopback(smtp_port_), "--metrics", Loopback(proxy_metrics_), "--scanners",
                               Loopback(scan_port_), "--smtp_downstream", Loopback(sink_->port())},
                              dir_));
    for (int port : {scan_metrics_, proxy_metrics_}) {
      ASSERT_TRUE(WaitFor([&] { return HttpGet(port, "/readyz").status == 200; }, absl::Seconds(30)))
          << "not ready on metrics port " << port;
    }
  }

  CommandResult Send(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--server", Loopback(smtp_port_), "--from", "alice@sender.test",
                                     "--to", "bob@dest.test", "--header", "Subject: the report",
                                     "--h-From", "Alice <alice@sender.test>"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Swaks(args);
  }

  std::string dir_;
  int scan_port_, scan_metrics_, smtp_port_, proxy_metrics_;
  std::unique_ptr<Clamd> clamd_;
  std::unique_ptr<Dnsmasq> dns_;
  ProcessGroup group_;
  std::unique_ptr<Sink> sink_;
};

TEST_F(AuthTest, AVirusInAnAttachmentIsRejectedAndCleanMailGetsAuthenticationResults) {
  Start("");
  if (HasFatalFailure()) return;
  const std::string eicar = dir_ + "/invoice.com";
  std::ofstream(eicar, std::ios::binary) << EicarTestFile();
  CommandResult bad = Send({"--body", "See the attachment.", "--attach", eicar});
  EXPECT_TRUE(absl::StrContains(bad.out, "<** 550 5.7.1")) << bad.out;
  EXPECT_NE(bad.exit_code, 0);

  CommandResult good = Send({"--body", "No attachment today.", "--attach", dir_ + "/farside.yaml"});
  EXPECT_EQ(good.exit_code, 0) << good.out;
  ASSERT_TRUE(sink_->WaitForCount(1, absl::Seconds(20)));
  ASSERT_EQ(sink_->Messages().size(), 1u) << "the virus was not delivered";
  const std::string m = sink_->Messages()[0];
  EXPECT_TRUE(absl::StrContains(m, "Authentication-Results: mx.dest.test; spf=pass smtp.mailfrom=alice@sender.test; "
                                   "dkim=none; arc=none; dmarc=pass (p=reject dis=none) header.from=sender.test"))
      << m.substr(0, 2000);
}

TEST_F(AuthTest, ClamdAwayFollowsTheFailPolicy) {
  Start(", fail_action: soft_reject, timeout: 2s");
  if (HasFatalFailure()) return;
  clamd_->Stop();
  const std::string file = dir_ + "/notes.txt";
  std::ofstream(file) << "notes\n";
  CommandResult r = Send({"--body", "Notes attached.", "--attach", file});
  EXPECT_TRUE(absl::StrContains(r.out, "<** 451")) << r.out;
  // Mail without attachments has nothing for clamd, so it goes through.
  CommandResult plain = Send({"--body", "Just text."});
  EXPECT_EQ(plain.exit_code, 0) << plain.out;
  ASSERT_TRUE(sink_->WaitForCount(1, absl::Seconds(20)));
}

}  // namespace
}  // namespace farside::testing
