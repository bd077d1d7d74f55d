// The little of the DNS wire format c-ares does not give us: the smallest TTL among a
// reply's answer records (c-ares 1.18 parses TXT without TTLs). Pure, bounds-checked.
#ifndef FARSIDE_LIB_DNS_WIRE_H_
#define FARSIDE_LIB_DNS_WIRE_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace farside::dns {

// The smallest TTL of the answer section, or nothing for a malformed reply or one with no
// answers.
std::optional<uint32_t> MinAnswerTtl(absl::string_view reply);

}  // namespace farside::dns

#endif  // FARSIDE_LIB_DNS_WIRE_H_
