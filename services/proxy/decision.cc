// Verdict and fail-policy mapping.
#include "services/proxy/decision.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace farside::proxy {
namespace {

using farside::v1::HeaderChange;
using farside::v1::SmtpReply;

SmtpReply Reply(const std::string& configured, const SmtpReply& scanner, const char* fallback) {
  SmtpReply r;
  if (!configured.empty() && ParseReply(configured, &r)) return r;
  if (scanner.code() != 0) return scanner;
  ParseReply(fallback, &r);
  return r;
}

void RemoveUnscanned(const farside::v1::ProxyConfig& config, bool present, Decision* d) {
  if (!present) return;
  HeaderChange h;
  h.set_op(HeaderChange::OP_REMOVE);
  h.set_name(config.unscanned_header());
  d->changes.push_back(std::move(h));
}

void AddUnscanned(const farside::v1::ProxyConfig& config, const std::string& why, Decision* d) {
  HeaderChange h;
  h.set_op(HeaderChange::OP_ADD);
  h.set_name(config.unscanned_header());
  h.set_value(why);
  d->changes.push_back(std::move(h));
}

std::string ActionLabel(farside::v1::Action a) {
  return absl::AsciiStrToLower(farside::v1::Action_Name(a));
}

}  // namespace

bool ParseReply(const std::string& text, SmtpReply* reply) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits(' ', 2));
  uint32_t code = 0;
  if (parts.size() < 2 || parts[0].size() != 3 || !absl::SimpleAtoi(parts[0], &code) ||
      code < 400 || code > 599) {
    return false;
  }
  reply->set_code(code);
  std::vector<absl::string_view> enh = absl::StrSplit(parts[1], '.');
  if (enh.size() == 3 && enh[0].size() == 1 && enh[0][0] == parts[0][0]) {
    reply->set_enhanced_code(std::string(parts[1]));
    reply->set_text(parts.size() > 2 ? std::string(parts[2]) : "");
  } else {
    reply->set_enhanced_code("");
    reply->set_text(std::string(text.substr(4)));
  }
  return !reply->text().empty();
}

absl::Status ValidateReplies(const farside::v1::ProxyReplies& r) {
  const auto* d = r.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const std::string& v = r.GetReflection()->GetString(r, d->field(i));
    SmtpReply parsed;
    if (!v.empty() && !ParseReply(v, &parsed)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "proxy.replies.", d->field(i)->name(), ": '", v,
          "' is not an SMTP reply (\"CODE X.Y.Z text\", CODE 4xx or 5xx)"));
    }
  }
  return absl::OkStatus();
}

Decision FromResult(const farside::v1::ScanResult& result, const farside::v1::ProxyConfig& config,
                    bool unscanned_present) {
  Decision d;
  d.scanned = true;
  d.label = ActionLabel(result.action());
  switch (result.action()) {
    case farside::v1::REJECT:
      d.kind = Decision::kReject;
      d.reply = Reply(config.replies().reject(), result.smtp_reply(),
                      "550 5.7.1 Message rejected as spam");
      return d;
    case farside::v1::SOFT_REJECT:
      d.kind = Decision::kTempfail;
      d.reply = Reply(config.replies().soft_reject(), result.smtp_reply(),
                      "451 4.7.1 Try again later");
      return d;
    case farside::v1::GREYLIST:
      d.kind = Decision::kTempfail;
      d.reply = Reply(config.replies().greylist(), result.smtp_reply(),
                      "451 4.7.1 Greylisted, please try again later");
      return d;
    case farside::v1::DISCARD:
      d.kind = Decision::kDiscard;
      return d;
    case farside::v1::QUARANTINE:
      d.kind = Decision::kQuarantine;
      break;
    default:
      d.kind = Decision::kAccept;
      break;
  }
  RemoveUnscanned(config, unscanned_present, &d);
  d.changes.insert(d.changes.end(), result.header_changes().begin(),
                   result.header_changes().end());
  return d;
}

Decision FailPolicy(const absl::Status& why, const farside::v1::ProxyConfig& config,
                    bool unscanned_present) {
  Decision d;
  switch (config.fail_policy()) {
    case farside::v1::FAIL_POLICY_ACCEPT:
      d.kind = Decision::kAccept;
      d.label = "unscanned_accept";
      RemoveUnscanned(config, unscanned_present, &d);
      AddUnscanned(config, absl::StrCat("no verdict (", why.message(), ")"), &d);
      return d;
    case farside::v1::FAIL_POLICY_REJECT:
      d.kind = Decision::kReject;
      d.label = "unscanned_reject";
      d.reply = Reply(config.replies().fail_reject(), {}, "550 5.3.0 Mail could not be scanned");
      return d;
    default:
      d.kind = Decision::kTempfail;
      d.label = "unscanned_tempfail";
      d.reply = Reply(config.replies().fail_tempfail(), {},
                      "451 4.3.0 Mail scanner unavailable, please try again later");
      return d;
  }
}

Decision Oversize(uint64_t size, const farside::v1::ProxyConfig& config, bool unscanned_present) {
  Decision d;
  d.kind = Decision::kAccept;
  d.label = "oversize";
  RemoveUnscanned(config, unscanned_present, &d);
  AddUnscanned(config, absl::StrCat("message of ", size, " bytes is over the scan limit of ",
                                    config.max_message_bytes()), &d);
  return d;
}

void SetDirection(const farside::v1::ProxyConfig& config, farside::v1::Envelope* envelope) {
  if (envelope->authenticated_user().empty()) {
    envelope->set_direction(farside::v1::DIRECTION_INBOUND);
    return;
  }
  envelope->set_direction(farside::v1::DIRECTION_OUTBOUND);
  if (!config.outbound_profile().empty()) envelope->set_settings_profile(config.outbound_profile());
}

}  // namespace farside::proxy
