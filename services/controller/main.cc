// farside-controller: owns shared state in Redis and serves it over gRPC (farside.v1.State).
#include <cstdio>

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
#include "services/controller/redis_client.h"
#include "services/controller/redis_monitor.h"
#include "services/controller/state_service.h"
#include "services/controller/state_store.h"

ABSL_FLAG(std::string, config, "", "YAML configuration file (default: built-in defaults)");
ABSL_FLAG(std::string, listen, "", "gRPC HOST:PORT (controller.listen, default 127.0.0.1:11434)");
ABSL_FLAG(std::string, metrics, "",
          "HTTP HOST:PORT for /metrics, /healthz, /readyz (default 127.0.0.1:11534)");
ABSL_FLAG(std::string, redis, "", "redis-server HOST:PORT (default 127.0.0.1:6379)");
ABSL_FLAG(std::string, log_level, "", "debug, info, warning or error");

namespace {
int Fail(const absl::Status& s) { return farside::StartupFailed("farside-controller", s); }
}  // namespace

int main(int argc, char** argv) {
  farside::BlockShutdownSignals();
  absl::SetProgramUsageMessage("Farside controller: shared state in Redis (farside.v1.State)");
  absl::ParseCommandLine(argc, argv);

  absl::StatusOr<farside::v1::Config> cfg =
      farside::LoadServiceConfig("controller", absl::GetFlag(FLAGS_config),
                                 {
                                     {"controller.listen", absl::GetFlag(FLAGS_listen)},
                                     {"controller.metrics_listen", absl::GetFlag(FLAGS_metrics)},
                                     {"controller.redis.address", absl::GetFlag(FLAGS_redis)},
                                     {"logging.level", absl::GetFlag(FLAGS_log_level)},
                                 });
  if (!cfg.ok()) return Fail(cfg.status());
  const farside::v1::ControllerConfig& cc = cfg->controller();
  absl::StatusOr<farside::HostPort> listen = farside::ParseHostPort(cc.listen());
  if (!listen.ok()) return Fail(listen.status());
  absl::StatusOr<farside::HostPort> metrics_addr = farside::ParseHostPort(cc.metrics_listen());
  if (!metrics_addr.ok()) return Fail(metrics_addr.status());
  absl::StatusOr<farside::HostPort> redis_addr = farside::ParseHostPort(cc.redis().address());
  if (!redis_addr.ok()) return Fail(redis_addr.status());

  farside::telemetry::ServiceMetrics metrics("controller");
  farside::controller::RedisClient redis(
      {.address = *redis_addr,
       .password = cc.redis().password(),
       .database = cc.redis().database(),
       .connect_timeout = farside::ToAbsl(cc.redis().connect_timeout()),
       .command_timeout = farside::ToAbsl(cc.redis().command_timeout()),
       .connections = cc.redis().connections()});
  farside::controller::StateStore store(
      &redis, {.key_prefix = cc.redis().key_prefix(),
               .history_size = cc.history_size(),
               .bayes_max_tokens = cc.bayes_max_tokens(),
               .bayes_cache_tokens = cc.bayes_cache_tokens(),
               .bayes_cache_ttl = farside::ToAbsl(cc.bayes_cache_ttl()),
               .bayes_known_refresh = farside::ToAbsl(cc.bayes_known_refresh()),
               .bayes_max_stored_tokens = cc.bayes_max_stored_tokens(),
               .reputation_half_life = farside::ToAbsl(cc.reputation_half_life())});
  farside::controller::StateService service(&store, &metrics);

  absl::StatusOr<std::unique_ptr<farside::rpc::Server>> server =
      farside::rpc::Server::Start({.listen = *listen,
                                   .services = {&service},
                                   .health_names = {farside::v1::State::service_full_name()},
                                   .threads = static_cast<int>(cc.threads())});
  if (!server.ok()) return Fail(server.status());
  (*server)->SetServing(false);  // until Redis answers

  prometheus::Gauge& redis_up = prometheus::BuildGauge()
                                    .Name(metrics.Name("redis_up"))
                                    .Help("1 while Redis answers the controller's pings")
                                    .Register(*metrics.registry())
                                    .Add({});
  farside::rpc::Server* srv = server->get();
  farside::controller::RedisMonitor monitor(&redis, farside::ToAbsl(cc.redis().health_interval()),
                                            [&redis_up, srv](bool up) {
                                              redis_up.Set(up ? 1 : 0);
                                              srv->SetServing(up);
                                            });

  absl::StatusOr<std::unique_ptr<farside::telemetry::AdminServer>> admin =
      farside::telemetry::AdminServer::Start({.listen = *metrics_addr,
                                              .registry = metrics.registry(),
                                              .ready = [&monitor] { return monitor.last(); }});
  if (!admin.ok()) return Fail(admin.status());

  farside::log::Info("controller ready", {{"grpc", listen->ToString()},
                                          {"metrics", metrics_addr->ToString()},
                                          {"redis", redis_addr->ToString()}});
  int sig = farside::WaitForShutdownSignal();
  farside::log::Info("draining", {{"signal", sig}});
  (*admin)->SetDraining();
  (*server)->Drain(farside::ToAbsl(cc.drain_timeout()));
  farside::log::Info("stopped");
  return 0;
}
