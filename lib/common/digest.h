// Hex digests over OpenSSL: SHA-256 fed in pieces (message digests, cache file names) and
// SHA-1 (what Redis names its scripts by).
#ifndef FARSIDE_LIB_COMMON_DIGEST_H_
#define FARSIDE_LIB_COMMON_DIGEST_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

struct evp_md_ctx_st;

namespace farside {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& Update(absl::string_view data);
  // The first `bytes` (at most 32) of the digest, as lower-case hex. Call once.
  std::string Hex(size_t bytes = 32);

 private:
  evp_md_ctx_st* ctx_;
};

std::string Sha1Hex(absl::string_view data);

}  // namespace farside

#endif  // FARSIDE_LIB_COMMON_DIGEST_H_
