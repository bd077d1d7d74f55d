// The composite ("meta") expression language: arithmetic and logic over other symbols, as
// SpamAssassin's meta rules and Rspamd's composites write them:
//   (FROM_DISPLAY_OTHER_DOMAIN && !DKIM_PASS) || (URI_SHORTENER + URI_IP_LITERAL > 1)
// A symbol's value is what the lookup gives (1 for a hit, 0 for none, or a hit count).
// Operators by precedence, lowest first: ||, &&, comparisons (== != < <= > >=), + and -,
// * and /, then unary ! and -. && and || give 1 or 0.
#ifndef FARSIDE_LIB_RULES_EXPRESSION_H_
#define FARSIDE_LIB_RULES_EXPRESSION_H_

#include <cstdint>
#include <functional>
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
  // decisive operand. A template so that the lookup inlines: meta rules are evaluated
  // hundreds of times per message.
  template <typename F>
  double EvaluateSlots(const F& value) const {
    return nodes_.empty() ? 0 : At(nodes_.data(), static_cast<uint32_t>(nodes_.size() - 1), value);
  }
  // True when Evaluate gives a value other than 0.
  bool Matches(const Lookup& value) const { return Evaluate(value) != 0; }

  // The symbols the expression reads, each once, in order of first use (for ordering rules
  // and finding cycles).
  const std::vector<std::string>& symbols() const { return symbols_; }

  enum class Op : uint8_t { kNum, kSym, kNot, kNeg, kAnd, kOr, kAdd, kSub, kMul, kDiv,
                            kEq, kNe, kLt, kLe, kGt, kGe };
  // The tree, flattened with each node after its operands (the root last); a and b are
  // the operands' indexes, slot a symbol's index in symbols().
  struct Flat {
    Op op;
    uint32_t a = 0, b = 0, slot = 0;
    double num = 0;
  };
  const std::vector<Flat>& nodes() const { return nodes_; }

  // The value of node `i` of `nodes`, an array laid out as nodes() is, with v(slot) the
  // value of a symbol node. A caller may pool many expressions' nodes in one array (moving
  // a and b along) and give slot a meaning of its own.
  template <typename F>
  static double At(const Flat* nodes, uint32_t i, const F& v) {
    const Flat& n = nodes[i];
    switch (n.op) {
      case Op::kNum: return n.num;
      case Op::kSym: return v(static_cast<size_t>(n.slot));
      case Op::kNot: return At(nodes, n.a, v) == 0 ? 1 : 0;
      case Op::kNeg: return -At(nodes, n.a, v);
      case Op::kAnd: return At(nodes, n.a, v) != 0 && At(nodes, n.b, v) != 0 ? 1 : 0;
      case Op::kOr: return At(nodes, n.a, v) != 0 || At(nodes, n.b, v) != 0 ? 1 : 0;
      case Op::kAdd: return At(nodes, n.a, v) + At(nodes, n.b, v);
      case Op::kSub: return At(nodes, n.a, v) - At(nodes, n.b, v);
      case Op::kMul: return At(nodes, n.a, v) * At(nodes, n.b, v);
      case Op::kDiv: {
        const double d = At(nodes, n.b, v);
        return d == 0 ? 0 : At(nodes, n.a, v) / d;  // a rule must never divide by zero into NaN
      }
      case Op::kEq: return At(nodes, n.a, v) == At(nodes, n.b, v) ? 1 : 0;
      case Op::kNe: return At(nodes, n.a, v) != At(nodes, n.b, v) ? 1 : 0;
      case Op::kLt: return At(nodes, n.a, v) < At(nodes, n.b, v) ? 1 : 0;
      case Op::kLe: return At(nodes, n.a, v) <= At(nodes, n.b, v) ? 1 : 0;
      case Op::kGt: return At(nodes, n.a, v) > At(nodes, n.b, v) ? 1 : 0;
      case Op::kGe: return At(nodes, n.a, v) >= At(nodes, n.b, v) ? 1 : 0;
    }
    return 0;
  }

 private:
  std::vector<Flat> nodes_;
  std::vector<std::string> symbols_;
};

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_EXPRESSION_H_
