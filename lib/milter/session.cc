// The milter session state machine.
#include "lib/milter/session.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace farside::milter {
namespace {

// What Farside asks for: header changes and quarantine; no rcpt or body changes.
constexpr uint32_t kWantedActions =
    actions::kAddHeaders | actions::kChangeHeaders | actions::kQuarantine;
// Steps we do not need, replies we never withhold a decision on, and exact header values.
constexpr uint32_t kWantedSteps =
    steps::kNoUnknown | steps::kNoData | steps::kNoEndOfHeaders | steps::kNoReplyConnect |
    steps::kNoReplyHelo | steps::kNoReplyMail | steps::kNoReplyRcpt | steps::kNoReplyData |
    steps::kNoReplyUnknown | steps::kNoReplyEndOfHeaders | steps::kNoReplyHeader |
    steps::kNoReplyBody | steps::kHeaderLeadingSpace;

}  // namespace

std::string StripBrackets(absl::string_view address) {
  address = absl::StripAsciiWhitespace(address);
  if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
    address = address.substr(1, address.size() - 2);
  }
  return std::string(address);
}

void Session::Ack(uint32_t no_reply_step, std::string* out) const {
  if ((steps_ & no_reply_step) == 0) *out += EncodeFrame(kContinue, "");
}

void Session::Negotiate(const Message& m, std::string* out) {
  actions_ = m.actions & kWantedActions;
  steps_ = m.steps & kWantedSteps;
  negotiated_ = true;
  *out += EncodeOptionNegotiation(std::min(m.version, kProtocolVersion), actions_, steps_);
}

void Session::ApplyMacros(const Message& m) {
  // A stage's macros arrive whole each time, so they replace what that stage had.
  auto& stage = macros_[m.macro_for];
  stage.clear();
  for (const auto& [name, value] : m.macros) stage[name] = value;
}

std::string Session::Macro(absl::string_view name) const {
  // Later stages win: "i" sent at end of message is the queue id in use.
  for (char stage : {kEndOfMessage, kBody, kEndOfHeaders, kHeader, kData, kRcpt, kMail, kHelo,
                     kConnect}) {
    auto s = macros_.find(stage);
    if (s == macros_.end()) continue;
    if (auto it = s->second.find(name); it != s->second.end()) return it->second;
  }
  return "";
}

void Session::ResetMessage() {
  Transaction next;
  next.client_ip = client_ip_;
  next.client_hostname = client_hostname_;
  next.helo = helo_;
  tx_ = std::move(next);
  in_body_ = false;
  // Macros of the message's stages belong to the message just ended.
  for (char stage : {kMail, kRcpt, kData, kHeader, kEndOfHeaders, kBody, kEndOfMessage}) {
    macros_.erase(stage);
  }
}

void Session::AddHeader(const Message& m) {
  // Header field as it stood: with kHeaderLeadingSpace the value keeps its leading space.
  std::string field = m.name;
  field += (steps_ & steps::kHeaderLeadingSpace) ? ":" : ": ";
  // MTAs pass folded lines with bare LF; the message we scan uses CRLF throughout.
  for (size_t i = 0; i < m.value.size(); ++i) {
    char c = m.value[i];
    if (c == '\n' && (i == 0 || m.value[i - 1] != '\r')) field += '\r';
    field += c;
  }
  field += "\r\n";
  tx_.header_names.push_back(m.name);
  tx_.size += field.size();
  if (tx_.oversize || tx_.message.size() + field.size() > limits_.max_message_bytes) {
    tx_.oversize = true;
    return;
  }
  tx_.message += field;
}

void Session::AddBody(absl::string_view chunk) {
  if (!in_body_) {
    in_body_ = true;
    tx_.size += 2;
    if (!tx_.oversize) tx_.message += "\r\n";
  }
  tx_.size += chunk.size();
  if (tx_.oversize || tx_.message.size() + chunk.size() > limits_.max_message_bytes) {
    tx_.oversize = true;
    tx_.message.clear();  // not scanned: do not hold it
    tx_.message.shrink_to_fit();
    return;
  }
  tx_.message.append(chunk.data(), chunk.size());
}

absl::StatusOr<Session::Event> Session::Next(std::string* out) {
  if (in_eom_) return absl::InternalError("milter session: Next before Finish");
  while (true) {
    absl::StatusOr<std::optional<Frame>> frame = reader_.Next();
    if (!frame.ok()) return frame.status();
    if (!frame->has_value()) return Event::kNeedMore;
    absl::StatusOr<Message> m = Parse(**frame);
    if (!m.ok()) return m.status();
    if (!negotiated_ && m->code != kOptionNegotiation) {
      return absl::InvalidArgumentError(absl::StrCat(
          "milter command '", std::string(1, m->code), "' before option negotiation"));
    }
    switch (m->code) {
      case kOptionNegotiation:
        if (m->version < 2) {
          return absl::InvalidArgumentError(
              absl::StrCat("milter protocol version ", m->version, " is too old"));
        }
        Negotiate(*m, out);
        break;
      case kMacro:
        ApplyMacros(*m);
        break;
      case kConnect:
        client_hostname_ = m->hostname;
        client_ip_ = (m->family == '4' || m->family == '6') ? m->address : "";
        // Postfix sends IPv6 addresses as "IPv6:2001:db8::1" in some versions.
        if (absl::StartsWithIgnoreCase(client_ip_, "ipv6:")) client_ip_.erase(0, 5);
        helo_.clear();
        ResetMessage();
        Ack(steps::kNoReplyConnect, out);
        break;
      case kHelo:
        helo_ = m->text;
        tx_.helo = helo_;
        Ack(steps::kNoReplyHelo, out);
        break;
      case kMail:
        // The MAIL stage's macros came just before this command: keep them.
        {
          auto mail_macros = macros_.extract(kMail);
          ResetMessage();
          if (!mail_macros.empty()) macros_.insert(std::move(mail_macros));
        }
        tx_.mail_from = StripBrackets(m->args[0]);
        Ack(steps::kNoReplyMail, out);
        break;
      case kRcpt:
        ++tx_.rcpt_count;
        if (tx_.rcpt_to.size() < limits_.max_recipients) {
          tx_.rcpt_to.push_back(StripBrackets(m->args[0]));
        }
        Ack(steps::kNoReplyRcpt, out);
        break;
      case kData:
        Ack(steps::kNoReplyData, out);
        break;
      case kHeader:
        AddHeader(*m);
        Ack(steps::kNoReplyHeader, out);
        break;
      case kEndOfHeaders:
        Ack(steps::kNoReplyEndOfHeaders, out);
        break;
      case kBody:
        AddBody(m->body);
        Ack(steps::kNoReplyBody, out);
        break;
      case kUnknown:
        Ack(steps::kNoReplyUnknown, out);
        break;
      case kEndOfMessage:
        if (!m->body.empty()) AddBody(m->body);
        if (!in_body_) AddBody("");  // a message without a body still has its blank line
        tx_.queue_id = Macro("i");
        tx_.auth_user = Macro("{auth_authen}");
        tx_.mta_hostname = Macro("j");
        in_eom_ = true;
        return Event::kMessage;
      case kAbort:
        ResetMessage();
        break;
      case kQuitNewConnection:
        // The MTA reuses this connection for a new SMTP session.
        macros_.clear();
        client_ip_.clear();
        client_hostname_.clear();
        helo_.clear();
        ResetMessage();
        break;
      case kQuit:
        return Event::kClosed;
    }
  }
}

std::string Session::Finish(const Verdict& v) {
  in_eom_ = false;
  std::string out;
  const bool delivered = v.kind == Verdict::kAccept || v.kind == Verdict::kQuarantine;
  if (delivered) {
    for (HeaderEdit e : v.edits) {
      // With leading spaces negotiated the MTA writes values as given after "Name:".
      if ((steps_ & steps::kHeaderLeadingSpace) && !e.value.empty() && e.value[0] != ' ' &&
          e.value[0] != '\t') {
        e.value = absl::StrCat(" ", e.value);
      }
      switch (e.op) {
        case HeaderEdit::kAdd:
          if (actions_ & actions::kAddHeaders) out += EncodeAddHeader(e.name, e.value);
          else ++dropped_edits_;
          break;
        case HeaderEdit::kInsert:
          if (actions_ & actions::kAddHeaders) out += EncodeInsertHeader(e.index, e.name, e.value);
          else ++dropped_edits_;
          break;
        case HeaderEdit::kChange:
          if (actions_ & actions::kChangeHeaders) {
            out += EncodeChangeHeader(std::max<uint32_t>(e.index, 1), e.name, e.value);
          } else {
            ++dropped_edits_;
          }
          break;
        case HeaderEdit::kDelete: {
          if (!(actions_ & actions::kChangeHeaders)) {
            ++dropped_edits_;
            break;
          }
          uint32_t n = 0;
          for (const std::string& h : tx_.header_names) n += absl::EqualsIgnoreCase(h, e.name);
          if (e.index > 0) {
            if (e.index <= n) out += EncodeChangeHeader(e.index, e.name, "");
            break;
          }
          // Last first, so each index still names the field it named in the message.
          for (uint32_t i = n; i >= 1; --i) out += EncodeChangeHeader(i, e.name, "");
          break;
        }
      }
    }
  }
  switch (v.kind) {
    case Verdict::kAccept:
      out += EncodeFrame(kAccept, "");
      break;
    case Verdict::kQuarantine:
      if (actions_ & actions::kQuarantine) {
        out += EncodeQuarantine(v.quarantine_reason.empty() ? "quarantined" : v.quarantine_reason);
      } else {
        ++dropped_edits_;
      }
      out += EncodeFrame(kAccept, "");
      break;
    case Verdict::kDiscard:
      out += EncodeFrame(kDiscard, "");
      break;
    case Verdict::kReject:
    case Verdict::kTempfail:
      if (v.code.empty()) {
        out += EncodeFrame(v.kind == Verdict::kReject ? kReject : kTempfail, "");
      } else {
        out += EncodeReplyCode(v.code, v.enhanced, v.text);
      }
      break;
  }
  ResetMessage();
  return out;
}

}  // namespace farside::milter
