// The gRPC adapter for farside.v1.Scanner: converts at the edge, counts the call, refuses
// work while draining, and leaves the scanning to Scanner.
#ifndef FARSIDE_SERVICES_SCANNER_SCAN_SERVICE_H_
#define FARSIDE_SERVICES_SCANNER_SCAN_SERVICE_H_

#include <atomic>

#include "farside/v1/scanner.grpc.pb.h"
#include "lib/telemetry/metrics.h"
#include "services/scanner/scanner.h"

namespace farside::scanner {

class ScanService final : public farside::v1::Scanner::Service {
 public:
  ScanService(Scanner* scanner, telemetry::ServiceMetrics* metrics)
      : scanner_(scanner), metrics_(metrics) {}

  grpc::Status Scan(grpc::ServerContext* ctx, const farside::v1::ScanRequest* req,
                    farside::v1::ScanResult* resp) override;

  void SetDraining() { draining_.store(true); }

 private:
  Scanner* scanner_;
  telemetry::ServiceMetrics* metrics_;
  std::atomic<bool> draining_{false};
};

}  // namespace farside::scanner

#endif  // FARSIDE_SERVICES_SCANNER_SCAN_SERVICE_H_
