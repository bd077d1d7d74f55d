// Cutting a regex too large for PCRE2 (its compiled form passes 64 KB, as SpamAssassin's
// homoglyph-expanded patterns can) into smaller ones that together match where it does.
#ifndef FARSIDE_LIB_RULES_PATTERN_SPLIT_H_
#define FARSIDE_LIB_RULES_PATTERN_SPLIT_H_

#include <string>
#include <vector>

namespace farside::rules {

// The pattern as two patterns, either of which matches where it does: its largest
// alternation, at the top level or in a top-level "(?:...)" or "(...)" group that no
// quantifier follows, cut into halves. Empty when it has none.
std::vector<std::string> SplitAlternation(const std::string& re);

// `pattern` cut (SplitAlternation, repeatedly) into at most `max` patterns that each
// compile with `flags`; empty if that cannot be done.
std::vector<std::string> CompilablePieces(const std::string& pattern, const std::string& flags, size_t max);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_PATTERN_SPLIT_H_
