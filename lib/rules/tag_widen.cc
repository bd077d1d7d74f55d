// WidenTag: parses the small regex language the tags are written in (groups, alternation,
// classes, escapes, quantifiers) into a tree, widens every high byte to all of them, and
// folds the branches that then look alike. Each step only adds strings, never removes one.
#include "lib/rules/tag_widen.h"

#include <algorithm>
#include <bitset>
#include <cstdint>
#include <cctype>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"

namespace farside::rules {
namespace {

using Bytes = std::bitset<256>;

struct Alt;
struct Atom {
  Bytes set;                   // when group is null
  std::shared_ptr<Alt> group;  // (?:...)
  std::string quant;           // as written: "", "?", "*", "+", "{1,3}", with a lazy/possessive mark
};
struct Seq {
  std::vector<Atom> atoms;
};
struct Alt {
  std::vector<Seq> seqs;
};

Bytes Range(int lo, int hi) {
  Bytes b;
  for (int c = lo; c <= hi; ++c) b.set(c);
  return b;
}

// Every byte from 0x80 up.
const Bytes& High() {
  static const Bytes b = Range(0x80, 0xff);
  return b;
}

Bytes Of(absl::string_view chars) {
  Bytes b;
  for (char c : chars) b.set(static_cast<unsigned char>(c));
  return b;
}

Bytes WordBytes() { return Range('0', '9') | Range('A', 'Z') | Range('a', 'z') | Of("_"); }

class Parser {
 public:
  explicit Parser(absl::string_view s) : s_(s) {}

  std::optional<Alt> All() {
    std::optional<Alt> a = ParseAlt(0);
    if (!a.has_value() || i_ != s_.size()) return std::nullopt;
    return a;
  }

 private:
  static constexpr int kMaxDepth = 32;

  std::optional<Alt> ParseAlt(int depth) {
    if (depth > kMaxDepth) return std::nullopt;
    Alt alt;
    alt.seqs.emplace_back();
    while (i_ < s_.size() && s_[i_] != ')') {
      if (s_[i_] == '|') {
        ++i_;
        alt.seqs.emplace_back();
        continue;
      }
      std::optional<Atom> a = ParseAtom(depth);
      if (!a.has_value() || !ParseQuant(&*a)) return std::nullopt;
      alt.seqs.back().atoms.push_back(std::move(*a));
    }
    return alt;
  }

  std::optional<Atom> ParseAtom(int depth) {
    Atom a;
    const char c = s_[i_];
    if (c == '(') {
      if (s_.substr(i_, 3) != "(?:") return std::nullopt;  // captures, lookarounds, options
      i_ += 3;
      std::optional<Alt> inner = ParseAlt(depth + 1);
      if (!inner.has_value() || i_ >= s_.size() || s_[i_] != ')') return std::nullopt;
      ++i_;
      a.group = std::make_shared<Alt>(std::move(*inner));
      return a;
    }
    if (c == '[') {
      std::optional<Bytes> set = ParseClass();
      if (!set.has_value()) return std::nullopt;
      a.set = *set;
      return a;
    }
    if (c == '\\') {
      std::optional<Bytes> set = ParseEscape();
      if (!set.has_value()) return std::nullopt;
      a.set = *set;
      return a;
    }
    if (c == '.' || c == '^' || c == '$' || c == '*' || c == '+' || c == '?' || c == '{') return std::nullopt;
    a.set.set(static_cast<unsigned char>(c));
    ++i_;
    return a;
  }

  // After a backslash outside or inside a class.
  std::optional<Bytes> ParseEscape() {
    ++i_;
    if (i_ >= s_.size()) return std::nullopt;
    const char c = s_[i_++];
    switch (c) {
      case 'x': {
        if (i_ + 2 > s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_])) ||
            !std::isxdigit(static_cast<unsigned char>(s_[i_ + 1]))) {
          return std::nullopt;
        }
        const int v = std::stoi(std::string(s_.substr(i_, 2)), nullptr, 16);
        i_ += 2;
        Bytes b;
        b.set(v);
        return b;
      }
      case 's': return Of(" \t\n\v\f\r");
      case 'S': return ~Of(" \t\n\v\f\r");
      case 'd': return Range('0', '9');
      case 'D': return ~Range('0', '9');
      case 'w': return WordBytes();
      case 'W': return ~WordBytes();
      case 't': return Of("\t");
      case 'n': return Of("\n");
      case 'r': return Of("\r");
      case 'f': return Of("\f");
      default:
        // Any other letter or digit is an assertion, a back reference or a property.
        if (std::isalnum(static_cast<unsigned char>(c))) return std::nullopt;
        return Of(absl::string_view(&c, 1));
    }
  }

  std::optional<Bytes> ParseClass() {
    ++i_;  // '['
    bool negate = false;
    if (i_ < s_.size() && s_[i_] == '^') {
      negate = true;
      ++i_;
    }
    Bytes set;
    bool first = true;
    while (i_ < s_.size() && (s_[i_] != ']' || first)) {
      first = false;
      if (s_.substr(i_, 2) == "[:") return std::nullopt;  // POSIX classes
      int lo = -1;
      if (s_[i_] == '\\') {
        std::optional<Bytes> e = ParseEscape();
        if (!e.has_value()) return std::nullopt;
        if (e->count() != 1) {
          set |= *e;
          continue;
        }
        for (int c = 0; c < 256; ++c) {
          if (e->test(c)) lo = c;
        }
      } else {
        lo = static_cast<unsigned char>(s_[i_++]);
      }
      // A range "lo-hi" (a '-' before ']' is a literal).
      if (i_ + 1 < s_.size() && s_[i_] == '-' && s_[i_ + 1] != ']') {
        ++i_;
        int hi = -1;
        if (s_[i_] == '\\') {
          std::optional<Bytes> e = ParseEscape();
          if (!e.has_value() || e->count() != 1) return std::nullopt;
          for (int c = 0; c < 256; ++c) {
            if (e->test(c)) hi = c;
          }
        } else {
          hi = static_cast<unsigned char>(s_[i_++]);
        }
        if (hi < lo) return std::nullopt;
        set |= Range(lo, hi);
      } else {
        set.set(lo);
      }
    }
    if (i_ >= s_.size()) return std::nullopt;
    ++i_;  // ']'
    return negate ? ~set : set;
  }

  bool ParseQuant(Atom* a) {
    if (i_ >= s_.size()) return true;
    const size_t start = i_;
    const char c = s_[i_];
    if (c == '?' || c == '*' || c == '+') {
      ++i_;
    } else if (c == '{') {
      size_t j = i_ + 1;
      while (j < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[j])) || s_[j] == ',')) ++j;
      if (j >= s_.size() || s_[j] != '}' || j == i_ + 1) return false;
      i_ = j + 1;
    } else {
      return true;
    }
    if (i_ < s_.size() && (s_[i_] == '?' || s_[i_] == '+')) ++i_;
    a->quant = std::string(s_.substr(start, i_ - start));
    return true;
  }

  absl::string_view s_;
  size_t i_ = 0;
};

// How many bytes a branch made only of high bytes spans (max kOpen: no bound).
struct Span {
  int min = 0, max = 0;
};

constexpr int kOpen = 1 << 20;  // "no bound": only compared and added

std::optional<Span> QuantSpan(const std::string& q) {
  if (q.empty()) return Span{1, 1};
  if (q == "?") return Span{0, 1};
  if (q == "+") return Span{1, kOpen};
  if (q == "*") return Span{0, kOpen};
  if (q.size() >= 3 && q.front() == '{' && q.back() == '}') {
    const std::string body = q.substr(1, q.size() - 2);
    const size_t comma = body.find(',');
    if (comma == std::string::npos) return Span{std::stoi(body), std::stoi(body)};
    if (comma == 0) return std::nullopt;
    if (comma == body.size() - 1) return Span{std::stoi(body.substr(0, comma)), kOpen};
    return Span{std::stoi(body.substr(0, comma)), std::stoi(body.substr(comma + 1))};
  }
  return std::nullopt;
}

std::optional<Span> HighSpan(const Alt& a);

std::optional<Span> HighSpan(const Seq& s) {
  Span total;
  for (const Atom& at : s.atoms) {
    std::optional<Span> one;
    if (at.group != nullptr) {
      one = HighSpan(*at.group);
    } else if (at.set == High()) {
      one = Span{1, 1};
    }
    std::optional<Span> q = QuantSpan(at.quant);
    if (!one.has_value() || !q.has_value()) return std::nullopt;
    auto mul = [](int a, int b) { return static_cast<int>(std::min<int64_t>(kOpen, int64_t{a} * b)); };
    total.min = std::min(kOpen, total.min + mul(one->min, q->min));
    total.max = std::min(kOpen, total.max + mul(one->max, q->max));
  }
  return total;
}

std::optional<Span> HighSpan(const Alt& a) {
  std::optional<Span> out;
  for (const Seq& s : a.seqs) {
    std::optional<Span> one = HighSpan(s);
    if (!one.has_value()) return std::nullopt;
    out = out.has_value() ? Span{std::min(out->min, one->min), std::max(out->max, one->max)} : *one;
  }
  return out;
}

const Bytes& EntityChars() {
  static const Bytes b = Range('0', '9') | Range('a', 'f') | Range('A', 'F') | Of("xX");
  return b;
}

bool WithinEntity(const Alt& a);
bool WithinEntity(const Atom& at) {
  return at.group != nullptr ? WithinEntity(*at.group) : (at.set & ~EntityChars()).none();
}
bool WithinEntity(const Alt& a) {
  for (const Seq& s : a.seqs) {
    for (const Atom& at : s.atoms) {
      if (!WithinEntity(at)) return false;
    }
  }
  return true;
}

// "&#" digits ";": a numeric character reference, however its digits are spelled out.
bool IsEntity(const Seq& s) {
  if (s.atoms.size() < 3) return false;
  auto is = [](const Atom& a, char c) { return a.group == nullptr && a.quant.empty() && a.set == Of(absl::string_view(&c, 1)); };
  if (!is(s.atoms[0], '&') || !is(s.atoms[1], '#') || !is(s.atoms.back(), ';')) return false;
  for (size_t k = 2; k + 1 < s.atoms.size(); ++k) {
    if (!WithinEntity(s.atoms[k])) return false;
  }
  return true;
}

std::string Serialize(const Alt& a);

std::string ClassText(const Bytes& b) {
  // Letters, digits and punctuation that mean nothing in a class (or, alone, outside one)
  // as themselves; the rest as \xHH, safe in every mode (x included).
  const bool alone = b.count() == 1;
  auto byte = [alone](int c) {
    const bool plain = std::isalnum(c) || (c < 0x80 && std::strchr(alone ? "@%&,;:'\"<>=!~`_/" : "@%&,;:'\"<>=!~`_/.*+?(){}|$", c) != nullptr && c != 0);
    return plain ? std::string(1, static_cast<char>(c)) : absl::StrCat("\\x", absl::Hex(c, absl::kZeroPad2));
  };
  if (b.count() == 1) {
    for (int c = 0; c < 256; ++c) {
      if (b.test(c)) return byte(c);
    }
  }
  std::string out = "[";
  for (int c = 0; c < 256;) {
    if (!b.test(c)) {
      ++c;
      continue;
    }
    int end = c;
    while (end + 1 < 256 && b.test(end + 1)) ++end;
    out += byte(c);
    if (end > c) absl::StrAppend(&out, end > c + 1 ? "-" : "", byte(end));
    c = end + 1;
  }
  return out + "]";
}

std::string Serialize(const Seq& s) {
  std::string out;
  for (const Atom& a : s.atoms) {
    out += a.group != nullptr ? absl::StrCat("(?:", Serialize(*a.group), ")") : ClassText(a.set);
    out += a.quant;
  }
  return out;
}

std::string Serialize(const Alt& a) {
  std::string out;
  for (size_t k = 0; k < a.seqs.size(); ++k) {
    if (k > 0) out += "|";
    out += Serialize(a.seqs[k]);
  }
  return out;
}

// Widens every high byte to all of them, then folds: single-byte branches into one class,
// branches of high bytes only into one counted run, entity branches into one shape; the
// branches left keep their order, each once.
Alt Simplify(const Alt& in) {
  // "(?:...)" alone is what it holds.
  if (in.seqs.size() == 1 && in.seqs[0].atoms.size() == 1 && in.seqs[0].atoms[0].group != nullptr &&
      in.seqs[0].atoms[0].quant.empty()) {
    return Simplify(*in.seqs[0].atoms[0].group);
  }
  Bytes single;
  std::optional<Span> high;
  bool entity = false;
  std::vector<Seq> kept;
  std::set<std::string> seen;
  for (Seq s : in.seqs) {
    for (Atom& a : s.atoms) {
      if (a.group != nullptr) {
        a.group = std::make_shared<Alt>(Simplify(*a.group));
      } else if ((a.set & High()).any()) {
        a.set |= High();
      }
    }
    if (s.atoms.size() == 1 && s.atoms[0].group == nullptr && s.atoms[0].quant.empty()) {
      single |= s.atoms[0].set;
      continue;
    }
    if (std::optional<Span> sp = HighSpan(s); sp.has_value() && sp->max > 0) {
      high = high.has_value() ? Span{std::min(high->min, sp->min), std::max(high->max, sp->max)} : *sp;
      continue;
    }
    if (IsEntity(s)) {
      entity = true;
      continue;
    }
    if (seen.insert(Serialize(s)).second) kept.push_back(std::move(s));
  }
  Alt out;
  // Runs of high bytes join the single bytes as one class repeated: shorter than counted
  // runs beside it (Vectorscan takes patterns of at most 16,000 characters), and wider.
  if (high.has_value() && high->min == 0) out.seqs.emplace_back();  // the empty branch
  if (high.has_value()) single |= High();
  if (single.any()) out.seqs.push_back(Seq{{Atom{single, nullptr, high.has_value() && high->max > 1 ? "+" : ""}}});
  if (entity) {
    out.seqs.push_back(Seq{{Atom{Of("&"), nullptr, ""}, Atom{Of("#"), nullptr, ""},
                            Atom{EntityChars(), nullptr, "*"}, Atom{Of(";"), nullptr, ""}}});
  }
  for (Seq& s : kept) out.seqs.push_back(std::move(s));
  return out;
}

// What of `in` can match in a plain text (bytes below 0x80, no "&#"): high bytes leave every
// class, and a branch that needs one, or "&#", goes. No branch left: nothing can match.
Alt PlainOnly(const Alt& in) {
  auto is = [](const Atom& a, char c) {
    return a.group == nullptr && a.quant.empty() && a.set == Of(absl::string_view(&c, 1));
  };
  Alt out;
  for (const Seq& s : in.seqs) {
    Seq kept;
    bool possible = true;
    for (size_t k = 0; k < s.atoms.size() && possible; ++k) {
      if (k + 1 < s.atoms.size() && is(s.atoms[k], '&') && is(s.atoms[k + 1], '#')) possible = false;
      Atom a = s.atoms[k];
      bool empty;
      if (a.group != nullptr) {
        a.group = std::make_shared<Alt>(PlainOnly(*a.group));
        empty = a.group->seqs.empty();
      } else {
        a.set &= ~High();
        empty = a.set.none();
      }
      if (!empty) {
        kept.atoms.push_back(std::move(a));
        continue;
      }
      // An atom that matches nothing: its branch too, unless it may repeat zero times (an
      // unreadable quantifier counts as that: dropping the atom only adds strings).
      std::optional<Span> q = QuantSpan(a.quant);
      if (q.has_value() && q->min > 0) possible = false;
    }
    if (possible) out.seqs.push_back(std::move(kept));
  }
  return out;
}

}  // namespace

std::optional<std::string> WidenTag(absl::string_view tag, bool plain_text) {
  std::optional<Alt> parsed = Parser(tag).All();
  if (!parsed.has_value()) return std::nullopt;
  if (plain_text) {
    parsed = PlainOnly(*parsed);
    if (parsed->seqs.empty()) return std::nullopt;
  }
  return absl::StrCat("(?:", Serialize(Simplify(*parsed)), ")");
}

bool TagInNegativeLookaround(absl::string_view p) {
  std::vector<bool> negative;  // one per open group
  int inside = 0;              // how many of them are negative
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      ++i;
    } else if (c == '[') {
      // To the closing bracket; a ']' right after '[' or '[^' is a member.
      size_t j = i + 1;
      if (j < p.size() && p[j] == '^') ++j;
      if (j < p.size() && p[j] == ']') ++j;
      for (; j < p.size() && p[j] != ']'; ++j) {
        if (p[j] == '\\') ++j;
      }
      i = j;
    } else if (c == '(') {
      const bool neg = p.substr(i, 3) == "(?!" || p.substr(i, 4) == "(?<!";
      negative.push_back(neg);
      inside += neg;
    } else if (c == ')' && !negative.empty()) {
      inside -= negative.back();
      negative.pop_back();
    } else if (c == '<' && inside > 0) {
      const size_t close = p.find('>', i + 1);
      if (close != absl::string_view::npos && close > i + 1) {
        bool name = true;
        for (size_t k = i + 1; k < close; ++k) {
          name &= std::isalnum(static_cast<unsigned char>(p[k])) || p[k] == '_' || p[k] == ' ';
        }
        if (name) return true;
      }
    }
  }
  return false;
}

}  // namespace farside::rules
