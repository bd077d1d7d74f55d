// A compiled PCRE2 pattern (UTF-8, invalid UTF tolerated, JIT-compiled once at load) and a
// bounded search: a pathological pattern gives up at the match limit instead of hanging.
#ifndef FARSIDE_LIB_RULES_REGEX_H_
#define FARSIDE_LIB_RULES_REGEX_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace farside::rules {

class Regex {
 public:
  // `flags`: any of i (caseless), m (multiline), s (dotall), x (extended), b (bytes, not
  // UTF-8: for imported rules written against raw bytes).
  static absl::StatusOr<Regex> Compile(absl::string_view pattern, absl::string_view flags);
  // The first match in `text`, pointing into it; nullopt if none (or the limit was hit).
  std::optional<absl::string_view> Find(absl::string_view text, uint32_t match_limit) const;

  struct Code;

 private:
  std::shared_ptr<Code> code_;
};

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_REGEX_H_
