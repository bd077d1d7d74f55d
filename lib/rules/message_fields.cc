// Relays and their trust, SpamAssassin's pseudo-headers, and the addresses of fields.
#include "lib/rules/message_fields.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/mime/address.h"

namespace farside::rules {

bool IsPrivateAddress(absl::string_view ip) {
  int a = -1, b = -1;
  if (std::sscanf(std::string(ip).c_str(), "%d.%d.", &a, &b) == 2) {
    return a == 10 || a == 127 || (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168) ||
           (a == 169 && b == 254) || (a == 100 && b >= 64 && b <= 127);  // and CGN, as SpamAssassin's
  }
  const std::string lower = absl::AsciiStrToLower(ip);
  return lower == "::1" || absl::StartsWith(lower, "fe80:") || absl::StartsWith(lower, "fc") ||
         absl::StartsWith(lower, "fd");
}

std::vector<Relay> Relays(const mime::Message& msg) {
  std::vector<Relay> out;
  bool trusted = true;
  for (const mime::ReceivedHop& hop : msg.Received()) {
    if (hop.ip.empty()) continue;  // a hop with no address (local delivery) is no relay
    // Authenticated submission extends trust, as a private address does.
    const bool auth = absl::StrContains(absl::AsciiStrToLower(hop.with), "esmtpa") ||
                      absl::StrContains(absl::AsciiStrToLower(hop.with), "esmtpsa");
    if (trusted && !IsPrivateAddress(hop.ip) && !auth) trusted = false;
    out.push_back({&hop, trusted});
  }
  return out;
}

std::optional<std::string> PseudoHeader(const mime::Message& msg, absl::string_view name) {
  // The relays the message passed, newest first, as SpamAssassin writes them:
  // "[ ip=... rdns=... helo=... by=... ident= envfrom= intl=0 id=... auth= msa=0 ]". With no
  // trusted networks configured, relays with private addresses at the top are trusted
  // (and internal); the first public one and all below it are untrusted (and external).
  static const char* const kRelays[] = {"X-Spam-Relays-Trusted", "X-Spam-Relays-Untrusted",
                                        "X-Spam-Relays-Internal", "X-Spam-Relays-External"};
  if (std::find(std::begin(kRelays), std::end(kRelays), name) != std::end(kRelays)) {
    const bool want_trusted = absl::EndsWith(name, "Trusted") || absl::EndsWith(name, "Internal");
    std::string out;
    for (const Relay& r : Relays(msg)) {
      if (r.trusted != want_trusted) continue;
      if (!out.empty()) out.push_back(' ');
      absl::StrAppend(&out, "[ ip=", r.hop->ip, " rdns=", r.hop->from_rdns, " helo=", r.hop->from,
                      " by=", r.hop->by, " ident= envfrom= intl=", r.trusted ? 1 : 0, " id=", r.hop->id,
                      " auth= msa=0 ]");
    }
    return out;
  }
  if (name == "ALL-TRUSTED" || name == "ALL-INTERNAL" || name == "ALL-UNTRUSTED" ||
      name == "ALL-EXTERNAL") {
    // Trusted and internal relays are the same ones here. Received field k (newest first)
    // was added by the k-th relay's receiver; the fields above the first untrusted relay's
    // Received could only be added by trusted hosts. As SpamAssassin does, each side
    // includes that one Received field.
    size_t trusted = 0;
    for (const Relay& r : Relays(msg)) trusted += r.trusted;
    const bool want_trusted = name == "ALL-TRUSTED" || name == "ALL-INTERNAL";
    std::string out;
    long rcvd = -1;
    for (const mime::HeaderField& f : msg.headers().fields()) {
      if (absl::EqualsIgnoreCase(f.name, "Received")) ++rcvd;
      const bool keep = want_trusted ? rcvd <= static_cast<long>(trusted) : rcvd >= static_cast<long>(trusted);
      if (!keep) continue;
      absl::StrAppend(&out, f.name, ": ", f.value, "\n");
      if (want_trusted && rcvd == static_cast<long>(trusted)) break;  // that one Received
    }
    return out;
  }
  if (name == "EnvelopeFrom") {
    for (const char* field : {"X-Envelope-From", "Return-Path", "Envelope-Sender"}) {
      if (const mime::HeaderField* f = msg.headers().Find(field); f != nullptr) {
        std::vector<mime::Address> a = mime::ParseAddressList(f->raw);
        if (!a.empty()) return a[0].addr_spec();
      }
    }
    return std::string();
  }
  return std::nullopt;
}

FieldAddresses AddressesOf(const mime::Message& msg, absl::string_view field) {
  FieldAddresses out;
  if (field == "EnvelopeFrom") {
    out.first = absl::AsciiStrToLower(PseudoHeader(msg, field).value_or(""));
    if (!out.first.empty()) out.all.push_back(out.first);
    return out;
  }
  bool first_field = true;
  for (const mime::HeaderField* f : msg.headers().FindAll(field)) {
    const std::vector<mime::Address> list = mime::ParseAddressList(f->raw);
    if (first_field && !list.empty()) out.first = absl::AsciiStrToLower(list[0].addr_spec());
    first_field = false;
    for (const mime::Address& a : list) {
      if (!a.domain.empty()) out.all.push_back(absl::AsciiStrToLower(a.addr_spec()));
    }
  }
  return out;
}

}  // namespace farside::rules
