// The scan call with its deadline and retry.
#include "services/proxy/scan_client.h"

#include <condition_variable>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "lib/common/log.h"
#include "lib/rpc/status.h"

namespace farside::proxy {
namespace {

bool Retryable(grpc::StatusCode code) {
  // The request itself is at fault for these; another scanner would say the same.
  return code != grpc::StatusCode::INVALID_ARGUMENT && code != grpc::StatusCode::OUT_OF_RANGE &&
         code != grpc::StatusCode::PERMISSION_DENIED &&
         code != grpc::StatusCode::UNAUTHENTICATED;
}

}  // namespace

absl::StatusOr<farside::v1::ScanResult> ScanClient::Scan(
    const farside::v1::ScanRequest& request, const std::function<void()>& waiting,
    absl::Duration tick) {
  const absl::Time deadline = absl::Now() + timeout_;
  absl::Status last = absl::UnavailableError("no scanner was tried");
  std::shared_ptr<ScannerPool::Endpoint> previous;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    absl::StatusOr<std::shared_ptr<ScannerPool::Endpoint>> picked = pool_->Pick(previous.get());
    if (!picked.ok()) {
      last = picked.status();
      break;
    }
    std::shared_ptr<ScannerPool::Endpoint> e = *picked;
    // The first try leaves room for a second one when another scanner is up.
    const bool may_retry = attempt == 0 && pool_->healthy() > 1;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + (may_retry ? left * 0.6 : left)));
    farside::v1::ScanResult result;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    e->stub->async()->Scan(&ctx, &request, &result, [&](grpc::Status s) {
      std::lock_guard<std::mutex> lock(mu);
      status = std::move(s);
      done = true;
      cv.notify_all();
    });
    {
      std::unique_lock<std::mutex> lock(mu);
      while (!cv.wait_for(lock, absl::ToChronoNanoseconds(tick), [&] { return done; })) {
        if (waiting) {
          lock.unlock();
          waiting();
          lock.lock();
        }
      }
    }
    if (status.ok()) return result;
    last = rpc::FromGrpc(status, absl::StrCat("scanner ", e->target));
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) pool_->MarkDown(e.get());
    log::Warning("scan call failed", {{"scanner", e->target},
                                      {"code", rpc::CodeName(status.error_code())},
                                      {"error", std::string(status.error_message())},
                                      {"queue_id", request.envelope().queue_id()},
                                      {"attempt", attempt + 1}});
    if (!Retryable(status.error_code())) break;
    previous = e;
  }
  return last;
}

}  // namespace farside::proxy
