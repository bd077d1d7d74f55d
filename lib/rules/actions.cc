// Threshold evaluation and reply parsing.
#include "lib/rules/actions.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace farside::rules {

using farside::v1::Action;

farside::v1::ActionThresholds ThresholdsFromConfig(const farside::v1::ActionsConfig& c) {
  farside::v1::ActionThresholds t;
  if (c.has_greylist()) t.set_greylist(c.greylist());
  if (c.has_add_header()) t.set_add_header(c.add_header());
  if (c.has_rewrite_subject()) t.set_rewrite_subject(c.rewrite_subject());
  if (c.has_soft_reject()) t.set_soft_reject(c.soft_reject());
  if (c.has_reject()) t.set_reject(c.reject());
  return t;
}

Action ActionForScore(double score, const farside::v1::ActionThresholds& t) {
  // Listed mildest first, so on a tie the later (harsher) one replaces the earlier.
  const std::pair<bool, std::pair<double, Action>> candidates[] = {
      {t.has_greylist(), {t.greylist(), farside::v1::GREYLIST}},
      {t.has_add_header(), {t.add_header(), farside::v1::ADD_HEADER}},
      {t.has_rewrite_subject(), {t.rewrite_subject(), farside::v1::REWRITE_SUBJECT}},
      {t.has_soft_reject(), {t.soft_reject(), farside::v1::SOFT_REJECT}},
      {t.has_reject(), {t.reject(), farside::v1::REJECT}},
  };
  Action best = farside::v1::NO_ACTION;
  bool found = false;
  double best_threshold = 0;
  for (const auto& [enabled, entry] : candidates) {
    if (!enabled || score < entry.first) continue;
    if (!found || entry.first >= best_threshold) {
      best = entry.second;
      best_threshold = entry.first;
      found = true;
    }
  }
  return best;
}

absl::StatusOr<farside::v1::SmtpReply> ParseSmtpReply(absl::string_view text) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::StripAsciiWhitespace(text), absl::MaxSplits(' ', 2));
  uint32_t code = 0;
  if (parts.empty() || parts[0].size() != 3 || !absl::SimpleAtoi(parts[0], &code) ||
      code < 400 || code > 599) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad SMTP reply '", text, "': want a 4xx or 5xx code first, e.g. "
                     "\"550 5.7.1 Message rejected\""));
  }
  farside::v1::SmtpReply reply;
  reply.set_code(code);
  size_t next = 1;
  if (parts.size() > 1) {
    std::vector<absl::string_view> enh = absl::StrSplit(parts[1], '.');
    bool is_enhanced = enh.size() == 3;
    for (absl::string_view e : enh) {
      uint32_t n;
      if (e.empty() || !absl::SimpleAtoi(e, &n)) is_enhanced = false;
    }
    if (is_enhanced) {
      if (parts[1][0] != parts[0][0]) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad SMTP reply '", text, "': enhanced code class differs from ", code));
      }
      reply.set_enhanced_code(std::string(parts[1]));
      next = 2;
    }
  }
  std::string rest;
  for (size_t i = next; i < parts.size(); ++i) {
    if (!rest.empty()) rest.push_back(' ');
    absl::StrAppend(&rest, parts[i]);
  }
  if (rest.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("bad SMTP reply '", text, "': no text"));
  }
  reply.set_text(rest);
  return reply;
}

}  // namespace farside::rules
