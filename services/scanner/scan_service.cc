// Scanner gRPC adapter.
#include "services/scanner/scan_service.h"

#include "lib/rpc/status.h"

namespace farside::scanner {

grpc::Status ScanService::Scan(grpc::ServerContext*, const farside::v1::ScanRequest* req,
                               farside::v1::ScanResult* resp) {
  telemetry::RpcTimer timer(metrics_, "Scan");
  grpc::Status st;
  if (draining_.load()) {
    st = grpc::Status(grpc::StatusCode::UNAVAILABLE, "scanner is draining; try another");
  } else {
    absl::StatusOr<farside::v1::ScanResult> r = scanner_->Scan(*req);
    if (r.ok()) {
      *resp = std::move(*r);
    } else {
      st = rpc::ToGrpc(r.status());
    }
  }
  timer.set_code(rpc::CodeName(st.error_code()));
  return st;
}

}  // namespace farside::scanner
