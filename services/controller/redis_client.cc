// hiredis behind RedisClient. One connection under a mutex: enough for the controller's
// pipelined calls today; a pool can replace it without changing the interface.
#include "services/controller/redis_client.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/common/log.h"

namespace farside::controller {
namespace {


RedisReply Convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

void AppendCommand(redisContext* ctx, const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(ctx, static_cast<int>(argv.size()), args.data(), lens.data());
}

}  // namespace

RedisClient::~RedisClient() {
  std::lock_guard<std::mutex> lock(mu_);
  DropLocked();
}

void RedisClient::DropLocked() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
}

absl::Status RedisClient::ConnectLocked() {
  if (ctx_ != nullptr) return absl::OkStatus();
  const std::string where = options_.address.ToString();
  // After a failure, wait a little before the next try so a dead Redis is not hammered.
  if (absl::Now() < next_attempt_) {
    return absl::UnavailableError(absl::StrCat("redis ", where, ": down, retrying shortly"));
  }
  redisContext* c = redisConnectWithTimeout(options_.address.host.c_str(), options_.address.port,
                                            absl::ToTimeval(options_.connect_timeout));
  auto fail = [&](const std::string& why) {
    if (c != nullptr) redisFree(c);
    backoff_ = std::clamp(backoff_ * 2, absl::Milliseconds(100), absl::Seconds(2));
    next_attempt_ = absl::Now() + backoff_;
    return absl::UnavailableError(absl::StrCat("redis ", where, ": ", why));
  };
  if (c == nullptr) return fail("cannot allocate a connection");
  if (c->err != 0) return fail(c->errstr);
  redisSetTimeout(c, absl::ToTimeval(options_.command_timeout));
  ctx_ = c;
  std::vector<std::vector<std::string>> setup;
  if (!options_.password.empty()) setup.push_back({"AUTH", options_.password});
  if (options_.database != 0) setup.push_back({"SELECT", std::to_string(options_.database)});
  for (const auto& cmd : setup) {
    AppendCommand(ctx_, cmd);
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      std::string why = ctx_->errstr;
      DropLocked();
      c = nullptr;
      return fail(why);
    }
    RedisReply r = Convert(static_cast<redisReply*>(raw));
    freeReplyObject(raw);
    if (r.type == RedisReply::Type::kError) {
      DropLocked();
      c = nullptr;
      return fail(absl::StrCat(cmd[0], " refused: ", r.str));
    }
  }
  backoff_ = absl::ZeroDuration();
  log::Info("connected to redis", {{"address", where}});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = ConnectLocked(); !s.ok()) return s;
  for (const auto& cmd : commands) AppendCommand(ctx_, cmd);
  std::vector<RedisReply> out;
  out.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      std::string why = ctx_->errstr;
      DropLocked();
      log::Warning("lost redis connection", {{"address", options_.address.ToString()},
                                             {"error", why}});
      return absl::UnavailableError(
          absl::StrCat("redis ", options_.address.ToString(), ": ", why));
    }
    out.push_back(Convert(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return out;
}

absl::Status RedisClient::Ping() {
  absl::StatusOr<std::vector<RedisReply>> r = Pipeline({{"PING"}});
  if (!r.ok()) return r.status();
  const RedisReply& reply = r->front();
  if (reply.type == RedisReply::Type::kError) {
    // LOADING, MASTERDOWN and the like: connected, but not able to serve.
    return absl::UnavailableError(absl::StrCat("redis: ", reply.str));
  }
  return absl::OkStatus();
}

}  // namespace farside::controller
