// The known-token set: HSCAN into a fresh set, swapped in whole.
#include "services/controller/known_tokens.h"

#include "lib/common/log.h"

namespace farside::controller {

std::string TokenField(uint64_t t) {
  std::string f(8, '\0');
  for (int i = 0; i < 8; ++i) f[static_cast<size_t>(i)] = static_cast<char>(t >> (8 * i));
  return f;
}

uint64_t FieldToken(const std::string& f) {
  uint64_t t = 0;
  for (size_t i = 0; i < 8 && i < f.size(); ++i) t |= uint64_t{static_cast<unsigned char>(f[i])} << (8 * i);
  return t;
}

KnownTokens::KnownTokens(RedisClient* redis, Options options)
    : redis_(redis), options_(std::move(options)) {
  thread_ = std::thread([this] { Loop(); });
}

KnownTokens::~KnownTokens() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool KnownTokens::MayExist(uint64_t token) const {
  if (!ready()) return true;
  std::lock_guard<std::mutex> lock(mu_);
  return set_.contains(token);
}

void KnownTokens::Add(const std::vector<uint64_t>& tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  set_.insert(tokens.begin(), tokens.end());
  ++local_;
  if (scanning_) during_scan_.insert(during_scan_.end(), tokens.begin(), tokens.end());
}

void KnownTokens::NoteLearned(uint64_t total) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    learned_ = total;
    const uint64_t elsewhere = total > local_ ? total - local_ : 0;
    if (!scanning_ && !refresh_now_ && elsewhere > elsewhere_at_scan_ + elsewhere_at_scan_ / 20 + 5) {
      refresh_now_ = wake = true;
    }
  }
  if (wake) cv_.notify_all();
}

size_t KnownTokens::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return set_.size();
}

bool KnownTokens::Scan(absl::flat_hash_set<uint64_t>* out) {
  bool prune = false;
  pruned_ = 0;
  if (options_.prune_above > 0) {
    std::vector<std::vector<std::string>> lens;
    for (const std::string& key : options_.keys) lens.push_back({"HLEN", key});
    absl::StatusOr<std::vector<RedisReply>> r = redis_->Pipeline(lens);
    if (!r.ok()) return false;
    int64_t total = 0;
    for (const RedisReply& n : *r) total += n.integer;
    prune = total > static_cast<int64_t>(options_.prune_above);
  }
  for (const std::string& key : options_.keys) {
    std::string cursor = "0";
    do {
      absl::StatusOr<std::vector<RedisReply>> r =
          redis_->Pipeline({{"HSCAN", key, cursor, "COUNT", "5000"}});
      if (!r.ok() || r->size() != 1 || r->front().elements.size() != 2) return false;
      const RedisReply& page = r->front();
      cursor = page.elements[0].str;
      const auto& kv = page.elements[1].elements;
      std::vector<std::string> hdel = {"HDEL", key};
      for (size_t i = 0; i + 1 < kv.size(); i += 2) {
        if (kv[i].str.size() != 8) continue;
        if (prune && (kv[i + 1].str == "1" || kv[i + 1].str == "0" || kv[i + 1].str[0] == '-')) {
          hdel.push_back(kv[i].str);
          continue;
        }
        out->insert(FieldToken(kv[i].str));
      }
      if (hdel.size() > 2) {
        // A token deleted from one class may still be counted in the other: it stays known
        // there, since that hash's own scan adds it.
        pruned_ += hdel.size() - 2;
        if (!redis_->Pipeline({hdel}).ok()) return false;
      }
      if (out->size() > options_.max_tokens) return false;
    } while (cursor != "0");
  }
  return true;
}

void KnownTokens::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    scanning_ = true;
    refresh_now_ = false;
    elsewhere_at_scan_ = learned_ > local_ ? learned_ - local_ : 0;
    during_scan_.clear();
    lock.unlock();
    const absl::Time start = absl::Now();
    absl::flat_hash_set<uint64_t> fresh;
    const bool ok = Scan(&fresh);
    lock.lock();
    scanning_ = false;
    if (ok) {
      fresh.insert(during_scan_.begin(), during_scan_.end());
      set_ = std::move(fresh);
      ready_.store(true, std::memory_order_release);
      log::Info("known Bayes tokens loaded",
                {{"tokens", set_.size()}, {"expired", pruned_},
                 {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
    } else if (fresh.size() > options_.max_tokens) {
      ready_.store(false, std::memory_order_release);  // too many to keep: ask Redis
      set_.clear();
    }
    during_scan_.clear();
    // A failed scan (Redis away) is tried again soon; a good one after the interval.
    cv_.wait_for(lock, absl::ToChronoNanoseconds(ok ? options_.refresh : absl::Seconds(5)),
                 [&] { return stopping_ || refresh_now_; });
  }
}

}  // namespace farside::controller
