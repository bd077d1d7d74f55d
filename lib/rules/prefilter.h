// A multi-pattern prefilter over Vectorscan: one pass over a text tells which of many
// regexes may match it, so PCRE2 only confirms those few instead of trying them all.
// Patterns are compiled in Vectorscan's prefilter mode (a superset of each pattern's
// matches: false positives, never false negatives); a pattern it cannot take is simply
// not covered and is always run.
#ifndef FARSIDE_LIB_RULES_PREFILTER_H_
#define FARSIDE_LIB_RULES_PREFILTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace farside::rules {

class Prefilter {
 public:
  struct Pattern {
    std::string pattern;
    std::string flags;  // as for Regex::Compile: i m s x b
    // Read instead of `pattern` for plain texts (IsPlainText), when not empty; it must
    // match there wherever `pattern` does.
    std::string plain = "";
  };
  // Null when no pattern could be compiled (every one is then run as before). With a
  // `cache_dir`, a database compiled before for the same patterns is loaded from there, and
  // a new one is stored there. When some pattern has a plain form, plain texts are scanned
  // with a second database of those forms.
  static std::unique_ptr<Prefilter> Build(const std::vector<Pattern>& patterns,
                                          const std::string& cache_dir = "");
  ~Prefilter();
  Prefilter(const Prefilter&) = delete;
  Prefilter& operator=(const Prefilter&) = delete;

  // Whether pattern i is in the database (if not, the caller must run it).
  bool covers(size_t i) const { return covered_[i] != 0; }
  size_t covered_count() const { return covered_count_; }
  // Sets maybe[i] = 1 for every covered pattern that may match `text`; `maybe` has one entry
  // per pattern given to Build. Text that is not valid UTF-8 marks every covered pattern
  // (Vectorscan's UTF-8 mode is undefined on it), so the answer is never wrong, only slower.
  void Scan(absl::string_view text, std::vector<char>* maybe) const;

  // Which Vectorscan runtime scans, or why none does (Build then returns null): for the log.
  static const std::string& Runtime();

 private:
  Prefilter() = default;
  struct Db;
  // One database. Its id k stands for the patterns members[first[k]] .. members[first[k+1]-1]:
  // identical patterns (a split rule's pieces share one widened pattern) are compiled once.
  struct Set {
    std::unique_ptr<Db> db;
    std::vector<uint32_t> first;
    std::vector<uint32_t> members;
    uint64_t serial = 0;  // tells thread-local scratch which databases it is sized for
  };
  void ScanSet(const Set& set, absl::string_view text, std::vector<char>* maybe) const;
  Set all_;                     // every text
  std::unique_ptr<Set> plain_;  // plain texts, when some pattern has a plain form
  std::vector<char> covered_;
  size_t covered_count_ = 0;
  bool any_utf8_ = false;
};

// `re` with every counted repeat ({m}, {m,}, {m,n}) whose bound reaches `threshold` made
// {k,} with k = min(m, threshold - 1) (* or + for k of 0 or 1): a pattern matching a
// superset of the original's matches, and cheap to compile.
std::string LoosenRepeats(absl::string_view re, int threshold);

// `re` without its ^ and $ assertions (outside classes, not escaped): a superset, for the
// patterns Vectorscan refuses for an anchor inside them, such as "(?:$|\W)word".
std::string DropAnchors(absl::string_view re);

// Whether every byte of `text` is below 0x80 and it holds no "&#" (no numeric character
// reference): where the homoglyph tags' high bytes and entities cannot match.
bool IsPlainText(absl::string_view text);

// Whether `s` is well-formed UTF-8 (no overlongs, surrogates or values over U+10FFFF).
bool IsValidUtf8(absl::string_view s);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_PREFILTER_H_
