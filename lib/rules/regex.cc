// PCRE2 behind Regex. Match data and match context are per thread, so a shared compiled
// pattern is used by all scanner threads without locks.
#include "lib/rules/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "absl/strings/str_cat.h"

namespace farside::rules {

struct Regex::Code {
  pcre2_code* code = nullptr;
  ~Code() {
    if (code != nullptr) pcre2_code_free(code);
  }
};

absl::StatusOr<Regex> Regex::Compile(absl::string_view pattern, absl::string_view flags) {
  uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  if (flags.find('b') != absl::string_view::npos) options = 0;  // byte mode: \xNN is a byte
  for (char f : flags) {
    switch (f) {
      case 'i': options |= PCRE2_CASELESS; break;
      case 'm': options |= PCRE2_MULTILINE; break;
      case 's': options |= PCRE2_DOTALL; break;
      case 'x': options |= PCRE2_EXTENDED; break;
      case 'b': break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("unknown regex flag '", std::string(1, f), "' (i, m, s, x, b)"));
    }
  }
  int err = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &err, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    return absl::InvalidArgumentError(absl::StrCat("bad regex at offset ", offset, ": ",
                                                   reinterpret_cast<const char*>(msg)));
  }
  // JIT where the platform has it; the interpreter otherwise (same results, slower).
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  Regex r;
  r.code_ = std::make_shared<Code>();
  r.code_->code = code;
  return r;
}

std::optional<absl::string_view> Regex::Find(absl::string_view text, uint32_t match_limit,
                                             size_t start) const {
  struct ThreadState {
    pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
    pcre2_match_context* ctx = pcre2_match_context_create(nullptr);
    ~ThreadState() {
      pcre2_match_data_free(data);
      pcre2_match_context_free(ctx);
    }
  };
  thread_local ThreadState ts;
  pcre2_set_match_limit(ts.ctx, match_limit);
  int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start, 0,
                       ts.data, ts.ctx);
  if (rc < 0) return std::nullopt;  // no match, or the match limit: both are "no"
  PCRE2_SIZE* ov = pcre2_get_ovector_pointer(ts.data);
  if (ov[0] > text.size() || ov[1] > text.size() || ov[1] < ov[0]) return std::nullopt;
  return text.substr(ov[0], ov[1] - ov[0]);
}

uint32_t Regex::Count(absl::string_view text, uint32_t match_limit, uint32_t max) const {
  uint32_t n = 0;
  for (size_t at = 0; n < max && at <= text.size();) {
    std::optional<absl::string_view> m = Find(text, match_limit, at);
    if (!m.has_value()) break;
    ++n;
    size_t next = m->data() - text.data() + m->size();
    if (m->empty()) {
      // An empty match: step over one character (all of a UTF-8 sequence).
      if (next >= text.size()) break;
      ++next;
      while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) ++next;
    }
    at = next;
  }
  return n;
}

}  // namespace farside::rules
