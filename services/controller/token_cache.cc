// Two-generation, sharded cache of token counts.
#include "services/controller/token_cache.h"

#include <algorithm>
#include <functional>

namespace farside::controller {

TokenCache::TokenCache(size_t max_tokens, absl::Duration ttl)
    : per_shard_(max_tokens / 16 / 2), ttl_s_(std::max<int64_t>(1, absl::ToInt64Seconds(ttl))) {}

uint64_t TokenCache::Key(const std::string& scope, uint64_t token) {
  // Per-user statistics get their own keys; the shared scope is the token itself.
  return scope.empty() ? token : token ^ (std::hash<std::string>()(scope) * 0x9e3779b97f4a7c15ULL);
}

bool TokenCache::Get(const std::string& scope, uint64_t token, absl::Time now, Counts* out) {
  if (per_shard_ == 0) return false;
  const uint64_t k = Key(scope, token);
  Shard& s = ShardOf(k);
  const int64_t t = absl::ToUnixSeconds(now);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.young.find(k);
  if (it == s.young.end()) {
    auto o = s.old.find(k);
    if (o == s.old.end() || t - o->second.fetched > ttl_s_) return false;
    // Still in use: carry it into the young generation.
    it = s.young.insert(*o).first;
    s.old.erase(o);
  }
  if (t - it->second.fetched > ttl_s_) return false;
  *out = it->second.counts;
  return true;
}

void TokenCache::Put(const std::string& scope, uint64_t token, Counts c, absl::Time now) {
  if (per_shard_ == 0) return;
  const uint64_t k = Key(scope, token);
  Shard& s = ShardOf(k);
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.young.size() >= per_shard_) {
    s.old = std::move(s.young);  // the older generation goes
    s.young = {};
    s.young.reserve(per_shard_);
  }
  s.young[k] = Entry{c, absl::ToUnixSeconds(now)};
}

void TokenCache::Add(const std::string& scope, uint64_t token, int spam, int ham) {
  if (per_shard_ == 0) return;
  const uint64_t k = Key(scope, token);
  Shard& s = ShardOf(k);
  std::lock_guard<std::mutex> lock(s.mu);
  for (auto* gen : {&s.young, &s.old}) {
    auto it = gen->find(k);
    if (it == gen->end()) continue;
    Counts& c = it->second.counts;
    c.spam = static_cast<uint32_t>(std::max<int64_t>(0, int64_t{c.spam} + spam));
    c.ham = static_cast<uint32_t>(std::max<int64_t>(0, int64_t{c.ham} + ham));
  }
}

size_t TokenCache::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.young.size() + s.old.size();
  }
  return n;
}

}  // namespace farside::controller
