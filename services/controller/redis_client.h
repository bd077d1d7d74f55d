// A small pool of hiredis connections with timeouts that reconnect on their own: every call
// either runs on a live connection or fails fast with Unavailable, and the next call tries
// to connect again. Several connections let Redis work on one call's pipeline while the
// controller writes or reads another's.
#ifndef FARSIDE_SERVICES_CONTROLLER_REDIS_CLIENT_H_
#define FARSIDE_SERVICES_CONTROLLER_REDIS_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

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
    size_t connections = 4;
  };
  explicit RedisClient(Options options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends the commands as one pipeline and returns one reply per command. An error reply
  // from Redis is a reply of type kError; only a connection problem is a failed status.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  // The same for commands already in RESP (AppendCommand), `count` of them: for pipelines
  // of thousands of commands, where building argument vectors would cost more than Redis.
  absl::StatusOr<std::vector<RedisReply>> PipelineFormatted(const std::string& resp, size_t count);
  // A Lua script's SHA-1, remembered with its body: send {"EVALSHA", sha, ...}, and a
  // Redis that does not have the script yet (NOSCRIPT, as after a restart) gets that command
  // again as EVAL, within the same call. Redis then hashes nothing per call.
  std::string Script(absl::string_view body);

  // Appends one command, as RESP, to `out`.
  static void AppendCommand(std::string* out, std::initializer_list<absl::string_view> argv);

  absl::Status Ping();

 private:
  struct Conn {
    std::mutex mu;
    redisContext* ctx = nullptr;
    absl::Time next_attempt = absl::InfinitePast();
    absl::Duration backoff = absl::ZeroDuration();
  };
  absl::Status ConnectLocked(Conn& c);
  static void DropLocked(Conn& c);
  absl::StatusOr<std::vector<RedisReply>> PipelineLocked(Conn& c, const std::string& resp,
                                                          size_t count);
  Conn& Pick(std::unique_lock<std::mutex>* lock);

  Options options_;
  std::mutex scripts_mu_;
  std::map<std::string, std::string> scripts_;  // sha -> body
  std::vector<std::unique_ptr<Conn>> conns_;
  std::atomic<size_t> next_{0};
};

}  // namespace farside::controller

#endif  // FARSIDE_SERVICES_CONTROLLER_REDIS_CLIENT_H_
