// farside-scanner: the stateless, CPU-bound service that scans messages (gRPC Scanner).
#include <cstdio>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "lib/common/host_port.h"
#include "lib/common/log.h"
#include "lib/common/shutdown.h"
#include "lib/common/startup.h"
#include "lib/rpc/server.h"
#include "lib/telemetry/admin_server.h"
#include "lib/telemetry/metrics.h"
#include "services/scanner/grpc_state_client.h"
#include "services/scanner/scan_service.h"
#include "services/scanner/scanner.h"

ABSL_FLAG(std::string, config, "", "YAML configuration file (default: built-in defaults)");
ABSL_FLAG(std::string, listen, "", "gRPC HOST:PORT (scanner.listen, default 127.0.0.1:11433)");
ABSL_FLAG(std::string, metrics, "",
          "HTTP HOST:PORT for /metrics, /healthz, /readyz (default 127.0.0.1:11533)");
ABSL_FLAG(std::string, controller, "", "controller HOST:PORT (default 127.0.0.1:11434)");
ABSL_FLAG(std::string, name, "", "name reported in results (default: host name)");
ABSL_FLAG(std::string, rules_dir, "", "rule directories, comma-separated (scanner.rules.dirs)");
ABSL_FLAG(std::string, spamassassin_rules, "",
          "SpamAssassin .cf directories to import, comma-separated (scanner.rules.spamassassin_dirs)");
ABSL_FLAG(std::string, rules_cache_dir, "",
          "where compiled prefilters are kept (scanner.rules.cache_dir, default /var/cache/farside)");
ABSL_FLAG(std::string, log_level, "", "debug, info, warning or error");

namespace {
int Fail(const absl::Status& s) { return farside::StartupFailed("farside-scanner", s); }
}  // namespace

int main(int argc, char** argv) {
  farside::BlockShutdownSignals();
  absl::SetProgramUsageMessage("Farside scanner: scans messages over gRPC (farside.v1.Scanner)");
  absl::ParseCommandLine(argc, argv);

  absl::StatusOr<farside::v1::Config> cfg =
      farside::LoadServiceConfig("scanner", absl::GetFlag(FLAGS_config),
                                 {
                                     {"scanner.listen", absl::GetFlag(FLAGS_listen)},
                                     {"scanner.metrics_listen", absl::GetFlag(FLAGS_metrics)},
                                     {"scanner.controller", absl::GetFlag(FLAGS_controller)},
                                     {"scanner.name", absl::GetFlag(FLAGS_name)},
       {"scanner.rules.dirs", absl::GetFlag(FLAGS_rules_dir)},
       {"scanner.rules.spamassassin_dirs", absl::GetFlag(FLAGS_spamassassin_rules)},
       {"scanner.rules.cache_dir", absl::GetFlag(FLAGS_rules_cache_dir)},
                                     {"logging.level", absl::GetFlag(FLAGS_log_level)},
                                 });
  if (!cfg.ok()) return Fail(cfg.status());
  const farside::v1::ScannerConfig& sc = cfg->scanner();
  absl::StatusOr<farside::HostPort> listen = farside::ParseHostPort(sc.listen());
  if (!listen.ok()) return Fail(listen.status());
  absl::StatusOr<farside::HostPort> metrics_addr = farside::ParseHostPort(sc.metrics_listen());
  if (!metrics_addr.ok()) return Fail(metrics_addr.status());
  if (absl::StatusOr<farside::HostPort> c = farside::ParseHostPort(sc.controller()); !c.ok()) {
    return Fail(c.status());
  }

  farside::telemetry::ServiceMetrics metrics("scanner");
  farside::scanner::GrpcStateClient state(
      {.target = sc.controller(),
       .flush_interval = farside::ToAbsl(sc.record_flush_interval()),
       .max_pending = sc.max_pending_records()},
      &metrics);
  absl::StatusOr<std::unique_ptr<farside::scanner::Scanner>> scanner =
      farside::scanner::Scanner::Create(sc, &state, &metrics);
  if (!scanner.ok()) return Fail(scanner.status());
  farside::scanner::ScanService service(scanner->get(), &metrics);

  // gRPC adds its own framing; leave room above the message limit for it and the envelope.
  int max_bytes = static_cast<int>(
      std::min<uint64_t>(sc.max_message_bytes() + (1 << 20), std::numeric_limits<int>::max()));
  absl::StatusOr<std::unique_ptr<farside::rpc::Server>> server =
      farside::rpc::Server::Start({.listen = *listen,
                                   .services = {&service},
                                   .health_names = {farside::v1::Scanner::service_full_name()},
                                   .max_message_bytes = max_bytes,
                                   .threads = static_cast<int>(sc.threads())});
  if (!server.ok()) return Fail(server.status());
  (*server)->SetServing(true);

  absl::StatusOr<std::unique_ptr<farside::telemetry::AdminServer>> admin =
      farside::telemetry::AdminServer::Start(
          {.listen = *metrics_addr, .registry = metrics.registry(), .ready = nullptr});
  if (!admin.ok()) return Fail(admin.status());

  farside::log::Info("scanner ready", {{"grpc", listen->ToString()},
                                       {"metrics", metrics_addr->ToString()},
                                       {"controller", sc.controller()},
                                       {"name", (*scanner)->name()},
                                       {"rules", (*scanner)->rule_count()}});
  int sig = farside::WaitForShutdownSignal();
  farside::log::Info("draining", {{"signal", sig}});
  (*admin)->SetDraining();
  service.SetDraining();
  (*server)->Drain(farside::ToAbsl(sc.drain_timeout()));
  state.Close(absl::Seconds(1));
  farside::log::Info("stopped");
  return 0;
}
