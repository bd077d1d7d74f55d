// Metrics every service shares, named as Prometheus expects: farside_<service>_<thing>_<unit>.
// A service adds its own families to registry().
#ifndef FARSIDE_LIB_TELEMETRY_METRICS_H_
#define FARSIDE_LIB_TELEMETRY_METRICS_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace farside::telemetry {

// Latency buckets from 100 us to 30 s, for scans, RPCs and Redis calls alike.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

class ServiceMetrics {
 public:
  // `service` is "scanner", "controller" or "proxy".
  explicit ServiceMetrics(absl::string_view service);

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }
  // "farside_<service>_" + thing.
  std::string Name(absl::string_view thing) const;

  // Counts one served gRPC call and observes its latency.
  void RecordRpc(absl::string_view method, absl::string_view code, absl::Duration latency);

 private:
  std::string prefix_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* rpc_requests_;
  prometheus::Family<prometheus::Histogram>* rpc_latency_;
};

// Times a scope and records it as one RPC when it ends; set_code() before it does.
class RpcTimer {
 public:
  RpcTimer(ServiceMetrics* metrics, absl::string_view method)
      : metrics_(metrics), method_(method), start_(absl::Now()) {}
  ~RpcTimer() { metrics_->RecordRpc(method_, code_, absl::Now() - start_); }
  void set_code(absl::string_view code) { code_ = std::string(code); }

 private:
  ServiceMetrics* metrics_;
  std::string method_;
  std::string code_ = "OK";
  absl::Time start_;
};

}  // namespace farside::telemetry

#endif  // FARSIDE_LIB_TELEMETRY_METRICS_H_
