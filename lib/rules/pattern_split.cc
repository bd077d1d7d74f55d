// Regex splitting at alternations: a scan that skips escapes and classes, then halves.
#include "lib/rules/pattern_split.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/rules/regex.h"

namespace farside::rules {

std::vector<std::string> SplitAlternation(const std::string& re) {
  struct Group {
    size_t open, body, close;  // '(' , first byte of the body, ')'
    std::vector<size_t> bars;  // top-level '|' inside
  };
  std::vector<Group> groups;   // top-level groups
  std::vector<size_t> top_bars;
  std::vector<size_t> stack;   // open groups: indexes of '('
  std::vector<size_t> inner_bars;
  size_t body = 0;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '[') {  // a class: to its ']', which may come first, escapes and [:name:] inside
      size_t j = i + 1;
      if (j < re.size() && re[j] == '^') ++j;
      if (j < re.size() && re[j] == ']') ++j;
      for (; j < re.size() && re[j] != ']'; ++j) {
        if (re[j] == '\\') {
          ++j;
        } else if (re[j] == '[' && j + 1 < re.size() && re[j + 1] == ':') {
          size_t end = re.find(":]", j + 2);
          if (end != std::string::npos) j = end + 1;
        }
      }
      i = j;
      continue;
    }
    if (c == '(') {
      if (stack.empty()) {
        inner_bars.clear();
        body = re.compare(i, 3, "(?:") == 0 ? i + 3 : (i + 1 < re.size() && re[i + 1] != '?') ? i + 1 : 0;
      }
      stack.push_back(i);
    } else if (c == ')' && !stack.empty()) {
      const size_t open = stack.back();
      stack.pop_back();
      const bool quantified = i + 1 < re.size() && std::strchr("*+?{", re[i + 1]) != nullptr;
      if (stack.empty() && body != 0 && !quantified) groups.push_back({open, body, i, inner_bars});
    } else if (c == '|') {
      if (stack.empty()) top_bars.push_back(i);
      if (stack.size() == 1) inner_bars.push_back(i);
    }
  }
  if (!stack.empty()) return {};
  auto halves = [&](size_t from, size_t to, const std::vector<size_t>& bars, absl::string_view before,
                    absl::string_view after) {
    const size_t cut = bars[bars.size() / 2];
    return std::vector<std::string>{absl::StrCat(before, re.substr(from, cut - from), after),
                                    absl::StrCat(before, re.substr(cut + 1, to - cut - 1), after)};
  };
  if (!top_bars.empty()) return halves(0, re.size(), top_bars, "(?:", ")");
  // The largest group first; one with no alternation of its own is split inside.
  std::sort(groups.begin(), groups.end(),
            [](const Group& a, const Group& b) { return a.close - a.open > b.close - b.open; });
  for (const Group& g : groups) {
    const std::string before = re.substr(0, g.body), after = re.substr(g.close);
    if (!g.bars.empty()) return halves(g.body, g.close, g.bars, before, after);
    std::vector<std::string> inner = SplitAlternation(re.substr(g.body, g.close - g.body));
    if (inner.empty()) continue;
    for (std::string& piece : inner) piece = absl::StrCat(before, piece, after);
    return inner;
  }
  return {};
}

std::vector<std::string> CompilablePieces(const std::string& pattern, const std::string& flags, size_t max) {
  if (Regex::Compile(pattern, flags).ok()) return {pattern};
  std::vector<std::string> out;
  std::vector<std::string> todo = SplitAlternation(pattern);
  if (todo.empty()) return {};
  while (!todo.empty()) {
    std::string p = std::move(todo.back());
    todo.pop_back();
    if (Regex::Compile(p, flags).ok()) {
      out.push_back(std::move(p));
      continue;
    }
    std::vector<std::string> halves = SplitAlternation(p);
    if (halves.empty() || out.size() + todo.size() + 2 > max) return {};
    todo.push_back(std::move(halves[1]));
    todo.push_back(std::move(halves[0]));
  }
  return out;
}

}  // namespace farside::rules
