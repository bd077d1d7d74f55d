// One asynchronous DNS resolver (c-ares) for every check of a scanner: callers hand it a
// message's queries at once and wait for all of them until their deadline (the waiting
// caller drives c-ares itself, so no thread hand-off per answer), answers are cached by their
// TTL, and servers come from config (tests and air-gapped sites point at their own). A
// caller never waits past its deadline.
#ifndef FARSIDE_LIB_DNS_RESOLVER_H_
#define FARSIDE_LIB_DNS_RESOLVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace farside::dns {

enum class Type { kA, kAaaa, kTxt, kMx, kPtr };

struct Answer {
  enum class Status { kOk, kNxDomain, kNoData, kTimeout, kError };
  Status status = Status::kError;
  // A/AAAA: dotted or colon addresses; TXT: a record's strings joined; MX: exchange names
  // (lowest preference first); PTR: names.
  std::vector<std::string> records;
  uint32_t ttl = 0;                  // seconds, as cached
  bool cached = false;               // answered from the cache
  std::string error;                 // for kError
};

struct Query {
  std::string name;
  Type type = Type::kA;
};

class Resolver {
 public:
  struct Options {
    std::vector<std::string> servers = {"127.0.0.1:53"};  // "host:port"
    absl::Duration query_timeout = absl::Seconds(1);       // per try
    int tries = 2;
    size_t cache_entries = 100000;
    absl::Duration negative_ttl = absl::Seconds(60);       // NXDOMAIN and no-data answers
    absl::Duration max_ttl = absl::Hours(24);
  };
  // Errors: no servers, or one that does not parse.
  static absl::StatusOr<std::unique_ptr<Resolver>> Create(const Options& options);
  ~Resolver();

  // Every query's answer, in order. Queries still open at `deadline` answer kTimeout (and
  // finish in the background, so the cache still learns them).
  std::vector<Answer> Lookup(const std::vector<Query>& queries, absl::Time deadline);

  // Sends what is not cached yet and returns at once: a scan starts its first lookups before
  // its CPU work and finds them cached, or on the wire, when it asks.
  void Prefetch(const std::vector<Query>& queries);

  size_t cache_size() const;

  struct Impl;

 private:
  explicit Resolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace farside::dns

#endif  // FARSIDE_LIB_DNS_RESOLVER_H_
