// What rules and checks read from a message's header beyond single fields: the relays of
// its Received trace and their trust, SpamAssassin's pseudo-headers, and fields' addresses.
#ifndef FARSIDE_LIB_RULES_MESSAGE_FIELDS_H_
#define FARSIDE_LIB_RULES_MESSAGE_FIELDS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "lib/mime/message.h"

namespace farside::rules {

// Loopback, RFC 1918, link-local and IPv6 unique-local addresses.
bool IsPrivateAddress(absl::string_view ip);

// The relays of the Received fields, newest first. With no trusted networks configured,
// as SpamAssassin infers them: relays from private addresses or with authenticated
// submission at the top are trusted; the first other one and all below it are not.
struct Relay {
  const mime::ReceivedHop* hop;  // in msg.Received(), which outlives the relays
  bool trusted = false;
};
std::vector<Relay> Relays(const mime::Message& msg);

// SpamAssassin's pseudo-headers, made from the message: X-Spam-Relays-Trusted, -Untrusted,
// -Internal, -External (the Received relays), EnvelopeFrom (the envelope sender the
// receiving MTA recorded), ALL-TRUSTED, ALL-UNTRUSTED, ALL-INTERNAL, ALL-EXTERNAL (the
// header fields those relays may have added, one "Name: value" line each). nullopt for any
// other name.
std::optional<std::string> PseudoHeader(const mime::Message& msg, absl::string_view name);

// The addresses of the fields called `field`, lower case ("EnvelopeFrom" reads the
// pseudo-header).
struct FieldAddresses {
  std::vector<std::string> all;  // every address with a domain, of every such field
  std::string first;             // the first field's first address, as SpamAssassin's "Field:addr"
};
FieldAddresses AddressesOf(const mime::Message& msg, absl::string_view field);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_MESSAGE_FIELDS_H_
