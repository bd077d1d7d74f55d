// The Redis health loop.
#include "services/controller/redis_monitor.h"

#include "lib/common/log.h"

namespace farside::controller {

RedisMonitor::RedisMonitor(RedisClient* redis, absl::Duration interval,
                           std::function<void(bool)> on_change)
    : redis_(redis), interval_(interval), on_change_(std::move(on_change)) {
  thread_ = std::thread([this] { Loop(); });
}

RedisMonitor::~RedisMonitor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

absl::Status RedisMonitor::last() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

void RedisMonitor::Loop() {
  bool first = true;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    absl::Status s = redis_->Ping();
    bool up = s.ok();
    bool changed = first || up != up_.load();
    up_.store(up);
    if (changed) {
      if (up) {
        log::Info("redis is up; serving");
      } else {
        log::Warning("redis is down; not serving", {{"error", std::string(s.message())}});
      }
      on_change_(up);
    }
    first = false;
    lock.lock();
    last_ = s;
    cv_.wait_for(lock, absl::ToChronoNanoseconds(interval_), [this] { return stop_; });
  }
}

}  // namespace farside::controller
