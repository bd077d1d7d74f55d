// Which Bayes tokens Redis holds at all (shared statistics), so the controller answers "never
// seen" itself: most tokens of new mail are new, and asking Redis about each would cost it
// more than everything else a message needs. Loaded by HSCAN in the background, refreshed
// every interval (tokens learned through other controllers appear then), and updated at
// once by what this controller learns.
#ifndef FARSIDE_SERVICES_CONTROLLER_KNOWN_TOKENS_H_
#define FARSIDE_SERVICES_CONTROLLER_KNOWN_TOKENS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "services/controller/redis_client.h"

namespace farside::controller {

class KnownTokens {
 public:
  struct Options {
    std::vector<std::string> keys;  // the hashes whose fields are tokens
    absl::Duration refresh = absl::Minutes(10);
    size_t max_tokens = 50000000;   // beyond this the set is not kept (answers "maybe")
    // Expiry: when the hashes hold more fields than this together, a scan deletes the tokens
    // seen in one message only (and any left at zero). 0: never.
    size_t prune_above = 0;
  };
  // `redis` is not owned. Starts the loading thread.
  KnownTokens(RedisClient* redis, Options options);
  ~KnownTokens();

  // False until the first full scan: then every token may be known.
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  // Whether Redis may hold `token`; true whenever the set cannot tell.
  bool MayExist(uint64_t token) const;
  void Add(const std::vector<uint64_t>& tokens);  // one message learned here
  // The learned-message total Redis reports: when what other controllers learned has grown
  // by a twentieth since the last scan, the set is read again now.
  void NoteLearned(uint64_t total);
  size_t size() const;

 private:
  void Loop();
  // One full HSCAN of every key into a new set; false if Redis failed or the set grew too big.
  bool Scan(absl::flat_hash_set<uint64_t>* out);
  size_t pruned_ = 0;  // by the last scan

  RedisClient* redis_;
  Options options_;
  std::atomic<bool> ready_{false};
  mutable std::mutex mu_;
  absl::flat_hash_set<uint64_t> set_;
  // Learned while a scan runs: added to its result when it is swapped in.
  std::vector<uint64_t> during_scan_;
  bool scanning_ = false;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool refresh_now_ = false;
  // Messages learned elsewhere: Redis's total less what this controller learned itself.
  uint64_t learned_ = 0, local_ = 0, elsewhere_at_scan_ = 0;
  std::thread thread_;
};

// A token's 8-byte field name in the Bayes hashes (little-endian), and back.
std::string TokenField(uint64_t t);
uint64_t FieldToken(const std::string& f);

}  // namespace farside::controller

#endif  // FARSIDE_SERVICES_CONTROLLER_KNOWN_TOKENS_H_
