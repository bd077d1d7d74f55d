// A small stand-in for a SpamAssassin replace_tag pattern, for the prefilter: the homoglyph
// tags spell each letter as hundreds of byte sequences, too many for Vectorscan, while a
// pattern that matches every one of them (and more) is short and compiles at once.
#ifndef FARSIDE_LIB_RULES_TAG_WIDEN_H_
#define FARSIDE_LIB_RULES_TAG_WIDEN_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace farside::rules {

// A byte-mode regex matching every string `tag` matches (in byte mode), and more: every
// byte from 0x80 up stands for all of them, so sequences of such bytes become one counted
// run, the single-byte branches one class, and "&#...;" entity branches one entity shape.
// Nullopt when `tag` uses a construct this does not read (anchors, '.', captures, back
// references, lookarounds): such a tag is then used as it is.
//
// With `plain_text`, the widening is for plain texts only (IsPlainText in prefilter.h:
// every byte below 0x80, no "&#"):
// it matches every string of such a text that the tag matches, and has no high bytes or
// entity shape at all, so it runs far faster. Nullopt too when the tag cannot match there.
std::optional<std::string> WidenTag(absl::string_view tag, bool plain_text = false);


// Whether some "<NAME>" of `pattern` sits inside a negative lookaround ("(?!", "(?<!"),
// where matching more would make the whole pattern match less.
bool TagInNegativeLookaround(absl::string_view pattern);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_TAG_WIDEN_H_
