// hiredis behind RedisClient: a few connections, each under its own mutex; a call takes a
// free one, or waits for one.
#include "services/controller/redis_client.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/common/digest.h"
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

void AppendArg(std::string* out, absl::string_view a) {
  absl::StrAppend(out, "$", a.size(), "\r\n", a, "\r\n");
}

std::string Format(const std::vector<std::vector<std::string>>& commands) {
  std::string out;
  for (const auto& cmd : commands) {
    absl::StrAppend(&out, "*", cmd.size(), "\r\n");
    for (const std::string& a : cmd) AppendArg(&out, a);
  }
  return out;
}

}  // namespace

RedisClient::RedisClient(Options options) : options_(std::move(options)) {
  for (size_t i = 0; i < std::max<size_t>(1, options_.connections); ++i) {
    conns_.push_back(std::make_unique<Conn>());
  }
}

RedisClient::~RedisClient() {
  for (auto& c : conns_) {
    std::lock_guard<std::mutex> lock(c->mu);
    DropLocked(*c);
  }
}

void RedisClient::DropLocked(Conn& c) {
  if (c.ctx != nullptr) redisFree(c.ctx);
  c.ctx = nullptr;
}

absl::Status RedisClient::ConnectLocked(Conn& conn) {
  if (conn.ctx != nullptr) return absl::OkStatus();
  const std::string where = options_.address.ToString();
  // After a failure, wait a little before the next try so a dead Redis is not hammered.
  if (absl::Now() < conn.next_attempt) {
    return absl::UnavailableError(absl::StrCat("redis ", where, ": down, retrying shortly"));
  }
  redisContext* c = redisConnectWithTimeout(options_.address.host.c_str(), options_.address.port,
                                            absl::ToTimeval(options_.connect_timeout));
  auto fail = [&](const std::string& why) {
    if (c != nullptr) redisFree(c);
    conn.backoff = std::clamp(conn.backoff * 2, absl::Milliseconds(100), absl::Seconds(2));
    conn.next_attempt = absl::Now() + conn.backoff;
    return absl::UnavailableError(absl::StrCat("redis ", where, ": ", why));
  };
  if (c == nullptr) return fail("cannot allocate a connection");
  if (c->err != 0) return fail(c->errstr);
  redisSetTimeout(c, absl::ToTimeval(options_.command_timeout));
  conn.ctx = c;
  std::vector<std::vector<std::string>> setup;
  if (!options_.password.empty()) setup.push_back({"AUTH", options_.password});
  if (options_.database != 0) setup.push_back({"SELECT", std::to_string(options_.database)});
  for (const auto& cmd : setup) {
    const std::string f = Format({cmd});
    redisAppendFormattedCommand(conn.ctx, f.data(), f.size());
    void* raw = nullptr;
    if (redisGetReply(conn.ctx, &raw) != REDIS_OK || raw == nullptr) {
      std::string why = conn.ctx->errstr;
      DropLocked(conn);
      c = nullptr;
      return fail(why);
    }
    RedisReply r = Convert(static_cast<redisReply*>(raw));
    freeReplyObject(raw);
    if (r.type == RedisReply::Type::kError) {
      DropLocked(conn);
      c = nullptr;
      return fail(absl::StrCat(cmd[0], " refused: ", r.str));
    }
  }
  conn.backoff = absl::ZeroDuration();
  log::Debug("connected to redis", {{"address", where}});
  return absl::OkStatus();
}

void RedisClient::AppendCommand(std::string* out, std::initializer_list<absl::string_view> argv) {
  absl::StrAppend(out, "*", argv.size(), "\r\n");
  for (absl::string_view a : argv) AppendArg(out, a);
}

RedisClient::Conn& RedisClient::Pick(std::unique_lock<std::mutex>* lock) {
  const size_t n = conns_.size();
  const size_t first = next_.fetch_add(1, std::memory_order_relaxed) % n;
  for (size_t k = 0; k < n; ++k) {
    Conn& c = *conns_[(first + k) % n];
    std::unique_lock<std::mutex> l(c.mu, std::try_to_lock);
    if (l.owns_lock()) {
      *lock = std::move(l);
      return c;
    }
  }
  *lock = std::unique_lock<std::mutex>(conns_[first]->mu);
  return *conns_[first];
}

std::string RedisClient::Script(absl::string_view body) {
  std::string sha = Sha1Hex(body);
  std::lock_guard<std::mutex> lock(scripts_mu_);
  scripts_.try_emplace(sha, body);
  return sha;
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  absl::StatusOr<std::vector<RedisReply>> out = PipelineFormatted(Format(commands), commands.size());
  if (!out.ok()) return out;
  // Scripts Redis did not have: those commands did nothing, so sending them as EVAL is safe.
  std::vector<size_t> again;
  std::vector<std::vector<std::string>> retry;
  for (size_t i = 0; i < out->size() && i < commands.size(); ++i) {
    const RedisReply& r = (*out)[i];
    if (r.type != RedisReply::Type::kError || !absl::StartsWith(r.str, "NOSCRIPT") ||
        commands[i].size() < 2 || commands[i][0] != "EVALSHA") {
      continue;
    }
    std::vector<std::string> cmd = commands[i];
    {
      std::lock_guard<std::mutex> lock(scripts_mu_);
      auto it = scripts_.find(cmd[1]);
      if (it == scripts_.end()) continue;
      cmd[0] = "EVAL";
      cmd[1] = it->second;
    }
    again.push_back(i);
    retry.push_back(std::move(cmd));
  }
  if (retry.empty()) return out;
  absl::StatusOr<std::vector<RedisReply>> second = PipelineFormatted(Format(retry), retry.size());
  if (!second.ok()) return second.status();
  for (size_t j = 0; j < again.size() && j < second->size(); ++j) (*out)[again[j]] = std::move((*second)[j]);
  return out;
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::PipelineFormatted(const std::string& resp,
                                                                       size_t count) {
  std::unique_lock<std::mutex> lock;
  Conn& c = Pick(&lock);
  return PipelineLocked(c, resp, count);
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::PipelineLocked(Conn& conn, const std::string& resp,
                                                                    size_t count) {
  if (absl::Status s = ConnectLocked(conn); !s.ok()) return s;
  redisContext* ctx = conn.ctx;
  redisAppendFormattedCommand(ctx, resp.data(), resp.size());
  std::vector<RedisReply> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx, &raw) != REDIS_OK || raw == nullptr) {
      std::string why = ctx->errstr;
      DropLocked(conn);
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
