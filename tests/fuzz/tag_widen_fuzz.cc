// libFuzzer target for WidenTag: any tag text is widened or refused without crashing, and a
// widened tag matches every string the tag matches (its plain form: every plain one).
// Input: the tag, a newline, a subject.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "lib/rules/prefilter.h"
#include "lib/rules/regex.h"
#include "lib/rules/tag_widen.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string tag = in.substr(0, nl);
  const std::string subject = nl == std::string::npos ? "" : in.substr(nl + 1);
  const bool plain = farside::rules::IsPlainText(subject);
  for (bool plain_form : {false, true}) {
    std::optional<std::string> wide = farside::rules::WidenTag(tag, plain_form);
    if (!wide.has_value()) continue;
    for (const char* flags : {"b", "ib"}) {
      auto orig = farside::rules::Regex::Compile(absl::StrCat("\\A(?:", tag, ")\\z"), flags);
      if (!orig.ok()) continue;
      auto widened = farside::rules::Regex::Compile(absl::StrCat("\\A", *wide, "\\z"), flags);
      if (!widened.ok()) std::abort();  // what the tag compiles to, its widening must too
      if (plain_form && !plain) continue;
      std::optional<absl::string_view> m = orig->Find(subject, 100000);
      if (m.has_value() && m->size() == subject.size()) {
        std::optional<absl::string_view> w = widened->Find(subject, 1000000);
        if (!w.has_value() || w->size() != subject.size()) std::abort();  // narrower than the tag
      }
    }
  }
  return 0;
}
