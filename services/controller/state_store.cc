// Stats and history in Redis. Counters are HINCRBY on one hash, so any number of
// controllers can share a Redis and still count each scan once.
#include "services/controller/state_store.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "lib/bayes/tokenizer.h"
#include "lib/common/names.h"
#include "lib/mime/message.h"

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

// A token as a hash field: its 8 bytes, little-endian (binary-safe in Redis).
// A leaky bucket, atomically: drain by the time passed (Redis's own clock, so controllers
// agree), then take one message if there is room. The key expires once it would be empty.
constexpr char kLeakyBucket[] = R"lua(
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local b = redis.call('HMGET', KEYS[1], 'l', 't')
local level = tonumber(b[1]) or 0
local last = tonumber(b[2]) or now
level = math.max(0, level - (now - last) / 1000 * rate)
local allowed = 0
if level + 1 <= burst then
  level = level + 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'l', tostring(level), 't', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(level / math.max(rate, 1e-9) * 1000) + 1000)
return {allowed, tostring(level)}
)lua";

// Autolearn, atomically: count the message only if its digest was not learned before.
constexpr char kAutoLearn[] = R"lua(
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
for i = 2, #ARGV do redis.call('HINCRBY', KEYS[3], ARGV[i], 1) end
return 1
)lua";


uint32_t Count(const RedisReply& r) {
  int64_t n = 0;
  if (r.type == RedisReply::Type::kString && absl::SimpleAtoi(r.str, &n) && n > 0) {
    return static_cast<uint32_t>(std::min<int64_t>(n, UINT32_MAX));
  }
  return 0;  // missing, or below zero after an unlearn that found less than it took
}

}  // namespace

std::string StateStore::Key(absl::string_view name) const {
  return absl::StrCat(options_.key_prefix, name);
}

StateStore::Era StateStore::CurrentEra() const {
  Era e;
  e.half_ms = std::max<int64_t>(1000, absl::ToInt64Milliseconds(options_.reputation_half_life));
  e.length_ms = 20 * e.half_ms;
  e.now_ms = absl::ToUnixMillis(absl::Now());
  e.index = e.now_ms / e.length_ms;
  e.start_ms = e.index * e.length_ms;
  return e;
}

std::string StateStore::RepKey(int64_t era, absl::string_view entity) const {
  return Key(absl::StrCat("rep:", era, ":", entity));
}

std::string StateStore::GreyKey(absl::string_view kind, absl::string_view hash) const {
  return Key(absl::StrCat("grey:", kind, hash));
}

void StateStore::FinishGreylist(const RedisReply& r, farside::v1::GreylistAnswer* out) const {
  const int64_t now = absl::ToUnixMillis(absl::Now());
  for (const RedisReply& e : r.elements) {
    int64_t first = 0;
    if (e.type != RedisReply::Type::kString || !absl::SimpleAtoi(e.str, &first)) continue;
    const int64_t age = std::max<int64_t>(0, now - first);
    if (!out->seen() || age > out->age_ms()) out->set_age_ms(age);
    out->set_seen(true);
  }
}

std::string StateStore::BayesKey(absl::string_view name, absl::string_view user) const {
  return user.empty() ? Key(absl::StrCat("bayes:", name))
                      : Key(absl::StrCat("bayes:", name, ":", absl::AsciiStrToLower(user)));
}

void StateStore::PlanBayes(const farside::v1::MessageQuery& q,
                           std::vector<std::vector<std::string>>* cmds, std::vector<int>* misses,
                           farside::v1::BayesCounts* out) {
  const absl::Time now = absl::Now();
  std::vector<std::string> spam = {"HMGET", BayesKey("spam", q.bayes_user())};
  std::vector<std::string> ham = {"HMGET", BayesKey("ham", q.bayes_user())};
  for (int i = 0; i < q.bayes_tokens_size(); ++i) {
    TokenCache::Counts c;
    // A token Redis has never had is zero without asking (shared statistics only).
    if (known_ != nullptr && q.bayes_user().empty() && !known_->MayExist(q.bayes_tokens(i))) {
      out->add_spam(0);
      out->add_ham(0);
      continue;
    }
    if (cache_.Get(q.bayes_user(), q.bayes_tokens(i), now, &c)) {
      out->add_spam(c.spam);
      out->add_ham(c.ham);
      continue;
    }
    out->add_spam(0);
    out->add_ham(0);
    misses->push_back(i);
    spam.push_back(TokenField(q.bayes_tokens(i)));
    ham.push_back(spam.back());
  }
  // Only the tokens the cache could not answer cost Redis anything; the totals always do
  // (two fields).
  cmds->push_back({"HMGET", BayesKey("learned", q.bayes_user()), "spam", "ham"});
  if (!misses->empty()) {
    cmds->push_back(std::move(spam));
    cmds->push_back(std::move(ham));
  }
}

void StateStore::FinishBayes(const farside::v1::MessageQuery& q,
                             const std::vector<RedisReply>& replies, size_t first,
                             const std::vector<int>& misses, farside::v1::BayesCounts* out) {
  if (replies.size() <= first) return;
  const RedisReply& learned = replies[first];
  if (learned.elements.size() == 2) {
    out->set_learned_spam(Count(learned.elements[0]));
    out->set_learned_ham(Count(learned.elements[1]));
    if (known_ != nullptr && q.bayes_user().empty()) {
      known_->NoteLearned(out->learned_spam() + out->learned_ham());
    }
  }
  if (misses.empty() || replies.size() < first + 3) return;
  const RedisReply& spam = replies[first + 1];
  const RedisReply& ham = replies[first + 2];
  const absl::Time now = absl::Now();
  for (size_t j = 0; j < misses.size(); ++j) {
    TokenCache::Counts c;
    c.spam = j < spam.elements.size() ? Count(spam.elements[j]) : 0;
    c.ham = j < ham.elements.size() ? Count(ham.elements[j]) : 0;
    out->set_spam(misses[j], c.spam);
    out->set_ham(misses[j], c.ham);
    cache_.Put(q.bayes_user(), q.bayes_tokens(misses[j]), c, now);
  }
}

// Stats counters and history for the records a call carries: a fixed handful of commands,
// whatever the number of records.
void StateStore::AppendRecordCommands(const farside::v1::ExchangeRequest& req,
                                      std::vector<std::vector<std::string>>* cmds) const {
  const std::string stats = Key("stats");
  const std::string history = Key("history");
  std::map<std::string, int64_t> by_action;
  std::vector<std::string> lpush = {"LPUSH", history};
  for (const auto& rec : req.records()) {
    by_action[ActionName(rec.action())]++;
    if (rec.has_autolearn()) {
      farside::v1::ScanRecord kept = rec;
      kept.mutable_autolearn()->clear_tokens();
      lpush.push_back(kept.SerializeAsString());
    } else {
      lpush.push_back(rec.SerializeAsString());
    }
  }
  cmds->push_back({"HINCRBY", stats, "scanned", std::to_string(req.records_size())});
  for (const auto& [action, n] : by_action) {
    cmds->push_back({"HINCRBY", stats, absl::StrCat(kActionField, action), std::to_string(n)});
  }
  cmds->push_back({"HSETNX", stats, "since", std::to_string(absl::ToUnixSeconds(absl::Now()))});
  for (const auto& rec : req.records()) {
    if (!rec.has_autolearn() || rec.autolearn().tokens_size() == 0) continue;
    const auto& al = rec.autolearn();
    if (al.label() != farside::v1::LEARN_CLASS_SPAM && al.label() != farside::v1::LEARN_CLASS_HAM) continue;
    const std::string cls = al.label() == farside::v1::LEARN_CLASS_SPAM ? "spam" : "ham";
    std::vector<std::string> eval = {"EVALSHA", redis_->Script(kAutoLearn), "3",
                                     BayesKey(absl::StrCat("seen:", al.digest()), al.user()),
                                     BayesKey("learned", al.user()), BayesKey(cls, al.user()), cls};
    for (uint64_t t : al.tokens()) eval.push_back(TokenField(t));
    if (known_ != nullptr && al.user().empty()) known_->Add({al.tokens().begin(), al.tokens().end()});
    cmds->push_back(std::move(eval));
  }
  // Reputation votes, summed per entity over the call's records: one script per entity.
  std::map<std::string, std::pair<int64_t, int64_t>> votes;
  for (const auto& rec : req.records()) {
    if (rec.reputation_vote() == 0) continue;
    for (const std::string& k : rec.reputation_keys()) {
      auto& v = votes[k];
      (rec.reputation_vote() > 0 ? v.first : v.second)++;
    }
  }
  // Decay without reading: a vote weighs 2^(age in the era / half-life) when added, and a
  // read scales the sum back to now. Eras of 20 half-lives keep the weights small; a read
  // takes this era's key and the last one's.
  const Era era = CurrentEra();
  for (const auto& [k, v] : votes) {
    const std::string key = RepKey(era.index, k);
    const double w = std::exp2(static_cast<double>(era.now_ms - era.start_ms) / static_cast<double>(era.half_ms));
    if (v.first > 0) cmds->push_back({"HINCRBYFLOAT", key, "s", absl::StrCat(static_cast<double>(v.first) * w)});
    if (v.second > 0) cmds->push_back({"HINCRBYFLOAT", key, "h", absl::StrCat(static_cast<double>(v.second) * w)});
    cmds->push_back({"PEXPIRE", key, std::to_string(2 * era.length_ms)});
  }
  // Greylisting: a first sight is stamped with this controller's clock unless an earlier
  // one stands (NX), so a retry's age counts from the first try; a pass extends the entry.
  const std::string now_ms = std::to_string(absl::ToUnixMillis(absl::Now()));
  for (const auto& rec : req.records()) {
    if (!rec.has_greylist()) continue;
    const auto& g = rec.greylist();
    const std::string ttl = std::to_string(std::max<int64_t>(g.ttl_ms(), 1000));
    for (const std::string& key : {GreyKey("t:", g.keys().triplet()), GreyKey("b:", g.keys().body())}) {
      if (g.passed()) {
        cmds->push_back({"PEXPIRE", key, ttl});
      } else {
        cmds->push_back({"SET", key, now_ms, "NX", "PX", ttl});
      }
    }
  }
  if (options_.history_size > 0) {
    cmds->push_back(std::move(lpush));
    // Trimmed every 16th call: the list runs at most 15 calls' records over its size.
    if (req.records_size() >= 16 || trims_.fetch_add(1, std::memory_order_relaxed) % 16 == 0) {
      cmds->push_back({"LTRIM", history, "0", std::to_string(options_.history_size - 1)});
    }
  }
}

void StateStore::FinishRateLimits(const farside::v1::MessageQuery& q,
                                  const std::vector<RedisReply>& replies,
                                  farside::v1::ExchangeResponse* resp) {
  for (int i = 0; i < q.ratelimits_size() && static_cast<size_t>(i) < replies.size(); ++i) {
    const RedisReply& r = replies[static_cast<size_t>(i)];
    auto* a = resp->add_ratelimits();
    a->set_name(q.ratelimits(i).name());
    a->set_key(q.ratelimits(i).key());
    // A bucket Redis could not answer for lets the message through.
    a->set_allowed(r.elements.size() != 2 || r.elements[0].integer != 0);
    double level = 0;
    if (r.elements.size() == 2 && absl::SimpleAtod(r.elements[1].str, &level)) a->set_level(level);
  }
}

absl::StatusOr<farside::v1::ExchangeResponse> StateStore::Exchange(
    const farside::v1::ExchangeRequest& req) {
  farside::v1::ExchangeResponse resp;
  const auto& q = req.query();
  const bool bayes = q.bayes_tokens_size() > 0;
  if (req.records_size() == 0 && !bayes && q.ratelimits_size() == 0 && !q.has_greylist() &&
      q.reputation_keys_size() == 0) {
    return resp;
  }
  std::vector<std::vector<std::string>> cmds;
  // Rate limits first: their replies are the pipeline's first ones.
  for (const auto& rl : q.ratelimits()) {
    cmds.push_back({"EVALSHA", redis_->Script(kLeakyBucket), "1", Key(absl::StrCat("rl:", rl.name(), ":", rl.key())),
                    absl::StrCat(rl.burst()), absl::StrCat(rl.rate())});
  }
  const size_t bayes_first = cmds.size();
  std::vector<int> misses;
  if (bayes) PlanBayes(q, &cmds, &misses, resp.mutable_bayes());
  const size_t grey = cmds.size();
  if (q.has_greylist()) {
    cmds.push_back({"MGET", GreyKey("t:", q.greylist().triplet()), GreyKey("b:", q.greylist().body())});
  }
  const size_t rep = cmds.size();
  const Era era = CurrentEra();
  // The last era's votes matter only early in this one: ten half-lives in, they weigh a
  // thousandth, and are not read.
  const bool last_era = era.now_ms - era.start_ms < 10 * era.half_ms;
  for (const std::string& k : q.reputation_keys()) {
    cmds.push_back({"HMGET", RepKey(era.index, k), "s", "h"});
    if (last_era) cmds.push_back({"HMGET", RepKey(era.index - 1, k), "s", "h"});
  }
  if (req.records_size() > 0) AppendRecordCommands(req, &cmds);
  absl::StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  if (absl::Status s = CheckReplies(*replies); !s.ok()) return s;
  FinishRateLimits(q, *replies, &resp);
  if (bayes) FinishBayes(q, *replies, bayes_first, misses, resp.mutable_bayes());
  if (q.has_greylist() && replies->size() > grey) FinishGreylist((*replies)[grey], resp.mutable_greylist());
  const size_t per = last_era ? 2 : 1;
  for (int i = 0; i < q.reputation_keys_size(); ++i) {
    const size_t at = rep + per * static_cast<size_t>(i);
    if (at + per > replies->size()) break;
    double sp = 0, hm = 0;
    bool any = false;
    for (int e = 0; e < static_cast<int>(per); ++e) {
      const RedisReply& r = (*replies)[at + static_cast<size_t>(e)];
      const int64_t start = era.start_ms - e * era.length_ms;
      const double f = std::exp2(-static_cast<double>(era.now_ms - start) / static_cast<double>(era.half_ms));
      if (r.elements.size() != 2) continue;
      double v = 0;
      if (absl::SimpleAtod(r.elements[0].str, &v)) {
        sp += v * f;
        any = true;
      }
      if (absl::SimpleAtod(r.elements[1].str, &v)) {
        hm += v * f;
        any = true;
      }
    }
    if (!any) continue;
    auto* a = resp.add_reputation();
    a->set_key(q.reputation_keys(i));
    a->set_spam(sp);
    a->set_ham(hm);
  }
  resp.set_records_stored(req.records_size());
  return resp;
}

absl::StatusOr<farside::v1::LearnResponse> StateStore::Learn(const farside::v1::LearnRequest& req) {
  if (req.label() != farside::v1::LEARN_CLASS_SPAM && req.label() != farside::v1::LEARN_CLASS_HAM) {
    return absl::InvalidArgumentError("learn: the label must be spam or ham");
  }
  if (req.message().empty()) return absl::InvalidArgumentError("learn: no message");
  const std::string cls = req.label() == farside::v1::LEARN_CLASS_SPAM ? "spam" : "ham";
  const std::string other = cls == "spam" ? "ham" : "spam";
  mime::Message msg = mime::Message::Parse(req.message(), mime::Message::DefaultLimits());
  bayes::TokenizerOptions to;
  to.max_tokens = options_.bayes_max_tokens;
  std::vector<uint64_t> tokens = bayes::Tokenize(msg, to);
  farside::v1::LearnResponse resp;
  resp.set_tokens(static_cast<uint32_t>(tokens.size()));
  const std::string seen = BayesKey(absl::StrCat("seen:", bayes::LearnDigest(msg)), req.user());
  // Who learns a message is decided by this one atomic SET, so two controllers learning
  // the same message at once count it once.
  absl::StatusOr<std::vector<RedisReply>> first =
      redis_->Pipeline({{"SET", seen, cls, "NX", "GET"}});
  if (!first.ok()) return first.status();
  if (absl::Status s = CheckReplies(*first); !s.ok()) return s;
  const RedisReply& was = first->front();
  const bool relearn = was.type == RedisReply::Type::kString && was.str == other;
  if (was.type == RedisReply::Type::kString && !relearn) {
    resp.set_reason(absl::StrCat("already learned as ", was.str));
    return resp;
  }
  if (relearn) {
    absl::StatusOr<std::vector<RedisReply>> moved = redis_->Pipeline({{"SET", seen, cls}});
    if (!moved.ok()) return moved.status();
  }
  LearnWrite w{BayesKey("learned", req.user()), BayesKey(cls, req.user()), BayesKey(other, req.user()),
               cls, other, &tokens, relearn, false, absl::OkStatus()};
  if (absl::Status s = WriteLearned(&w); !s.ok()) return s;
  if (known_ != nullptr && req.user().empty()) known_->Add(tokens);
  for (uint64_t t : tokens) {
    cache_.Add(req.user(), t, cls == "spam" ? 1 : (relearn ? -1 : 0), cls == "ham" ? 1 : (relearn ? -1 : 0));
  }
  resp.set_learned(true);
  resp.set_relearned(relearn);
  if (relearn) resp.set_reason(absl::StrCat("relearned from ", other));
  return resp;
}

absl::Status StateStore::WriteLearned(LearnWrite* w) {
  std::unique_lock<std::mutex> lock(learn_mu_);
  learn_queue_.push_back(w);
  while (!w->done) {
    if (learn_flushing_) {
      learn_cv_.wait(lock, [&] { return w->done || !learn_flushing_; });
      continue;
    }
    // This call writes one batch: everything queued, its own write included. A caller still
    // waiting afterwards leads the next one.
    learn_flushing_ = true;
    std::vector<LearnWrite*> batch(learn_queue_.begin(), learn_queue_.end());
    learn_queue_.clear();
    lock.unlock();
    // Per hash key, token -> delta; the learned totals apart.
    std::vector<std::string> keys;
    std::vector<absl::flat_hash_map<uint64_t, int64_t>> deltas;
    std::map<std::pair<std::string, std::string>, int64_t> totals;
    auto slot = [&](const std::string& key) -> absl::flat_hash_map<uint64_t, int64_t>& {
      for (size_t i = 0; i < keys.size(); ++i) {
        if (keys[i] == key) return deltas[i];
      }
      keys.push_back(key);
      return deltas.emplace_back();
    };
    for (LearnWrite* b : batch) {
      totals[{b->learned, b->cls}]++;
      if (b->relearn) totals[{b->learned, b->other}]--;
      auto& add = slot(b->add);
      for (uint64_t t : *b->tokens) add[t]++;
      if (b->relearn) {
        auto& sub = slot(b->sub);
        for (uint64_t t : *b->tokens) sub[t]--;
      }
    }
    std::string resp;
    size_t count = 0;
    for (const auto& [kf, d] : totals) {
      RedisClient::AppendCommand(&resp, {"HINCRBY", kf.first, kf.second, std::to_string(d)});
      ++count;
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      for (const auto& [t, d] : deltas[i]) {
        if (d == 0) continue;
        RedisClient::AppendCommand(&resp, {"HINCRBY", keys[i], TokenField(t), std::to_string(d)});
        ++count;
      }
    }
    absl::StatusOr<std::vector<RedisReply>> replies = redis_->PipelineFormatted(resp, count);
    const absl::Status st = replies.ok() ? CheckReplies(*replies) : replies.status();
    lock.lock();
    for (LearnWrite* b : batch) {
      b->status = st;
      b->done = true;
    }
    learn_flushing_ = false;
    learn_cv_.notify_all();
  }
  return w->status;
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
