// Walks the header, the questions and the answers' fixed fields (RFC 1035 section 4.1).
#include "lib/dns/wire.h"

#include <algorithm>

namespace farside::dns {
namespace {

uint16_t U16(absl::string_view b, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(b[at]) << 8) | static_cast<uint8_t>(b[at + 1]));
}

// Skips a (possibly compressed) name starting at *at; false if it runs off the end. A
// pointer ends the name where it stands, so loops cannot happen here.
bool SkipName(absl::string_view b, size_t* at) {
  for (int labels = 0; labels < 128; ++labels) {
    if (*at >= b.size()) return false;
    const uint8_t len = static_cast<uint8_t>(b[*at]);
    if (len == 0) {
      *at += 1;
      return true;
    }
    if ((len & 0xc0) == 0xc0) {
      if (*at + 2 > b.size()) return false;
      *at += 2;
      return true;
    }
    if ((len & 0xc0) != 0) return false;  // the reserved label types
    *at += 1 + len;
  }
  return false;
}

}  // namespace

std::optional<uint32_t> MinAnswerTtl(absl::string_view b) {
  if (b.size() < 12) return std::nullopt;
  const uint16_t qd = U16(b, 4), an = U16(b, 6);
  size_t at = 12;
  for (uint16_t i = 0; i < qd; ++i) {
    if (!SkipName(b, &at) || at + 4 > b.size()) return std::nullopt;
    at += 4;
  }
  std::optional<uint32_t> min;
  for (uint16_t i = 0; i < an; ++i) {
    if (!SkipName(b, &at) || at + 10 > b.size()) return std::nullopt;
    const uint32_t ttl = (uint32_t{U16(b, at + 4)} << 16) | U16(b, at + 6);
    const uint16_t rdlen = U16(b, at + 8);
    at += 10;
    if (at + rdlen > b.size()) return std::nullopt;
    at += rdlen;
    // RFC 2181 section 8: a TTL with the top bit set counts as zero.
    const uint32_t t = (ttl & 0x80000000u) ? 0 : ttl;
    min = min.has_value() ? std::min(*min, t) : t;
  }
  return min;
}

}  // namespace farside::dns
