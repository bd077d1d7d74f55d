// Pings Redis at an interval and reports each change between up and down, so the
// controller's health follows Redis (NOT_SERVING while it is down) without a crash.
#ifndef FARSIDE_SERVICES_CONTROLLER_REDIS_MONITOR_H_
#define FARSIDE_SERVICES_CONTROLLER_REDIS_MONITOR_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/controller/redis_client.h"

namespace farside::controller {

class RedisMonitor {
 public:
  // `on_change(up)` runs on the monitor's thread, once at start and at every change.
  RedisMonitor(RedisClient* redis, absl::Duration interval, std::function<void(bool)> on_change);
  ~RedisMonitor();

  bool up() const { return up_.load(); }
  // The last ping's outcome, for /readyz.
  absl::Status last() const;

 private:
  void Loop();

  RedisClient* redis_;
  absl::Duration interval_;
  std::function<void(bool)> on_change_;
  std::atomic<bool> up_{false};
  mutable std::mutex mu_;
  absl::Status last_ = absl::UnavailableError("redis not checked yet");
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace farside::controller

#endif  // FARSIDE_SERVICES_CONTROLLER_REDIS_MONITOR_H_
