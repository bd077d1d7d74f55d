// Scanner pool: health polling and round-robin selection.
#include "services/proxy/scanner_pool.h"

#include "absl/strings/str_cat.h"
#include "lib/common/host_port.h"
#include "lib/common/log.h"
#include "lib/rpc/health_client.h"

namespace farside::proxy {

using grpc::health::v1::HealthCheckResponse;

absl::StatusOr<std::unique_ptr<ScannerPool>> ScannerPool::Create(
    Options options, telemetry::ServiceMetrics* metrics) {
  if (options.targets.empty()) {
    return absl::InvalidArgumentError("proxy.scanners: at least one scanner is needed");
  }
  for (const std::string& t : options.targets) {
    if (absl::StatusOr<HostPort> hp = ParseHostPort(t); !hp.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("proxy.scanners: ", hp.status().message()));
    }
  }
  std::unique_ptr<ScannerPool> pool(new ScannerPool(std::move(options), metrics));
  pool->CheckAll();  // know the pool's state before the first message arrives
  pool->thread_ = std::thread([p = pool.get()] { p->Loop(); });
  return pool;
}

ScannerPool::ScannerPool(Options options, telemetry::ServiceMetrics* metrics)
    : options_(std::move(options)) {
  auto& reg = *metrics->registry();
  healthy_gauge_ = &prometheus::BuildGauge()
                        .Name(metrics->Name("scanners_healthy"))
                        .Help("Scanners whose gRPC health check answers SERVING")
                        .Register(reg)
                        .Add({});
  prometheus::BuildGauge()
      .Name(metrics->Name("scanners_configured"))
      .Help("Scanners in the pool")
      .Register(reg)
      .Add({})
      .Set(static_cast<double>(options_.targets.size()));
  up_family_ = &prometheus::BuildGauge()
                    .Name(metrics->Name("scanner_up"))
                    .Help("1 while this scanner answers its health check SERVING")
                    .Register(reg);
  for (const std::string& t : options_.targets) {
    auto e = std::make_unique<Endpoint>();
    e->target = t;
    e->channel = rpc::MakeChannel(t, 64 << 20);
    e->stub = farside::v1::Scanner::NewStub(e->channel);
    endpoints_.push_back(std::move(e));
  }
}

ScannerPool::~ScannerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t ScannerPool::healthy() const {
  size_t n = 0;
  for (const auto& e : endpoints_) n += e->healthy.load() ? 1 : 0;
  return n;
}

absl::Status ScannerPool::Ready() const {
  if (healthy() > 0) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("none of ", endpoints_.size(),
                                             " scanners answers its health check"));
}

absl::StatusOr<ScannerPool::Endpoint*> ScannerPool::Pick(const Endpoint* avoid) {
  const size_t n = endpoints_.size();
  Endpoint* fallback = nullptr;
  // One ticket per pick: other threads picking at the same time must not make this loop
  // skip an endpoint.
  const size_t start = next_.fetch_add(1);
  for (size_t i = 0; i < n; ++i) {
    Endpoint* e = endpoints_[(start + i) % n].get();
    if (!e->healthy.load()) continue;
    if (e != avoid) return e;
    fallback = e;
  }
  if (fallback != nullptr) return fallback;
  return absl::UnavailableError(
      absl::StrCat("none of ", n, " scanners is healthy"));
}

void ScannerPool::MarkDown(Endpoint* e) {
  if (e->healthy.exchange(false)) {
    log::Warning("scanner marked down after a failed call", {{"scanner", e->target}});
    up_family_->Add({{"scanner", e->target}}).Set(0);
    healthy_gauge_->Set(static_cast<double>(healthy()));
  }
}

void ScannerPool::CheckAll() {
  for (const auto& e : endpoints_) {
    absl::StatusOr<HealthCheckResponse::ServingStatus> st =
        rpc::CheckHealth(e->channel, options_.health_timeout);
    bool up = st.ok() && *st == HealthCheckResponse::SERVING;
    if (up != e->healthy.load()) {
      if (up) {
        log::Info("scanner is healthy", {{"scanner", e->target}});
      } else {
        log::Warning("scanner is not healthy",
                     {{"scanner", e->target},
                      {"reason", st.ok() ? HealthCheckResponse::ServingStatus_Name(*st)
                                         : std::string(st.status().message())}});
      }
    }
    e->healthy.store(up);
    up_family_->Add({{"scanner", e->target}}).Set(up ? 1 : 0);
  }
  healthy_gauge_->Set(static_cast<double>(healthy()));
}

void ScannerPool::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.health_interval),
                 [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    CheckAll();
    lock.lock();
  }
}

}  // namespace farside::proxy
