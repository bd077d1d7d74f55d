// The proxy's view of the scanner pool: one channel per scanner address, each one's gRPC
// health checked at an interval, and round-robin over the healthy ones. A target that is a
// DNS name (a Kubernetes headless Service) stands for every address it resolves to, and is
// resolved again at an interval, so scanners that come and go are followed.
#ifndef FARSIDE_SERVICES_PROXY_SCANNER_POOL_H_
#define FARSIDE_SERVICES_PROXY_SCANNER_POOL_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "farside/v1/scanner.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "lib/common/host_port.h"
#include "lib/telemetry/metrics.h"

namespace farside::proxy {

// Addresses ("10.0.0.5", "2001:db8::5") of a host name; the default uses getaddrinfo.
using Resolver = std::function<absl::StatusOr<std::vector<std::string>>(const std::string& host)>;
Resolver SystemResolver();

class ScannerPool {
 public:
  struct Options {
    std::vector<std::string> targets;  // HOST:PORT each; HOST an address or a DNS name
    absl::Duration health_interval = absl::Seconds(1);
    absl::Duration health_timeout = absl::Milliseconds(500);
    absl::Duration resolve_interval = absl::Seconds(10);
    Resolver resolver;  // empty: SystemResolver()
  };
  struct Endpoint {
    std::string target;  // "address:port"
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<farside::v1::Scanner::Stub> stub;
    std::atomic<bool> healthy{false};
  };

  // InvalidArgument for an empty list or a target that is not HOST:PORT.
  static absl::StatusOr<std::unique_ptr<ScannerPool>> Create(Options options,
                                                             telemetry::ServiceMetrics* metrics);
  ~ScannerPool();

  size_t size() const;
  size_t healthy() const;
  // The endpoints' targets, for logs and tests.
  std::vector<std::string> Targets() const;
  // OK while at least one scanner answers its health check.
  absl::Status Ready() const;
  // The next healthy scanner after the last one picked, other than `avoid` when another is
  // healthy; Unavailable when none is.
  absl::StatusOr<std::shared_ptr<Endpoint>> Pick(const Endpoint* avoid = nullptr);
  // A call to it failed as unreachable: skip it until its health check answers again.
  void MarkDown(Endpoint* e);
  // Resolves the targets again now (also done every resolve_interval).
  void Resolve();

 private:
  using List = std::vector<std::shared_ptr<Endpoint>>;
  ScannerPool(Options options, telemetry::ServiceMetrics* metrics);
  std::shared_ptr<const List> Snapshot() const;
  void CheckAll();
  void Loop();

  Options options_;
  std::vector<HostPort> parsed_;
  std::mutex resolve_mu_;
  absl::flat_hash_map<std::string, std::vector<std::string>> last_;  // name -> its addresses
  mutable std::mutex list_mu_;
  std::shared_ptr<const List> endpoints_;
  std::atomic<size_t> next_{0};
  prometheus::Gauge* healthy_gauge_;
  prometheus::Gauge* configured_gauge_;
  prometheus::Family<prometheus::Gauge>* up_family_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace farside::proxy

#endif  // FARSIDE_SERVICES_PROXY_SCANNER_POOL_H_
