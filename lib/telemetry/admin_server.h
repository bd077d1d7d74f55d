// The HTTP endpoint every service runs on its metrics port: Prometheus text on /metrics,
// liveness on /healthz and readiness on /readyz, for Kubernetes probes and scrapers.
#ifndef FARSIDE_LIB_TELEMETRY_ADMIN_SERVER_H_
#define FARSIDE_LIB_TELEMETRY_ADMIN_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lib/common/host_port.h"
#include "prometheus/registry.h"

struct mg_context;
struct mg_connection;

namespace farside::telemetry {

// Readiness: OK when the service can take work, else a status saying what it waits for.
using ReadinessFn = std::function<absl::Status()>;

class AdminServer {
 public:
  struct Options {
    HostPort listen;
    std::shared_ptr<prometheus::Registry> registry;
    ReadinessFn ready;
    int threads = 2;
  };
  // Binds and starts serving; an address in use is an error that names it.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(Options options);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Makes /healthz answer 503 too, while the process drains before exit.
  void SetDraining();

 private:
  explicit AdminServer(Options options) : options_(std::move(options)) {}
  static int HandleMetrics(mg_connection* conn, void* self);
  static int HandleHealthz(mg_connection* conn, void* self);
  static int HandleReadyz(mg_connection* conn, void* self);

  Options options_;
  mg_context* ctx_ = nullptr;
  std::atomic<bool> draining_{false};
};

}  // namespace farside::telemetry

#endif  // FARSIDE_LIB_TELEMETRY_ADMIN_SERVER_H_
