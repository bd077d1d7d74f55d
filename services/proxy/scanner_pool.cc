// Scanner pool: resolution, health polling and round-robin selection.
#include "services/proxy/scanner_pool.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "lib/common/log.h"
#include "lib/rpc/health_client.h"

namespace farside::proxy {

using grpc::health::v1::HealthCheckResponse;

namespace {

bool IsAddress(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

Resolver SystemResolver() {
  return [](const std::string& host) -> absl::StatusOr<std::vector<std::string>> {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0) {
      return absl::UnavailableError(absl::StrCat("resolving ", host, ": ", gai_strerror(rc)));
    }
    std::vector<std::string> out;
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      char buf[INET6_ADDRSTRLEN] = {0};
      const void* src = a->ai_family == AF_INET
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
      if (inet_ntop(a->ai_family, src, buf, sizeof buf) != nullptr &&
          std::find(out.begin(), out.end(), buf) == out.end()) {
        out.push_back(buf);
      }
    }
    freeaddrinfo(res);
    return out;
  };
}

absl::StatusOr<std::unique_ptr<ScannerPool>> ScannerPool::Create(
    Options options, telemetry::ServiceMetrics* metrics) {
  if (options.targets.empty()) {
    return absl::InvalidArgumentError("proxy.scanners: at least one scanner is needed");
  }
  std::vector<HostPort> parsed;
  for (const std::string& t : options.targets) {
    absl::StatusOr<HostPort> hp = ParseHostPort(t);
    if (!hp.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("proxy.scanners: ", hp.status().message()));
    }
    parsed.push_back(*hp);
  }
  if (!options.resolver) options.resolver = SystemResolver();
  std::unique_ptr<ScannerPool> pool(new ScannerPool(std::move(options), metrics));
  pool->parsed_ = std::move(parsed);
  pool->Resolve();
  pool->CheckAll();  // know the pool's state before the first message arrives
  pool->thread_ = std::thread([p = pool.get()] { p->Loop(); });
  return pool;
}

ScannerPool::ScannerPool(Options options, telemetry::ServiceMetrics* metrics)
    : options_(std::move(options)), endpoints_(std::make_shared<List>()) {
  auto& reg = *metrics->registry();
  healthy_gauge_ = &prometheus::BuildGauge()
                        .Name(metrics->Name("scanners_healthy"))
                        .Help("Scanners whose gRPC health check answers SERVING")
                        .Register(reg)
                        .Add({});
  configured_gauge_ = &prometheus::BuildGauge()
                           .Name(metrics->Name("scanners_configured"))
                           .Help("Scanner addresses in the pool (DNS names resolved)")
                           .Register(reg)
                           .Add({});
  up_family_ = &prometheus::BuildGauge()
                    .Name(metrics->Name("scanner_up"))
                    .Help("1 while this scanner answers its health check SERVING")
                    .Register(reg);
}

ScannerPool::~ScannerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const ScannerPool::List> ScannerPool::Snapshot() const {
  std::lock_guard<std::mutex> lock(list_mu_);
  return endpoints_;
}

void ScannerPool::Resolve() {
  std::lock_guard<std::mutex> resolving(resolve_mu_);
  std::vector<std::string> want;
  std::shared_ptr<const List> current = Snapshot();
  for (const HostPort& hp : parsed_) {
    if (IsAddress(hp.host)) {
      want.push_back(hp.ToString());
      continue;
    }
    absl::StatusOr<std::vector<std::string>> addrs = options_.resolver(hp.host);
    if (!addrs.ok() || addrs->empty()) {
      // Keep what this name stood for last time rather than emptying the pool.
      log::Warning("cannot resolve scanner name; keeping its last addresses",
                   {{"target", hp.ToString()},
                    {"error", addrs.ok() ? "no address" : std::string(addrs.status().message())}});
      const std::vector<std::string>& last = last_[hp.ToString()];
      want.insert(want.end(), last.begin(), last.end());
      continue;
    }
    std::vector<std::string>& last = last_[hp.ToString()];
    last.clear();
    for (const std::string& a : *addrs) last.push_back(HostPort{a, hp.port}.ToString());
    want.insert(want.end(), last.begin(), last.end());
  }
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  absl::flat_hash_map<std::string, std::shared_ptr<Endpoint>> have;
  for (const auto& e : *current) have[e->target] = e;
  auto next = std::make_shared<List>();
  bool changed = want.size() != current->size();
  for (const std::string& t : want) {
    if (auto it = have.find(t); it != have.end()) {
      next->push_back(it->second);
      continue;
    }
    changed = true;
    auto e = std::make_shared<Endpoint>();
    e->target = t;
    e->channel = rpc::MakeChannel(t, 64 << 20);
    e->stub = farside::v1::Scanner::NewStub(e->channel);
    next->push_back(std::move(e));  // unhealthy until its first health check
    log::Info("scanner added to the pool", {{"scanner", t}});
  }
  if (!changed) return;
  for (const auto& e : *current) {
    if (std::find(want.begin(), want.end(), e->target) == want.end()) {
      log::Info("scanner left the pool", {{"scanner", e->target}});
      up_family_->Remove(&up_family_->Add({{"scanner", e->target}}));
    }
  }
  {
    std::lock_guard<std::mutex> lock(list_mu_);
    endpoints_ = next;
  }
  configured_gauge_->Set(static_cast<double>(next->size()));
}

size_t ScannerPool::size() const { return Snapshot()->size(); }

std::vector<std::string> ScannerPool::Targets() const {
  std::vector<std::string> out;
  for (const auto& e : *Snapshot()) out.push_back(e->target);
  return out;
}

size_t ScannerPool::healthy() const {
  size_t n = 0;
  for (const auto& e : *Snapshot()) n += e->healthy.load() ? 1 : 0;
  return n;
}

absl::Status ScannerPool::Ready() const {
  if (healthy() > 0) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("none of ", size(),
                                             " scanners answers its health check"));
}

absl::StatusOr<std::shared_ptr<ScannerPool::Endpoint>> ScannerPool::Pick(const Endpoint* avoid) {
  std::shared_ptr<const List> list = Snapshot();
  const size_t n = list->size();
  std::shared_ptr<Endpoint> fallback;
  // One ticket per pick: other threads picking at the same time must not make this loop
  // skip an endpoint.
  const size_t start = next_.fetch_add(1);
  for (size_t i = 0; i < n; ++i) {
    const std::shared_ptr<Endpoint>& e = (*list)[(start + i) % n];
    if (!e->healthy.load()) continue;
    if (e.get() != avoid) return e;
    fallback = e;
  }
  if (fallback != nullptr) return fallback;
  return absl::UnavailableError(absl::StrCat("none of ", n, " scanners is healthy"));
}

void ScannerPool::MarkDown(Endpoint* e) {
  if (e->healthy.exchange(false)) {
    log::Warning("scanner marked down after a failed call", {{"scanner", e->target}});
    up_family_->Add({{"scanner", e->target}}).Set(0);
    healthy_gauge_->Set(static_cast<double>(healthy()));
  }
}

void ScannerPool::CheckAll() {
  for (const auto& e : *Snapshot()) {
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
  absl::Time next_resolve = absl::Now() + options_.resolve_interval;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.health_interval),
                 [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    if (absl::Now() >= next_resolve) {
      Resolve();
      next_resolve = absl::Now() + options_.resolve_interval;
    }
    CheckAll();
    lock.lock();
  }
}

}  // namespace farside::proxy
