// farside-proxy: the MTA-facing front end. Milter (Postfix smtpd_milters) and SMTP
// (before-queue proxy) listeners over the scanner pool, with health and metrics.
#include <cstdio>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "lib/common/host_port.h"
#include "lib/common/log.h"
#include "lib/common/shutdown.h"
#include "lib/common/startup.h"
#include "lib/telemetry/admin_server.h"
#include "lib/telemetry/metrics.h"
#include "services/proxy/milter_front.h"
#include "services/proxy/net.h"
#include "services/proxy/scan_client.h"
#include "services/proxy/scanner_pool.h"
#include "services/proxy/smtp_front.h"
#include "services/proxy/verdicts.h"

ABSL_FLAG(std::string, config, "", "YAML configuration file (default: built-in defaults)");
ABSL_FLAG(std::string, listen, "",
          "milter HOST:PORT (proxy.milter_listen, default 127.0.0.1:11432)");
ABSL_FLAG(std::string, smtp_listen, "",
          "SMTP HOST:PORT (proxy.smtp_listen, default 127.0.0.1:11425)");
ABSL_FLAG(std::string, smtp_downstream, "",
          "SMTP HOST:PORT that accepted mail goes to (proxy.smtp.downstream; unset: no SMTP front end)");
ABSL_FLAG(std::string, smtp_tls_cert, "", "PEM certificate chain for STARTTLS (proxy.smtp.tls_certificate)");
ABSL_FLAG(std::string, smtp_tls_key, "", "PEM private key for STARTTLS (proxy.smtp.tls_key)");
ABSL_FLAG(std::string, metrics, "",
          "HTTP HOST:PORT for /metrics, /healthz, /readyz (default 127.0.0.1:11532)");
ABSL_FLAG(std::string, scanners, "", "scanner pool: HOST:PORT[,HOST:PORT...]");
ABSL_FLAG(std::string, log_level, "", "debug, info, warning or error");

namespace {
int Fail(const absl::Status& s) { return farside::StartupFailed("farside-proxy", s); }
}  // namespace

int main(int argc, char** argv) {
  farside::BlockShutdownSignals();
  absl::SetProgramUsageMessage("Farside proxy: the MTA-facing front end (milter, SMTP)");
  absl::ParseCommandLine(argc, argv);

  absl::StatusOr<farside::v1::Config> cfg =
      farside::LoadServiceConfig("proxy", absl::GetFlag(FLAGS_config),
                                 {
                                     {"proxy.milter_listen", absl::GetFlag(FLAGS_listen)},
                                     {"proxy.smtp_listen", absl::GetFlag(FLAGS_smtp_listen)},
                                     {"proxy.metrics_listen", absl::GetFlag(FLAGS_metrics)},
                                     {"proxy.scanners", absl::GetFlag(FLAGS_scanners)},
                                     {"proxy.smtp.downstream", absl::GetFlag(FLAGS_smtp_downstream)},
                                     {"proxy.smtp.tls_certificate", absl::GetFlag(FLAGS_smtp_tls_cert)},
                                     {"proxy.smtp.tls_key", absl::GetFlag(FLAGS_smtp_tls_key)},
                                     {"logging.level", absl::GetFlag(FLAGS_log_level)},
                                 });
  if (!cfg.ok()) return Fail(cfg.status());
  const farside::v1::ProxyConfig& pc = cfg->proxy();
  for (const std::string& addr : {pc.milter_listen(), pc.smtp_listen()}) {
    if (absl::StatusOr<farside::HostPort> hp = farside::ParseHostPort(addr); !hp.ok()) {
      return Fail(hp.status());
    }
  }
  if (absl::Status st = farside::proxy::ValidateReplies(pc.replies()); !st.ok()) return Fail(st);
  if (absl::Status st = farside::proxy::SmtpFront::Validate(pc); !st.ok()) return Fail(st);
  SSL_CTX* tls = nullptr;
  if (!pc.smtp().tls_certificate().empty()) {
    absl::StatusOr<SSL_CTX*> ctx =
        farside::proxy::MakeServerTlsContext(pc.smtp().tls_certificate(), pc.smtp().tls_key());
    if (!ctx.ok()) return Fail(ctx.status());
    tls = *ctx;  // lives as long as the process
  }
  absl::StatusOr<farside::HostPort> metrics_addr = farside::ParseHostPort(pc.metrics_listen());
  if (!metrics_addr.ok()) return Fail(metrics_addr.status());

  farside::telemetry::ServiceMetrics metrics("proxy");
  absl::StatusOr<std::unique_ptr<farside::proxy::ScannerPool>> pool =
      farside::proxy::ScannerPool::Create({.targets = {pc.scanners().begin(), pc.scanners().end()},
                                           .health_interval = farside::ToAbsl(pc.health_interval()),
                                           .health_timeout = farside::ToAbsl(pc.health_timeout()),
                                           .resolve_interval = farside::ToAbsl(pc.scanner_resolve_interval()),
                                           .resolver = {}},
                                          &metrics);
  if (!pool.ok()) return Fail(pool.status());
  farside::proxy::ScannerPool* p = pool->get();

  absl::StatusOr<std::unique_ptr<farside::telemetry::AdminServer>> admin =
      farside::telemetry::AdminServer::Start({.listen = *metrics_addr,
                                              .registry = metrics.registry(),
                                              .ready = [p] { return p->Ready(); }});
  if (!admin.ok()) return Fail(admin.status());

  farside::proxy::ScanClient client(p, farside::ToAbsl(pc.scan_timeout()));
  farside::proxy::Verdicts verdicts(pc, &client, &metrics);
  farside::proxy::MilterFront milter(&verdicts);
  absl::StatusOr<std::unique_ptr<farside::proxy::Listener>> milter_listener =
      farside::proxy::Listener::Start(*farside::ParseHostPort(pc.milter_listen()),
                                      pc.max_connections(),
                                      [&](farside::proxy::Conn& c) { milter.Serve(c); }, "milter");
  if (!milter_listener.ok()) return Fail(milter_listener.status());
  farside::proxy::SmtpFront smtp(&verdicts, tls);
  std::unique_ptr<farside::proxy::Listener> smtp_listener;
  if (!pc.smtp().downstream().empty()) {
    absl::StatusOr<std::unique_ptr<farside::proxy::Listener>> l =
        farside::proxy::Listener::Start(*farside::ParseHostPort(pc.smtp_listen()),
                                        pc.max_connections(),
                                        [&](farside::proxy::Conn& c) { smtp.Serve(c); }, "smtp");
    if (!l.ok()) return Fail(l.status());
    smtp_listener = std::move(*l);
  }

  farside::log::Info("proxy ready", {{"metrics", metrics_addr->ToString()},
                                     {"scanners", absl::StrJoin(pc.scanners(), ",")},
                                     {"addresses", absl::StrJoin(p->Targets(), ",")},
                                     {"healthy", p->healthy()},
                                     {"milter", pc.milter_listen()},
                                     {"smtp", smtp_listener ? pc.smtp_listen() : "off (no proxy.smtp.downstream)"},
                                     {"downstream", pc.smtp().downstream()},
                                     {"starttls", tls != nullptr}});
  int sig = farside::WaitForShutdownSignal();
  farside::log::Info("draining", {{"signal", sig}});
  (*admin)->SetDraining();
  // Messages in flight finish; idle MTA connections are closed at the drain timeout.
  // Both drain at once: a client waiting on one front end is not held up by the other.
  std::thread smtp_drain([&] {
    if (smtp_listener) smtp_listener->Stop(farside::ToAbsl(pc.drain_timeout()));
  });
  (*milter_listener)->Stop(farside::ToAbsl(pc.drain_timeout()));
  smtp_drain.join();
  farside::log::Info("stopped");
  return 0;
}
