// The shared metric families: build info and per-method gRPC counts and latencies.
#include "lib/telemetry/metrics.h"

#include "absl/strings/str_cat.h"
#include "lib/telemetry/build_info.h"

namespace farside::telemetry {

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10,   30};
  return *buckets;
}

ServiceMetrics::ServiceMetrics(absl::string_view service)
    : prefix_(absl::StrCat("farside_", service, "_")),
      registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::BuildGauge()
      .Name(Name("build_info"))
      .Help("Farside build: version and commit; always 1")
      .Register(*registry_)
      .Add({{"version", kVersion}, {"commit", kCommit}})
      .Set(1);
  rpc_requests_ = &prometheus::BuildCounter()
                       .Name(Name("grpc_requests_total"))
                       .Help("gRPC calls served, by method and status code")
                       .Register(*registry_);
  rpc_latency_ = &prometheus::BuildHistogram()
                      .Name(Name("grpc_request_duration_seconds"))
                      .Help("Time to serve one gRPC call, by method")
                      .Register(*registry_);
}

std::string ServiceMetrics::Name(absl::string_view thing) const {
  return absl::StrCat(prefix_, thing);
}

void ServiceMetrics::RecordRpc(absl::string_view method, absl::string_view code,
                               absl::Duration latency) {
  rpc_requests_->Add({{"method", std::string(method)}, {"code", std::string(code)}}).Increment();
  rpc_latency_->Add({{"method", std::string(method)}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(latency));
}

}  // namespace farside::telemetry
