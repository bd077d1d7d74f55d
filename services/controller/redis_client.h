// A hiredis connection with timeouts that reconnects on its own: every call either runs on a
// live connection or fails fast with Unavailable, and the next call tries to connect again.
#ifndef FARSIDE_SERVICES_CONTROLLER_REDIS_CLIENT_H_
#define FARSIDE_SERVICES_CONTROLLER_REDIS_CLIENT_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/common/host_port.h"

struct redisContext;

namespace farside::controller {

struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // string, status or error text
  std::vector<RedisReply> elements;
};

class RedisClient {
 public:
  struct Options {
    HostPort address;
    std::string password;
    uint32_t database = 0;
    absl::Duration connect_timeout = absl::Seconds(1);
    absl::Duration command_timeout = absl::Seconds(1);
  };
  explicit RedisClient(Options options) : options_(std::move(options)) {}
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends the commands as one pipeline and returns one reply per command. An error reply
  // from Redis is a reply of type kError; only a connection problem is a failed status.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  absl::Status Ping();

 private:
  absl::Status ConnectLocked();
  void DropLocked();

  Options options_;
  std::mutex mu_;
  redisContext* ctx_ = nullptr;
  absl::Time next_attempt_ = absl::InfinitePast();
  absl::Duration backoff_ = absl::ZeroDuration();
};

}  // namespace farside::controller

#endif  // FARSIDE_SERVICES_CONTROLLER_REDIS_CLIENT_H_
