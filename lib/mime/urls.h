// URLs and e-mail addresses found in text and HTML, the way spam writes them: with and
// without a scheme (bare host names count when their suffix is a real public suffix),
// IDN hosts (turned to punycode), and the tricks that hide where a link goes: zero-width
// characters, mixed scripts in a host, user-info before '@', numeric and percent-encoded
// hosts, "hxxp".
#ifndef FARSIDE_LIB_MIME_URLS_H_
#define FARSIDE_LIB_MIME_URLS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace farside::mime {

struct Url {
  enum class Source { kText, kHtmlLink, kHtmlImage, kHtmlForm };
  std::string url;          // as found, cleaned of zero-width characters
  std::string scheme;       // lower case; "http" when the text had none
  std::string host;         // lower case, IDN as punycode (xn--...)
  std::string domain;       // registered domain (public suffix + 1 label), empty for IPs
  Source source = Source::kText;
  std::string anchor_text;  // HTML links: the text shown
  bool ip_host = false;         // dotted, integer, hex or IPv6 literal
  bool idn = false;             // the host has non-ASCII or punycode labels
  bool mixed_scripts = false;   // a host label mixes Latin with Cyrillic or Greek
  bool userinfo = false;        // something@ before the host ("http://bank.example@evil.test")
  bool obfuscated = false;      // zero-width characters, percent-encoded host, "hxxp"
  bool schemeless = false;      // found as a bare host name
};

struct EmailAddress {
  std::string address;  // local@domain, domain lower case
  std::string domain;   // registered domain
};

// Registered domain of a host ("mail.example.co.uk" -> "example.co.uk"), or empty when its
// suffix is not a public suffix (Debian's list, through libpsl).
std::string RegisteredDomain(absl::string_view host);
// The same under the default rule too, as DMARC's organisational domain wants it: unlisted
// TLDs count as public suffixes ("a.b.example" -> "b.example"). Empty for a public suffix.
std::string OrganizationalDomain(absl::string_view host);

// Parses one URL as written in an href or in text; nullopt if it is not an http(s)/ftp URL.
std::optional<Url> ParseUrl(absl::string_view text, Url::Source source);

struct Extracted {
  std::vector<Url> urls;
  std::vector<EmailAddress> emails;
};
// Scans UTF-8 text for URLs and e-mail addresses, appending to `out`.
void ExtractFromText(absl::string_view text, size_t max_items, Extracted* out);

}  // namespace farside::mime

#endif  // FARSIDE_LIB_MIME_URLS_H_
