// Structured header fields of RFC 5322 section 3: address lists (display name, local part,
// domain, groups, comments, IDN), the Date (with the obsolete forms of section 4.3), and the
// Received trace fields (section 3.6.7) as hops: from, by, IP, protocol, id, date.
#ifndef FARSIDE_LIB_MIME_ADDRESS_H_
#define FARSIDE_LIB_MIME_ADDRESS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace farside::mime {

struct Address {
  std::string display_name;  // decoded (RFC 2047), UTF-8; a trailing comment if no phrase
  std::string local;         // as written, quotes removed
  std::string domain;        // lower case, IDN as punycode; empty for "undisclosed-recipients"
  std::string group;         // the group it was listed in, if any
  bool idn = false;          // the domain had non-ASCII labels

  std::string addr_spec() const { return domain.empty() ? local : local + "@" + domain; }
};

// Parses the raw (unfolded, undecoded) value of From, To, Cc, Reply-To and the like.
// Never fails: what cannot be read as an address is skipped.
std::vector<Address> ParseAddressList(absl::string_view raw);

struct DateTime {
  int64_t unix_seconds = 0;   // UTC
  int zone_offset_minutes = 0;
  bool obsolete = false;      // two-digit year, named or missing zone, and the like
};

// RFC 5322 3.3 date-time, also the obsolete forms; nullopt when it cannot be read.
std::optional<DateTime> ParseDate(absl::string_view raw);

struct ReceivedHop {
  std::string from;      // the name the sending host gave (HELO/EHLO)
  std::string from_rdns; // the name the receiving host found for it, when it says
  std::string ip;        // the sending host's address, from the brackets
  std::string by;        // the receiving host
  std::string with;      // protocol: SMTP, ESMTPS, LMTP, ...
  std::string id;
  std::string for_addr;
  std::optional<DateTime> date;
};

// Parses one Received field's raw value; fields the hop does not have stay empty.
ReceivedHop ParseReceived(absl::string_view raw);

}  // namespace farside::mime

#endif  // FARSIDE_LIB_MIME_ADDRESS_H_
