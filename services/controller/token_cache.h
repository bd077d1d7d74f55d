// The controller's cache of Bayes token counts, so a classified message costs Redis only the
// tokens it has not seen lately. Entries older than the TTL are read again (that bounds how
// stale counts learned through another controller can be); memory is bounded by keeping
// two generations and dropping the older one when the newer fills up.
#ifndef FARSIDE_SERVICES_CONTROLLER_TOKEN_CACHE_H_
#define FARSIDE_SERVICES_CONTROLLER_TOKEN_CACHE_H_

#include <array>
#include <cstdint>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace farside::controller {

class TokenCache {
 public:
  struct Counts {
    uint32_t spam = 0;
    uint32_t ham = 0;
  };
  // `max_tokens` entries at most (0: no cache); `ttl` the longest an entry is trusted.
  TokenCache(size_t max_tokens, absl::Duration ttl);

  // The counts of `token` in the statistics `scope` ("" shared, or a user), when cached and
  // fresh.
  bool Get(const std::string& scope, uint64_t token, absl::Time now, Counts* out);
  void Put(const std::string& scope, uint64_t token, Counts c, absl::Time now);
  // Learning through this controller changes the counts it caches right away.
  void Add(const std::string& scope, uint64_t token, int spam, int ham);
  size_t size() const;

 private:
  struct Entry {
    Counts counts;
    int64_t fetched;  // Unix seconds
  };
  struct Shard {
    mutable std::mutex mu;
    absl::flat_hash_map<uint64_t, Entry> young, old;
  };
  static uint64_t Key(const std::string& scope, uint64_t token);
  Shard& ShardOf(uint64_t key) { return shards_[key % shards_.size()]; }

  size_t per_shard_;
  int64_t ttl_s_;
  std::array<Shard, 16> shards_;
};

}  // namespace farside::controller

#endif  // FARSIDE_SERVICES_CONTROLLER_TOKEN_CACHE_H_
