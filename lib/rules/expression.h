// The composite ("meta") expression language: arithmetic and logic over other symbols, as
// SpamAssassin's meta rules and Rspamd's composites write them:
//   (FROM_DISPLAY_OTHER_DOMAIN && !DKIM_PASS) || (URI_SHORTENER + URI_IP_LITERAL > 1)
// A symbol's value is what the lookup gives (1 for a hit, 0 for none, or a hit count).
// Operators by precedence, lowest first: ||, &&, comparisons (== != < <= > >=), + and -,
// * and /, then unary ! and -. && and || give 1 or 0.
#ifndef FARSIDE_LIB_RULES_EXPRESSION_H_
#define FARSIDE_LIB_RULES_EXPRESSION_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace farside::rules {

class Expression {
 public:
  struct Limits {
    size_t max_length = 10000;  // characters
    size_t max_depth = 64;      // nesting of parentheses and operators
  };
  // InvalidArgument naming the position and what was expected; never crashes on input.
  static absl::StatusOr<Expression> Parse(absl::string_view text, const Limits& limits);
  static absl::StatusOr<Expression> Parse(absl::string_view text) { return Parse(text, Limits()); }

  using Lookup = std::function<double(const std::string& symbol)>;
  double Evaluate(const Lookup& value) const;
  // The same with value(k) the value of symbols()[k] (no name lookups, for the hot path),
  // asked only for the symbols the result depends on: && and || stop at their first
  // decisive operand.
  double Evaluate(const std::function<double(size_t slot)>& value) const;
  // True when Evaluate gives a value other than 0.
  bool Matches(const Lookup& value) const { return Evaluate(value) != 0; }

  // The symbols the expression reads, each once, in order of first use (for ordering rules
  // and finding cycles).
  const std::vector<std::string>& symbols() const { return symbols_; }

  struct Node;

 private:
  std::shared_ptr<const Node> root_;
  std::vector<std::string> symbols_;
};

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_EXPRESSION_H_
