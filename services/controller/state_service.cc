// State gRPC adapter.
#include "services/controller/state_service.h"

#include "lib/rpc/status.h"

namespace farside::controller {
namespace {

// Runs `fn` (returning StatusOr<T>), moves the value into `out` and records the call.
template <typename T, typename Fn>
grpc::Status Serve(telemetry::ServiceMetrics* m, absl::string_view method, T* out, Fn fn) {
  telemetry::RpcTimer timer(m, method);
  absl::StatusOr<T> r = fn();
  grpc::Status st = r.ok() ? grpc::Status::OK : rpc::ToGrpc(r.status());
  if (r.ok()) *out = std::move(*r);
  timer.set_code(rpc::CodeName(st.error_code()));
  return st;
}

}  // namespace

StateService::StateService(StateStore* store, telemetry::ServiceMetrics* metrics)
    : store_(store), metrics_(metrics) {
  records_ = &prometheus::BuildCounter()
                  .Name(metrics->Name("scan_records_total"))
                  .Help("Scan records stored, as sent by the scanners")
                  .Register(*metrics->registry())
                  .Add({});
}

grpc::Status StateService::Exchange(grpc::ServerContext*, const farside::v1::ExchangeRequest* req,
                                    farside::v1::ExchangeResponse* resp) {
  grpc::Status st = Serve(metrics_, "Exchange", resp, [&] { return store_->Exchange(*req); });
  if (st.ok()) records_->Increment(resp->records_stored());
  return st;
}

grpc::Status StateService::Learn(grpc::ServerContext*, const farside::v1::LearnRequest* req,
                                 farside::v1::LearnResponse* resp) {
  return Serve(metrics_, "Learn", resp, [&] { return store_->Learn(*req); });
}

grpc::Status StateService::Stats(grpc::ServerContext*, const farside::v1::StatsRequest*,
                                 farside::v1::StatsResponse* resp) {
  return Serve(metrics_, "Stats", resp, [&] { return store_->Stats(); });
}

grpc::Status StateService::History(grpc::ServerContext*, const farside::v1::HistoryRequest* req,
                                   farside::v1::HistoryResponse* resp) {
  return Serve(metrics_, "History", resp, [&] { return store_->History(req->limit()); });
}

}  // namespace farside::controller
