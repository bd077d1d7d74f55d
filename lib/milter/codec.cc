// Milter frames and commands: parsing what the MTA sends, encoding what the filter answers.
#include "lib/milter/codec.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace farside::milter {
namespace {

uint32_t ReadU32(absl::string_view s) {
  return (uint32_t{static_cast<uint8_t>(s[0])} << 24) |
         (uint32_t{static_cast<uint8_t>(s[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[2])} << 8) | uint32_t{static_cast<uint8_t>(s[3])};
}

void PutU32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

absl::Status Bad(char code, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("milter command '", std::string(1, code),
                                                 "': ", why));
}

// Reads one NUL-terminated string from *rest.
bool TakeString(absl::string_view* rest, std::string* out) {
  size_t nul = rest->find('\0');
  if (nul == absl::string_view::npos) return false;
  out->assign(rest->data(), nul);
  rest->remove_prefix(nul + 1);
  return true;
}

// A run of NUL-terminated strings filling the data exactly.
bool TakeStrings(absl::string_view rest, std::vector<std::string>* out) {
  while (!rest.empty()) {
    std::string s;
    if (!TakeString(&rest, &s)) return false;
    out->push_back(std::move(s));
  }
  return true;
}

}  // namespace

void FrameReader::Feed(absl::string_view bytes) {
  // Drop what was consumed before growing, so the buffer holds at most one frame and a bit.
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes.data(), bytes.size());
}

absl::StatusOr<std::optional<Frame>> FrameReader::Next() {
  absl::string_view avail(buf_.data() + pos_, buf_.size() - pos_);
  if (avail.size() < 4) return std::nullopt;
  uint32_t len = ReadU32(avail);
  if (len == 0) return absl::InvalidArgumentError("milter frame of length 0");
  if (len > max_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("milter frame of ", len, " bytes is over the limit of ", max_));
  }
  if (avail.size() - 4 < len) return std::nullopt;
  Frame f;
  f.code = avail[4];
  f.data.assign(avail.data() + 5, len - 1);
  pos_ += 4 + len;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return f;
}

absl::StatusOr<Message> Parse(const Frame& frame) {
  Message m;
  m.code = frame.code;
  absl::string_view d = frame.data;
  switch (frame.code) {
    case kOptionNegotiation:
      if (d.size() < 12) return Bad(frame.code, "shorter than 12 bytes");
      m.version = ReadU32(d);
      m.actions = ReadU32(d.substr(4));
      m.steps = ReadU32(d.substr(8));
      return m;
    case kMacro: {
      if (d.empty()) return Bad(frame.code, "empty");
      m.macro_for = d[0];
      std::vector<std::string> parts;
      if (!TakeStrings(d.substr(1), &parts)) return Bad(frame.code, "unterminated string");
      // An odd count (a name without a value) is what some MTAs send for an empty list end.
      for (size_t i = 0; i + 1 < parts.size(); i += 2) {
        m.macros.emplace_back(std::move(parts[i]), std::move(parts[i + 1]));
      }
      return m;
    }
    case kConnect: {
      if (!TakeString(&d, &m.hostname)) return Bad(frame.code, "unterminated host name");
      if (d.empty()) return Bad(frame.code, "no address family");
      m.family = d[0];
      d.remove_prefix(1);
      if (m.family == 'U') return m;  // unknown: nothing follows
      if (m.family != '4' && m.family != '6' && m.family != 'L') {
        return Bad(frame.code, absl::StrCat("unknown address family '", std::string(1, m.family), "'"));
      }
      if (d.size() < 2) return Bad(frame.code, "no port");
      m.port = static_cast<uint16_t>((static_cast<uint8_t>(d[0]) << 8) | static_cast<uint8_t>(d[1]));
      d.remove_prefix(2);
      if (!TakeString(&d, &m.address)) return Bad(frame.code, "unterminated address");
      return m;
    }
    case kHelo:
    case kUnknown:
      // Some MTAs leave out the final NUL; take the text either way.
      if (!d.empty() && d.back() == '\0') d.remove_suffix(1);
      if (d.find('\0') != absl::string_view::npos) return Bad(frame.code, "NUL inside the text");
      m.text = std::string(d);
      return m;
    case kMail:
    case kRcpt:
      if (!TakeStrings(d, &m.args) || m.args.empty()) {
        return Bad(frame.code, "no NUL-terminated address");
      }
      return m;
    case kHeader:
      if (!TakeString(&d, &m.name) || d.empty() || d.back() != '\0') {
        return Bad(frame.code, "not name NUL value NUL");
      }
      // A NUL inside the value (malformed mail an MTA passed on) stays part of the value.
      m.value = std::string(d.substr(0, d.size() - 1));
      if (m.name.empty()) return Bad(frame.code, "empty header name");
      return m;
    case kBody:
      m.body = std::string(d);
      return m;
    case kAbort:
    case kEndOfMessage:
    case kQuitNewConnection:
    case kEndOfHeaders:
    case kQuit:
    case kData:
      // End of message may carry a last body chunk (old MTAs); keep it as body.
      m.body = std::string(d);
      return m;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown milter command code 0x", absl::Hex(static_cast<uint8_t>(frame.code))));
  }
}

std::string EncodeFrame(char code, absl::string_view data) {
  std::string out;
  out.reserve(5 + data.size());
  PutU32(&out, static_cast<uint32_t>(data.size() + 1));
  out.push_back(code);
  out.append(data.data(), data.size());
  return out;
}

std::string EncodeOptionNegotiation(uint32_t version, uint32_t actions, uint32_t steps) {
  std::string d;
  PutU32(&d, version);
  PutU32(&d, actions);
  PutU32(&d, steps);
  return EncodeFrame(kOptionNegotiation, d);
}

std::string EncodeReplyCode(absl::string_view code, absl::string_view enhanced,
                            absl::string_view text) {
  // The MTA takes the text as one SMTP reply; a line break in it becomes a continuation line.
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  std::string d;
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = absl::StripSuffix(lines[i], "\r");
    if (i > 0) d += "\r\n";
    absl::StrAppend(&d, code, i + 1 < lines.size() ? "-" : " ");
    if (!enhanced.empty()) absl::StrAppend(&d, enhanced, " ");
    // '%' is a format character to Sendmail's reply machinery.
    for (char c : line) {
      if (c == '%') d += "%%";
      else if (c != '\0') d += c;
    }
  }
  d.push_back('\0');
  return EncodeFrame(kReplyCode, d);
}

namespace {
std::string NameValue(absl::string_view name, absl::string_view value) {
  std::string d;
  d.append(name.data(), name.size());
  d.push_back('\0');
  d.append(value.data(), value.size());
  d.push_back('\0');
  return d;
}
}  // namespace

std::string EncodeAddHeader(absl::string_view name, absl::string_view value) {
  return EncodeFrame(kAddHeader, NameValue(name, value));
}

std::string EncodeChangeHeader(uint32_t index, absl::string_view name, absl::string_view value) {
  std::string d;
  PutU32(&d, index);
  d += NameValue(name, value);
  return EncodeFrame(kChangeHeader, d);
}

std::string EncodeInsertHeader(uint32_t index, absl::string_view name, absl::string_view value) {
  std::string d;
  PutU32(&d, index);
  d += NameValue(name, value);
  return EncodeFrame(kInsertHeader, d);
}

std::string EncodeQuarantine(absl::string_view reason) {
  std::string d(reason);
  d.push_back('\0');
  return EncodeFrame(kQuarantine, d);
}

std::string EncodeMacros(char for_command,
                         const std::vector<std::pair<std::string, std::string>>& m) {
  std::string d(1, for_command);
  for (const auto& [k, v] : m) d += NameValue(k, v);
  return EncodeFrame(kMacro, d);
}

std::string EncodeConnect(absl::string_view hostname, char family, uint16_t port,
                          absl::string_view address) {
  std::string d(hostname);
  d.push_back('\0');
  d.push_back(family);
  if (family != 'U') {
    d.push_back(static_cast<char>(port >> 8));
    d.push_back(static_cast<char>(port));
    d.append(address.data(), address.size());
    d.push_back('\0');
  }
  return EncodeFrame(kConnect, d);
}

std::string EncodeStrings(char code, const std::vector<std::string>& parts) {
  std::string d;
  for (const std::string& p : parts) {
    d += p;
    d.push_back('\0');
  }
  return EncodeFrame(code, d);
}

}  // namespace farside::milter
