// Parsing of HOST:PORT, with bracketed IPv6 literals.
#include "lib/common/host_port.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace farside {

std::string HostPort::ToString() const {
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad address '", text, "': ", why, " (want HOST:PORT)"));
  };
  HostPort out;
  absl::string_view port_text;
  if (absl::StartsWith(text, "[")) {
    size_t close = text.find(']');
    if (close == absl::string_view::npos) return bad("missing ']'");
    out.host = std::string(text.substr(1, close - 1));
    absl::string_view rest = text.substr(close + 1);
    if (!absl::StartsWith(rest, ":")) return bad("missing port");
    port_text = rest.substr(1);
  } else {
    size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos) return bad("missing port");
    if (text.find(':') != colon) return bad("IPv6 addresses need brackets");
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty()) return bad("empty host");
  uint32_t port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port == 0 || port > 65535) {
    return bad("port must be 1-65535");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

}  // namespace farside
