// The batched State call and its write-behind queue.
#include "services/scanner/grpc_state_client.h"

#include "lib/common/log.h"
#include "lib/rpc/health_client.h"
#include "lib/rpc/status.h"

namespace farside::scanner {

GrpcStateClient::GrpcStateClient(Options options, telemetry::ServiceMetrics* metrics)
    : options_(std::move(options)),
      stub_(farside::v1::State::NewStub(rpc::MakeChannel(options_.target, 64 << 20))) {
  auto& reg = *metrics->registry();
  calls_ = &prometheus::BuildCounter()
                .Name(metrics->Name("state_calls_total"))
                .Help("Batched State calls to the controller, by result")
                .Register(reg);
  dropped_ = &prometheus::BuildCounter()
                  .Name(metrics->Name("state_records_dropped_total"))
                  .Help("Scan records dropped because the controller was away too long")
                  .Register(reg)
                  .Add({});
  latency_ = &prometheus::BuildHistogram()
                  .Name(metrics->Name("state_call_duration_seconds"))
                  .Help("Latency of the batched State call")
                  .Register(reg)
                  .Add({}, telemetry::LatencyBuckets());
  flusher_ = std::thread([this] { FlushLoop(); });
}

GrpcStateClient::~GrpcStateClient() { Close(absl::ZeroDuration()); }

void GrpcStateClient::Record(farside::v1::ScanRecord record) {
  // A greylisting first sight must be remembered before the sender's retry, which may
  // reach another scanner: send it now rather than with the next scan.
  const bool urgent = record.has_greylist() && !record.greylist().passed();
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back(std::move(record));
    while (pending_.size() > options_.max_pending) {
      pending_.pop_front();
      dropped_->Increment();
    }
    urgent_ = urgent_ || urgent;
  }
  if (urgent) cv_.notify_all();
}

size_t GrpcStateClient::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

absl::StatusOr<farside::v1::ExchangeResponse> GrpcStateClient::Exchange(
    const farside::v1::MessageQuery& query, absl::Duration timeout) {
  return Send(&query, timeout);
}

absl::StatusOr<farside::v1::ExchangeResponse> GrpcStateClient::Send(
    const farside::v1::MessageQuery* query, absl::Duration timeout) {
  farside::v1::ExchangeRequest req;
  if (query != nullptr) *req.mutable_query() = *query;
  // While the controller is unreachable only the flusher carries the backlog: a message's
  // own call must not serialise thousands of queued records just to fail.
  if (query == nullptr || reachable_.load()) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& r : pending_) *req.add_records() = std::move(r);
    pending_.clear();
    last_send_ = absl::Now();
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout));
  farside::v1::ExchangeResponse resp;
  absl::Time start = absl::Now();
  grpc::Status st = stub_->Exchange(&ctx, req, &resp);
  latency_->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  calls_->Add({{"code", rpc::CodeName(st.error_code())}}).Increment();
  reachable_.store(st.ok());
  if (st.ok()) return resp;
  // Put the records back in front, oldest first, so the next call retries them. A call that
  // failed after the controller wrote them would count them twice: rare, and stats only.
  if (req.records_size() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = req.records_size() - 1; i >= 0; --i) {
      pending_.push_front(std::move(*req.mutable_records(i)));
    }
    while (pending_.size() > options_.max_pending) {
      pending_.pop_front();
      dropped_->Increment();
    }
  }
  return rpc::FromGrpc(st, "controller " + options_.target);
}

void GrpcStateClient::FlushLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.flush_interval),
                 [&] { return stopping_ || urgent_; });
    if (stopping_) break;
    const bool urgent = urgent_;
    urgent_ = false;
    if (pending_.empty() || (!urgent && absl::Now() - last_send_ < options_.flush_interval)) continue;
    lock.unlock();
    absl::StatusOr<farside::v1::ExchangeResponse> r = Send(nullptr, options_.flush_timeout);
    if (!r.ok()) log::Debug("flushing scan records failed", {{"error", r.status().ToString()}});
    lock.lock();
  }
}

void GrpcStateClient::Close(absl::Duration timeout) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  if (timeout > absl::ZeroDuration() && pending() > 0) {
    absl::StatusOr<farside::v1::ExchangeResponse> r = Send(nullptr, timeout);
    if (!r.ok()) {
      log::Warning("scan records not delivered at shutdown",
                   {{"records", pending()}, {"error", r.status().ToString()}});
    }
  }
}

}  // namespace farside::scanner
