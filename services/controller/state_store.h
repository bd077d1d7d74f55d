// The controller's shared state over Redis: it owns the key schema (docs/redis-keys.md)
// and turns each batched call into one pipeline.
#ifndef FARSIDE_SERVICES_CONTROLLER_STATE_STORE_H_
#define FARSIDE_SERVICES_CONTROLLER_STATE_STORE_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "farside/v1/state.pb.h"
#include "services/controller/known_tokens.h"
#include "services/controller/redis_client.h"
#include "services/controller/token_cache.h"

namespace farside::controller {

class StateStore {
 public:
  struct Options {
    std::string key_prefix = "farside:";
    uint32_t history_size = 1000;
    uint32_t bayes_max_tokens = 3000;
    size_t bayes_cache_tokens = 2000000;
    absl::Duration bayes_cache_ttl = absl::Seconds(60);
    // How often the set of tokens Redis holds is read again (0: no set; ask Redis always).
    absl::Duration bayes_known_refresh = absl::Minutes(10);
    size_t bayes_max_stored_tokens = 5000000;
    absl::Duration reputation_half_life = absl::Hours(72);
  };
  // `redis` is not owned.
  StateStore(RedisClient* redis, Options options)
      : redis_(redis),
        options_(std::move(options)),
        cache_(options_.bayes_cache_tokens, options_.bayes_cache_ttl) {
    if (options_.bayes_known_refresh > absl::ZeroDuration()) {
      known_ = std::make_unique<KnownTokens>(
          redis_, KnownTokens::Options{.keys = {BayesKey("spam", ""), BayesKey("ham", "")},
                                       .refresh = options_.bayes_known_refresh,
                                       .max_tokens = 50000000,
                                       .prune_above = options_.bayes_max_stored_tokens});
    }
  }

  // Answers one message's queries and writes the records it carries, in one pipeline.
  absl::StatusOr<farside::v1::ExchangeResponse> Exchange(const farside::v1::ExchangeRequest& req);
  // Counts a message's tokens as spam or ham. A message learned before as the same class is
  // refused (by a digest of its subject and body); one learned as the other class has its
  // tokens moved, not counted twice.
  absl::StatusOr<farside::v1::LearnResponse> Learn(const farside::v1::LearnRequest& req);
  absl::StatusOr<farside::v1::StatsResponse> Stats();
  absl::StatusOr<farside::v1::HistoryResponse> History(uint32_t limit);

 private:
  std::string Key(absl::string_view name) const;
  // Bayes keys: shared, or one set per user ("bayes:spam" or "bayes:spam:alice@x").
  std::string BayesKey(absl::string_view name, absl::string_view user) const;

  // Fills the counts of the query's tokens: from the cache, the rest from Redis in `cmds`
  // (appended here; `first` is where its replies start).
  void PlanBayes(const farside::v1::MessageQuery& q, std::vector<std::vector<std::string>>* cmds,
                 std::vector<int>* misses, farside::v1::BayesCounts* out);
  void FinishBayes(const farside::v1::MessageQuery& q, const std::vector<RedisReply>& replies,
                   size_t first, const std::vector<int>& misses, farside::v1::BayesCounts* out);

  // Greylist entries: "grey:t:<hash>" (triplet) and "grey:b:<hash>" (body), holding the
  // first sight in Unix milliseconds.
  std::string GreyKey(absl::string_view kind, absl::string_view hash) const;
  void FinishGreylist(const RedisReply& r, farside::v1::GreylistAnswer* out) const;

  // Reputation keys: "rep:<era>:<entity>", sums of weighted votes (see AppendRecordCommands).
  struct Era {
    int64_t index, start_ms, length_ms, half_ms, now_ms;
  };
  Era CurrentEra() const;
  std::string RepKey(int64_t era, absl::string_view entity) const;

  void AppendRecordCommands(const farside::v1::ExchangeRequest& req,
                            std::vector<std::vector<std::string>>* cmds) const;
  void FinishRateLimits(const farside::v1::MessageQuery& q, const std::vector<RedisReply>& replies,
                        farside::v1::ExchangeResponse* resp);

  // Learning's counter updates, merged across the calls that arrive while one batch is in
  // Redis (group commit): a token in several messages is one HINCRBY by their sum.
  struct LearnWrite {
    std::string learned, add, sub;  // hash keys: the totals, the class learned, the other
    std::string cls, other;         // "spam" / "ham"
    const std::vector<uint64_t>* tokens;
    bool relearn;                   // the other class gives the message (and its tokens) back
    bool done = false;
    absl::Status status;
  };
  absl::Status WriteLearned(LearnWrite* w);

  RedisClient* redis_;
  Options options_;
  TokenCache cache_;
  std::unique_ptr<KnownTokens> known_;
  mutable std::atomic<uint64_t> trims_{0};
  std::mutex learn_mu_;
  std::condition_variable learn_cv_;
  std::deque<LearnWrite*> learn_queue_;
  bool learn_flushing_ = false;
};

}  // namespace farside::controller

#endif  // FARSIDE_SERVICES_CONTROLLER_STATE_STORE_H_
