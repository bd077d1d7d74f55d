// The proxy's view of the scanner pool: one channel per scanner, each one's gRPC health
// checked at an interval, and round-robin over the healthy ones.
#ifndef FARSIDE_SERVICES_PROXY_SCANNER_POOL_H_
#define FARSIDE_SERVICES_PROXY_SCANNER_POOL_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "farside/v1/scanner.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "lib/telemetry/metrics.h"

namespace farside::proxy {

class ScannerPool {
 public:
  struct Options {
    std::vector<std::string> targets;  // host:port each
    absl::Duration health_interval = absl::Seconds(1);
    absl::Duration health_timeout = absl::Milliseconds(500);
  };
  struct Endpoint {
    std::string target;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<farside::v1::Scanner::Stub> stub;
    std::atomic<bool> healthy{false};
  };

  // InvalidArgument for an empty list or a target that is not HOST:PORT.
  static absl::StatusOr<std::unique_ptr<ScannerPool>> Create(Options options,
                                                             telemetry::ServiceMetrics* metrics);
  ~ScannerPool();

  size_t size() const { return endpoints_.size(); }
  size_t healthy() const;
  // OK while at least one scanner answers its health check.
  absl::Status Ready() const;
  // The next healthy scanner after the last one picked, other than `avoid` when another is
  // healthy; Unavailable when none is.
  absl::StatusOr<Endpoint*> Pick(const Endpoint* avoid = nullptr);
  // A call to it failed as unreachable: skip it until its health check answers again.
  void MarkDown(Endpoint* e);

 private:
  ScannerPool(Options options, telemetry::ServiceMetrics* metrics);
  void CheckAll();
  void Loop();

  Options options_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::atomic<size_t> next_{0};
  prometheus::Gauge* healthy_gauge_;
  prometheus::Family<prometheus::Gauge>* up_family_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace farside::proxy

#endif  // FARSIDE_SERVICES_PROXY_SCANNER_POOL_H_
