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
  // With `start`, the search begins there (lookbehinds still see what is before it).
  std::optional<absl::string_view> Find(absl::string_view text, uint32_t match_limit,
                                        size_t start = 0) const;
  // How many times the pattern matches, one match after another, counting at most `max`.
  uint32_t Count(absl::string_view text, uint32_t match_limit, uint32_t max) const;

  struct Code;

 private:
  std::shared_ptr<Code> code_;
};

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_REGEX_H_
