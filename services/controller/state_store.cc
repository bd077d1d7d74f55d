// Stats and history in Redis. Counters are HINCRBY on one hash, so any number of
// controllers can share a Redis and still count each scan once.
#include "services/controller/state_store.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "lib/common/names.h"

namespace farside::controller {
namespace {

constexpr absl::string_view kActionField = "action:";

absl::Status CheckReplies(const std::vector<RedisReply>& replies) {
  for (const RedisReply& r : replies) {
    if (r.type == RedisReply::Type::kError) {
      return absl::InternalError(absl::StrCat("redis refused a command: ", r.str));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string StateStore::Key(absl::string_view name) const {
  return absl::StrCat(options_.key_prefix, name);
}

absl::StatusOr<farside::v1::ExchangeResponse> StateStore::Exchange(
    const farside::v1::ExchangeRequest& req) {
  farside::v1::ExchangeResponse resp;
  if (req.records_size() == 0) return resp;  // nothing asked yet, nothing to write
  const std::string stats = Key("stats");
  const std::string history = Key("history");
  std::map<std::string, int64_t> by_action;
  std::vector<std::string> lpush = {"LPUSH", history};
  for (const auto& rec : req.records()) {
    by_action[ActionName(rec.action())]++;
    lpush.push_back(rec.SerializeAsString());
  }
  std::vector<std::vector<std::string>> cmds;
  cmds.push_back({"HINCRBY", stats, "scanned", std::to_string(req.records_size())});
  for (const auto& [action, n] : by_action) {
    cmds.push_back({"HINCRBY", stats, absl::StrCat(kActionField, action), std::to_string(n)});
  }
  cmds.push_back({"HSETNX", stats, "since", std::to_string(absl::ToUnixSeconds(absl::Now()))});
  if (options_.history_size > 0) {
    cmds.push_back(std::move(lpush));
    cmds.push_back({"LTRIM", history, "0", std::to_string(options_.history_size - 1)});
  }
  absl::StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  if (absl::Status s = CheckReplies(*replies); !s.ok()) return s;
  resp.set_records_stored(req.records_size());
  return resp;
}

absl::StatusOr<farside::v1::StatsResponse> StateStore::Stats() {
  absl::StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline({{"HGETALL", Key("stats")}});
  if (!replies.ok()) return replies.status();
  if (absl::Status s = CheckReplies(*replies); !s.ok()) return s;
  farside::v1::StatsResponse resp;
  const RedisReply& all = replies->front();
  for (size_t i = 0; i + 1 < all.elements.size(); i += 2) {
    const std::string& field = all.elements[i].str;
    int64_t n = 0;
    if (!absl::SimpleAtoi(all.elements[i + 1].str, &n) || n < 0) continue;
    if (field == "scanned") {
      resp.set_scanned(static_cast<uint64_t>(n));
    } else if (field == "since") {
      *resp.mutable_since() = google::protobuf::util::TimeUtil::SecondsToTimestamp(n);
    } else if (absl::StartsWith(field, kActionField)) {
      (*resp.mutable_by_action())[field.substr(kActionField.size())] = static_cast<uint64_t>(n);
    }
  }
  return resp;
}

absl::StatusOr<farside::v1::HistoryResponse> StateStore::History(uint32_t limit) {
  if (limit == 0 || limit > options_.history_size) limit = std::min<uint32_t>(options_.history_size, 100);
  farside::v1::HistoryResponse resp;
  if (limit == 0) return resp;
  absl::StatusOr<std::vector<RedisReply>> replies =
      redis_->Pipeline({{"LRANGE", Key("history"), "0", std::to_string(limit - 1)}});
  if (!replies.ok()) return replies.status();
  if (absl::Status s = CheckReplies(*replies); !s.ok()) return s;
  for (const RedisReply& e : replies->front().elements) {
    farside::v1::ScanRecord rec;
    if (rec.ParseFromString(e.str)) *resp.add_records() = std::move(rec);
  }
  return resp;
}

}  // namespace farside::controller
