// The proxy with real MTAs: Debian's Postfix (smtpd_milters at the proxy) delivering to
// smtp-sink, swaks and smtp-source as clients, miltertest scripts, two real scanners, and
// the faults the proxy must survive without losing or mis-judging mail.
#include <signal.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/integration/mta.h"

namespace farside::testing {
namespace {

class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("proxy");
    for (int i = 0; i < 2; ++i) StartScanner(i);
    sink_ = Sink::Start(dir_);
    ASSERT_NE(sink_, nullptr);
    // A certificate for STARTTLS, made here.
    CommandResult cert = RunCommand(
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", dir_ + "/key.pem", "-out", dir_ + "/cert.pem", "-days", "2",
         "-subj", "/CN=proxy.gw.test"});
    ASSERT_EQ(cert.exit_code, 0) << cert.err;
    StartProxy(sink_->port());
  }

  void StartScanner(int i) {
    if (scan_ports_[i] == 0) {
      scan_ports_[i] = FreePort();
      scan_metrics_[i] = FreePort();
    }
    scanners_[i] = group_.Add(Process::Start(
        absl::StrCat("scanner", i),
        {Binary("farside-scanner"), "--listen", Loopback(scan_ports_[i]), "--metrics",
         Loopback(scan_metrics_[i]), "--name", absl::StrCat("scanner-", i), "--rules_dir",
         SourcePath("rules/default"), "--rules_cache_dir", dir_ + "/prefilters"},
        dir_));
    ASSERT_TRUE(WaitFor([&] { return HttpGet(scan_metrics_[i], "/readyz").status == 200; },
                        absl::Seconds(60)))
        << "scanner " << i << " not ready";
  }

  void StartProxy(int downstream) {
    if (milter_port_ == 0) {
      milter_port_ = FreePort();
      smtp_port_ = FreePort();
      proxy_metrics_ = FreePort();
    }
    proxy_ = group_.Add(Process::Start(
        "proxy",
        {Binary("farside-proxy"), "--listen", Loopback(milter_port_), "--smtp_listen",
         Loopback(smtp_port_), "--metrics", Loopback(proxy_metrics_), "--scanners",
         absl::StrCat(Loopback(scan_ports_[0]), ",", Loopback(scan_ports_[1])),
         "--smtp_downstream", Loopback(downstream), "--smtp_tls_cert", dir_ + "/cert.pem",
         "--smtp_tls_key", dir_ + "/key.pem"},
        dir_));
    ASSERT_TRUE(WaitFor([&] { return HttpGet(proxy_metrics_, "/readyz").status == 200; },
                        absl::Seconds(15)))
        << "proxy not ready";
    ASSERT_TRUE(WaitFor([&] { return TcpConnects(milter_port_); }, absl::Seconds(5)));
  }

  void StartMta() {
    mta_port_ = FreePort();
    postfix_ = Postfix::Start({.dir = dir_ + "/postfix",
                               .port = mta_port_,
                               .milter = absl::StrCat("inet:127.0.0.1:", milter_port_),
                               .next_hop = absl::StrCat("[127.0.0.1]:", sink_->port()),
                               .proxy_filter = "",
                               .extra = {}});
    ASSERT_NE(postfix_, nullptr);
  }

  void TearDown() override {
    if (HasFailure() && postfix_) {
      std::string log = postfix_->Log();
      if (log.size() > 20000) log = log.substr(log.size() - 20000);
      std::fprintf(stderr, "----- postfix maillog (tail) -----\n%s\n", log.c_str());
    }
  }

  CommandResult Send(const std::string& subject, const std::string& body, int port = 0,
                     std::vector<std::string> more = {}) {
    std::vector<std::string> a = {"--server", Loopback(port ? port : mta_port_), "--from",
                                  "alice@sender.test", "--to", "bob@dest.test", "--header",
                                  "Subject: " + subject, "--body", body};
    a.insert(a.end(), more.begin(), more.end());
    return Swaks(a);
  }

  // Bytes (a printf format) sent raw to the SMTP front end; what it answered.
  std::string Raw(const std::string& printf_format) {
    CommandResult c = RunCommand(
        {"bash", "-c",
         // The reader runs beside the writer, and a closed socket does not kill the
         // writer: the proxy may hang up before the last bytes are sent.
         absl::StrCat("trap '' PIPE; exec 3<>/dev/tcp/127.0.0.1/", smtp_port_,
                      "; (timeout 3 cat <&3) & printf \"$1\" >&3 2>/dev/null; wait; exit 0"),
         "_", printf_format},
        absl::Seconds(15));
    return c.out;
  }

  // smtp-source: n messages at concurrency c through Postfix.
  CommandResult Load(int n, int c, absl::Duration timeout) {
    return RunCommand({"/usr/sbin/smtp-source", "-s", std::to_string(c), "-m", std::to_string(n),
                       "-l", "2048", "-M", "load.test", "-f", "load@sender.test", "-t",
                       "rcpt@dest.test", Loopback(mta_port_)},
                      timeout);
  }

  double Metric(const std::string& line_prefix) {
    HttpResult m = HttpGet(proxy_metrics_, "/metrics");
    double total = 0;
    for (absl::string_view l : absl::StrSplit(m.body, '\n')) {
      if (absl::StartsWith(l, line_prefix)) {
        double v = 0;
        if (absl::SimpleAtod(l.substr(l.rfind(' ') + 1), &v)) total += v;
      }
    }
    return total;
  }

  // Every delivered message was scanned: it carries our verdict and no unscanned mark.
  void ExpectAllScanned() {
    for (const std::string& m : sink_->Messages()) {
      ASSERT_TRUE(absl::StrContains(m, "X-Spam-Status: ")) << m.substr(0, 2000);
      ASSERT_FALSE(absl::StrContains(m, "X-Farside-Unscanned")) << m.substr(0, 2000);
    }
  }

  std::string dir_;
  int scan_ports_[2] = {0, 0}, scan_metrics_[2] = {0, 0};
  int milter_port_ = 0, smtp_port_ = 0, proxy_metrics_ = 0, mta_port_ = 0;
  ProcessGroup group_;
  Process* scanners_[2] = {nullptr, nullptr};
  Process* proxy_ = nullptr;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<Postfix> postfix_;
};

TEST_F(ProxyTest, PostfixRejectsGtubeWithOurTextAndDeliversCleanMailWithOurHeaders) {
  StartMta();
  CommandResult clean = Send("hello", "Just a short note.");
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  CommandResult spam = Send("test", Gtube());
  EXPECT_EQ(spam.exit_code, 26) << "refused after DATA\n" << spam.out;
  EXPECT_TRUE(absl::StrContains(spam.out, "<** 550 5.7.1 Message rejected as spam")) << spam.out;

  ASSERT_TRUE(sink_->WaitForCount(1, absl::Seconds(30))) << "the clean message never arrived";
  std::vector<std::string> got = sink_->Messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(absl::StrContains(got[0], "Subject: hello")) << got[0];
  EXPECT_TRUE(absl::StrContains(got[0], "\nX-Spam-Status: No, score=")) << got[0];
  EXPECT_TRUE(absl::StrContains(got[0], "\nX-Spam-Score: ")) << got[0];
  EXPECT_EQ(postfix_->CountInLog("milter-reject: END-OF-MESSAGE"), 1) << postfix_->Log();
  EXPECT_EQ(Metric("farside_proxy_messages_total{front=\"milter\",verdict=\"reject\"}"), 1);
}

TEST_F(ProxyTest, PostfixAppliesHeaderChangesToSpamBelowReject) {
  StartMta();
  // GTUBE in the subject only scores (rules/default has no forced reject for it there)?
  // Use forged scanner headers instead: they are removed from delivered mail.
  CommandResult r = Swaks({"--server", Loopback(mta_port_), "--from", "alice@sender.test",
                           "--to", "bob@dest.test", "--header", "Subject: forged",
                           "--add-header", "X-Spam-Flag: NO", "--add-header",
                           "X-Farside-Unscanned: trust me", "--body", "hi"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(sink_->WaitForCount(1, absl::Seconds(30)));
  std::string m = sink_->Messages()[0];
  EXPECT_FALSE(absl::StrContains(m, "X-Spam-Flag: NO")) << m;
  EXPECT_FALSE(absl::StrContains(m, "trust me")) << m;
  EXPECT_TRUE(absl::StrContains(m, "X-Spam-Status: No")) << m;
}

TEST_F(ProxyTest, MiltertestScriptsPass) {
  if (FindProgram("miltertest").empty()) GTEST_FAIL() << MissingPeer("miltertest");
  const std::string dir = SourcePath("tests/integration/milter");
  for (const char* script : {"negotiation", "header_changes", "several_messages"}) {
    CommandResult r = RunCommand({"miltertest", "-D", absl::StrCat("port=", milter_port_), "-D",
                                  "dir=" + dir, "-s", absl::StrCat(dir, "/", script, ".lua")},
                                 absl::Seconds(60));
    EXPECT_EQ(r.exit_code, 0) << script << ":\n" << r.out << r.err;
    EXPECT_TRUE(absl::StrContains(r.out, "OK: ")) << script << ":\n" << r.out;
  }
}

TEST_F(ProxyTest, MalformedMilterInputIsDroppedAndTheProxyCarriesOn) {
  // A 4 GiB frame length, an unknown command after negotiation, and a frame cut short
  // (printf formats, since arguments cannot carry NUL bytes).
  for (const char* junk : {"\\xff\\xff\\xff\\xffO",
                           "\\x00\\x00\\x00\\x0dO\\x00\\x00\\x00\\x06\\x00\\x00\\x01\\xff"
                           "\\x00\\x1f\\xff\\xff\\x00\\x00\\x00\\x01Z",
                           "\\x00\\x00\\x00\\x0dO\\x00\\x00"}) {
    CommandResult c = RunCommand(
        {"bash", "-c",
         absl::StrCat("trap '' PIPE; exec 3<>/dev/tcp/127.0.0.1/", milter_port_,
                      "; (timeout 2 cat <&3 >/dev/null) & printf \"$1\" >&3 2>/dev/null; wait; exit 0"),
         "_", junk},
        absl::Seconds(10));
    EXPECT_EQ(c.exit_code, 0) << c.err;
  }
  EXPECT_TRUE(proxy_->Running());
  EXPECT_GE(Metric("farside_proxy_protocol_errors_total"), 2);
  // And it still serves.
  CommandResult r = RunCommand({"miltertest", "-D", absl::StrCat("port=", milter_port_), "-D",
                                "dir=" + SourcePath("tests/integration/milter"), "-s",
                                SourcePath("tests/integration/milter/header_changes.lua")},
                               absl::Seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST_F(ProxyTest, WithEveryScannerStoppedMailIsTempfailedAndNothingPassesUnscanned) {
  StartMta();
  scanners_[0]->Stop();
  scanners_[1]->Stop();
  CommandResult r = Send("while down", "nobody is scanning");
  EXPECT_EQ(r.exit_code, 26) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "<** 451 4.3.0")) << r.out;
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(sink_->Count(), 0);
  EXPECT_GE(Metric("farside_proxy_fail_policy_total"), 1);
  // Scanners back: mail flows again.
  StartScanner(0);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(proxy_metrics_, "/readyz").status == 200; },
                      absl::Seconds(10)));
  EXPECT_EQ(Send("back", "scanning again").exit_code, 0);
  EXPECT_TRUE(sink_->WaitForCount(1, absl::Seconds(30)));
}

TEST_F(ProxyTest, OneOfTwoScannersKilledDuringALoadRunLosesNothing) {
  StartMta();
  const int n = 2000;
  std::thread killer([&] {
    sink_->WaitForCount(300, absl::Seconds(60));
    kill(scanners_[0]->pid(), SIGKILL);  // in the middle of calls, not a clean drain
  });
  CommandResult load = Load(n, 20, absl::Seconds(240));
  killer.join();
  EXPECT_EQ(load.exit_code, 0) << load.out << load.err;
  EXPECT_TRUE(sink_->WaitForCount(n, absl::Seconds(120))) << sink_->Count() << " of " << n;
  EXPECT_EQ(sink_->Count(), n);
  ExpectAllScanned();
  EXPECT_EQ(Metric("farside_proxy_fail_policy_total"), 0) << "the retry took every failed call";
}

TEST_F(ProxyTest, AProxyRestartDuringALoadRunLosesNothingThatWasAcknowledged) {
  StartMta();
  std::thread restart([&] {
    sink_->WaitForCount(300, absl::Seconds(60));
    proxy_->Stop();
    StartProxy(sink_->port());
  });
  // smtp-source gives up on the first refused message, so the run is not expected to end
  // well; what Postfix acknowledged (queued) must all arrive, scanned.
  Load(3000, 20, absl::Seconds(240));
  restart.join();
  ASSERT_TRUE(WaitFor([&] { return postfix_->QueueEmpty(); }, absl::Seconds(120)));
  const int queued = postfix_->CountInLog("(queue active)");
  EXPECT_GE(queued, 300);
  EXPECT_TRUE(sink_->WaitForCount(queued, absl::Seconds(60)));
  EXPECT_EQ(sink_->Count(), queued) << "every acknowledged message is delivered once";
  ExpectAllScanned();
}

TEST_F(ProxyTest, SmtpFrontEndPipelinesStartsTlsAndAnswersOnlyAfterTheScan) {
  CommandResult clean = Send("over tls", "A short note.", smtp_port_, {"--pipeline", "-tls"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_TRUE(absl::StrContains(clean.out, "TLS started")) << clean.out;
  EXPECT_TRUE(absl::StrContains(clean.out, "PIPELINING")) << clean.out;
  CommandResult spam = Send("spam", Gtube(), smtp_port_, {"--pipeline", "-tls"});
  EXPECT_EQ(spam.exit_code, 26) << spam.out;
  EXPECT_TRUE(absl::StrContains(spam.out, "550 5.7.1 Message rejected as spam")) << spam.out;
  ASSERT_TRUE(sink_->WaitForCount(1, absl::Seconds(20)));
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_EQ(sink_->Count(), 1) << "the spam never reached the downstream server";
  std::string m = sink_->Messages()[0];
  EXPECT_TRUE(absl::StrContains(m, "Subject: over tls")) << m;
  EXPECT_TRUE(absl::StrContains(m, "X-Spam-Status: No, score=")) << m;
  EXPECT_EQ(Metric("farside_proxy_messages_total{front=\"smtp\",verdict=\"reject\"}"), 1);
}

TEST_F(ProxyTest, SmtpFrontEndBehindPostfixSmtpdProxyFilter) {
  // Postfix's smtpd hands each message to the proxy before it queues it; the proxy's
  // downstream is Postfix's own reinjection smtpd, which relays to the sink.
  const int reinject = FreePort();
  proxy_->Stop();
  StartProxy(reinject);
  mta_port_ = FreePort();
  postfix_ = Postfix::Start({.dir = dir_ + "/postfix",
                             .port = mta_port_,
                             .milter = "",
                             .next_hop = absl::StrCat("[127.0.0.1]:", sink_->port()),
                             .proxy_filter = Loopback(smtp_port_),
                             .extra = {},
                             .reinject_port = reinject});
  ASSERT_NE(postfix_, nullptr);
  ASSERT_TRUE(WaitFor([&] { return TcpConnects(reinject); }, absl::Seconds(10)));
  CommandResult clean = Send("via proxy filter", "A short note.");
  EXPECT_EQ(clean.exit_code, 0) << clean.out;
  CommandResult spam = Send("spam via proxy filter", Gtube());
  EXPECT_EQ(spam.exit_code, 26) << spam.out;
  EXPECT_TRUE(absl::StrContains(spam.out, "550 5.7.1 Message rejected as spam")) << spam.out;
  ASSERT_TRUE(sink_->WaitForCount(1, absl::Seconds(30)));
  absl::SleepFor(absl::Seconds(1));
  ASSERT_EQ(sink_->Count(), 1);
  std::string m = sink_->Messages()[0];
  EXPECT_TRUE(absl::StrContains(m, "X-Spam-Status: No")) << m;
  EXPECT_EQ(Metric("farside_proxy_messages_total{front=\"smtp\""), 2);
}

TEST_F(ProxyTest, SmtpFrontEndRefusesWhatItCannotPassOn) {
  // Scanners gone: the fail policy (tempfail) answers at the end of DATA.
  scanners_[0]->Stop();
  scanners_[1]->Stop();
  CommandResult r = Send("no scanner", "hello", smtp_port_);
  EXPECT_EQ(r.exit_code, 26) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "451 4.3.0")) << r.out;
  // Downstream gone: MAIL is answered 451, since nothing can be passed on.
  StartScanner(0);
  proxy_->Stop();
  StartProxy(FreePort());
  CommandResult d = Send("no downstream", "hello", smtp_port_);
  EXPECT_EQ(d.exit_code, 23) << d.out;
  EXPECT_TRUE(absl::StrContains(d.out, "451 4.4.1")) << d.out;
  EXPECT_EQ(sink_->Count(), 0);
}

TEST_F(ProxyTest, MalformedSmtpInputGetsCleanErrors) {
  std::string longline = Raw(absl::StrCat("EHLO x\\r\\n", std::string(100000, 'A'), "\\r\\nNOOP\\r\\nQUIT\\r\\n"));
  EXPECT_TRUE(absl::StrContains(longline, "500 5.5.2 Line too long")) << longline;
  EXPECT_TRUE(absl::StrContains(longline, "250 2.0.0 Ok")) << "NOOP after the long line: " << longline;
  std::string barelf = Raw("EHLO x\\nQUIT\\r\\n");
  EXPECT_TRUE(absl::StrContains(barelf, "bare LF")) << barelf;
  std::string junk = Raw("FOO\\r\\nBAR\\r\\nMAIL FROM:<a@b>\\r\\nRCPT TO:<x>\\r\\n"
                         "BAZ\\r\\nQ\\r\\nW\\r\\nE\\r\\nR\\r\\nT\\r\\nY\\r\\nU\\r\\nI\\r\\nO\\r\\n"
                         "P\\r\\nA\\r\\nS\\r\\nD\\r\\nF\\r\\nG\\r\\nH\\r\\nJ\\r\\nK\\r\\n");
  EXPECT_TRUE(absl::StrContains(junk, "500 5.5.2 Command not recognized")) << junk;
  EXPECT_TRUE(absl::StrContains(junk, "503 5.5.1 Say EHLO first")) << junk;
  EXPECT_TRUE(absl::StrContains(junk, "421 4.7.0")) << "hang up after 20 errors: " << junk;
  // A STARTTLS with commands pipelined behind it in the clear is cut off, not obeyed.
  std::string inject = Raw("EHLO x\\r\\nSTARTTLS\\r\\nMAIL FROM:<evil@x.test>\\r\\n");
  EXPECT_TRUE(absl::StrContains(inject, "220 2.0.0 Ready")) << inject;
  EXPECT_FALSE(absl::StrContains(inject, "2.1.0")) << inject;
  EXPECT_TRUE(proxy_->Running());
  EXPECT_EQ(Send("still fine", "hello", smtp_port_).exit_code, 0);
}

// smtp-source sends 20,000 messages at concurrency 50 through Postfix, the proxy and two
// scanners: every one is accounted for, delivered (scanned) or rejected.
class ProxyLoad : public ProxyTest {};

TEST_F(ProxyLoad, TwentyThousandMessagesThroughPostfixAreAllAccountedFor) {
  StartMta();
  const int n = 20000;
  const absl::Time start = absl::Now();
  CommandResult load = Load(n, 50, absl::Seconds(600));
  EXPECT_EQ(load.exit_code, 0) << load.out << load.err;
  EXPECT_TRUE(sink_->WaitForCount(n, absl::Seconds(300))) << sink_->Count() << " of " << n;
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  const double rejected =
      Metric("farside_proxy_messages_total{front=\"milter\",verdict=\"reject\"}");
  const int delivered = sink_->Count();
  std::printf("load: %d sent, %d delivered, %.0f rejected in %.1f s (%.0f msg/s end to end)\n", n,
              delivered, rejected, secs, n / secs);
  EXPECT_EQ(delivered + rejected, n);
  EXPECT_EQ(Metric("farside_proxy_messages_total{front=\"milter\""), n) << "one verdict each";
  EXPECT_EQ(Metric("farside_proxy_fail_policy_total"), 0);
  ExpectAllScanned();
}

}  // namespace
}  // namespace farside::testing
