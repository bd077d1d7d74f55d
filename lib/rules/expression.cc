// A recursive-descent parser for Expression, with a depth limit so hostile input cannot
// exhaust the stack, and a small tree evaluator.
#include "lib/rules/expression.h"

#include <map>
#include <memory>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace farside::rules {

namespace {

using Op = Expression::Op;

// The parse tree, flattened into Expression::Flat once parsed.
struct Node {
  Op op;
  double num = 0;
  size_t slot = 0;  // the symbol's index in symbols()
  std::shared_ptr<const Node> a, b;
};

class Parser {
 public:
  Parser(absl::string_view s, const Expression::Limits& l) : s_(s), limits_(l) {}

  absl::StatusOr<std::shared_ptr<const Node>> ParseAll() {
    auto n = Or();
    if (!n.ok()) return n;
    Skip();
    if (i_ < s_.size()) return Err("unexpected '" + std::string(1, s_[i_]) + "'");
    return n;
  }
  std::vector<std::string> symbols;

 private:
  using Result = absl::StatusOr<std::shared_ptr<const Node>>;

  absl::Status Err(const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat("at column ", i_ + 1, ": ", what));
  }
  void Skip() {
    while (i_ < s_.size() && absl::ascii_isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool Eat(absl::string_view tok) {
    Skip();
    if (s_.substr(i_, tok.size()) != tok) return false;
    i_ += tok.size();
    return true;
  }
  static std::shared_ptr<const Node> Make(Op op, std::shared_ptr<const Node> a,
                                          std::shared_ptr<const Node> b = nullptr) {
    auto n = std::make_shared<Node>();
    n->op = op;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }
  // Guards every level of recursion.
  struct Depth {
    Parser* p;
    explicit Depth(Parser* parser) : p(parser) { ++p->depth_; }
    ~Depth() { --p->depth_; }
  };
  bool TooDeep() const { return depth_ > limits_.max_depth; }

  // Left-associative, iterative: only parentheses and unary operators recurse.
  Result Binary(Result (Parser::*next)(), std::initializer_list<std::pair<absl::string_view, Op>> ops) {
    Result left = (this->*next)();
    if (!left.ok()) return left;
    while (true) {
      bool matched = false;
      for (const auto& [tok, op] : ops) {
        Skip();
        // "<" must not eat the start of "<=", nor "!" of "!=", nor "=" alone.
        if (s_.substr(i_, tok.size()) != tok) continue;
        if (tok.size() == 1 && i_ + 1 < s_.size() && s_[i_ + 1] == '=' &&
            (tok == "<" || tok == ">")) {
          continue;
        }
        i_ += tok.size();
        Result right = (this->*next)();
        if (!right.ok()) return right;
        left = Make(op, *left, *right);
        matched = true;
        break;
      }
      if (!matched) return left;
    }
  }
  Result Or() { return Binary(&Parser::And, {{"||", Op::kOr}}); }
  Result And() { return Binary(&Parser::Compare, {{"&&", Op::kAnd}}); }
  Result Compare() {
    return Binary(&Parser::Sum, {{"==", Op::kEq}, {"!=", Op::kNe}, {"<=", Op::kLe},
                                 {">=", Op::kGe}, {"<", Op::kLt}, {">", Op::kGt}});
  }
  Result Sum() { return Binary(&Parser::Product, {{"+", Op::kAdd}, {"-", Op::kSub}}); }
  Result Product() { return Binary(&Parser::Unary, {{"*", Op::kMul}, {"/", Op::kDiv}}); }
  Result Unary() {
    Skip();
    if (i_ < s_.size() && s_[i_] == '!' && !(i_ + 1 < s_.size() && s_[i_ + 1] == '=')) {
      Depth d(this);
      if (TooDeep()) return Err("nested too deeply");
      ++i_;
      Result r = Unary();
      if (!r.ok()) return r;
      return Make(Op::kNot, *r);
    }
    if (Eat("-")) {
      Depth d(this);
      if (TooDeep()) return Err("nested too deeply");
      Result r = Unary();
      if (!r.ok()) return r;
      return Make(Op::kNeg, *r);
    }
    return Primary();
  }
  Result Primary() {
    Skip();
    if (i_ >= s_.size()) return Err("expected a symbol, a number or '(' at the end");
    char c = s_[i_];
    if (c == '(') {
      Depth d(this);
      if (TooDeep()) return Err("nested too deeply");
      ++i_;
      Result r = Or();
      if (!r.ok()) return r;
      if (!Eat(")")) return Err("expected ')'");
      return r;
    }
    if (absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '.') {
      size_t start = i_;
      while (i_ < s_.size() && (absl::ascii_isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.')) ++i_;
      auto n = std::make_shared<Node>();
      n->op = Op::kNum;
      if (!absl::SimpleAtod(s_.substr(start, i_ - start), &n->num)) {
        return Err("bad number '" + std::string(s_.substr(start, i_ - start)) + "'");
      }
      return std::shared_ptr<const Node>(n);
    }
    if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = i_;
      while (i_ < s_.size() && (absl::ascii_isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) ++i_;
      auto n = std::make_shared<Node>();
      n->op = Op::kSym;
      std::string sym(s_.substr(start, i_ - start));
      auto [it, fresh] = seen_.emplace(sym, symbols.size());
      if (fresh) symbols.push_back(std::move(sym));
      n->slot = it->second;
      return std::shared_ptr<const Node>(n);
    }
    return Err(absl::StrCat("expected a symbol, a number or '(', got '", std::string(1, c), "'"));
  }

  absl::string_view s_;
  const Expression::Limits& limits_;
  size_t i_ = 0;
  size_t depth_ = 0;
  std::map<std::string, size_t> seen_;
};

// Appends n's operands, then n, to out; returns n's index.
uint32_t Flatten(const Node& n, std::vector<Expression::Flat>* out) {
  Expression::Flat f;
  f.op = n.op;
  f.num = n.num;
  f.slot = static_cast<uint32_t>(n.slot);
  if (n.a != nullptr) f.a = Flatten(*n.a, out);
  if (n.b != nullptr) f.b = Flatten(*n.b, out);
  out->push_back(f);
  return static_cast<uint32_t>(out->size() - 1);
}

}  // namespace

absl::StatusOr<Expression> Expression::Parse(absl::string_view text, const Limits& limits) {
  if (text.size() > limits.max_length) {
    return absl::InvalidArgumentError(
        absl::StrCat("expression of ", text.size(), " characters is over the limit of ",
                     limits.max_length));
  }
  Parser p(text, limits);
  absl::StatusOr<std::shared_ptr<const Node>> root = p.ParseAll();
  if (!root.ok()) return root.status();
  Expression e;
  Flatten(**root, &e.nodes_);
  e.symbols_ = std::move(p.symbols);
  return e;
}

double Expression::Evaluate(const Lookup& value) const {
  return EvaluateSlots([&](size_t slot) { return value(symbols_[slot]); });
}

}  // namespace farside::rules
