// URL and e-mail extraction.
#include "lib/mime/urls.h"

#include <idn2.h>
#include <libpsl.h>

#include <array>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace farside::mime {
namespace {

const psl_ctx_t* Psl() {
  // The newest of libpsl's built-in data and Debian's publicsuffix file; loaded once.
  static const psl_ctx_t* psl = [] {
    const psl_ctx_t* p = psl_latest(nullptr);
    return p != nullptr ? p : psl_builtin();
  }();
  return psl;
}

// Zero-width and invisible formatting characters that spam puts inside URLs.
constexpr absl::string_view kInvisible[] = {"\xE2\x80\x8B", "\xE2\x80\x8C", "\xE2\x80\x8D",
                                            "\xE2\x81\xA0", "\xEF\xBB\xBF", "\xC2\xAD"};

std::string StripInvisible(absl::string_view s, bool* changed) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    bool hit = false;
    if (static_cast<unsigned char>(s[i]) >= 0xC2) {
      for (absl::string_view z : kInvisible) {
        if (s.substr(i, z.size()) == z) {
          i += z.size();
          hit = true;
          *changed = true;
          break;
        }
      }
    }
    if (!hit) out.push_back(s[i++]);
  }
  return out;
}

// Decodes UTF-8 code points of a label and reports which scripts its letters come from.
bool MixedScripts(absl::string_view label) {
  bool latin = false, cyrillic = false, greek = false;
  for (size_t i = 0; i < label.size();) {
    unsigned char c = static_cast<unsigned char>(label[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0xF0 && i + 3 < label.size()) {
      cp = ((c & 0x07u) << 18) | ((label[i + 1] & 0x3Fu) << 12) | ((label[i + 2] & 0x3Fu) << 6) |
           (label[i + 3] & 0x3Fu);
      len = 4;
    } else if (c >= 0xE0 && i + 2 < label.size()) {
      cp = ((c & 0x0Fu) << 12) | ((label[i + 1] & 0x3Fu) << 6) | (label[i + 2] & 0x3Fu);
      len = 3;
    } else if (c >= 0xC0 && i + 1 < label.size()) {
      cp = ((c & 0x1Fu) << 6) | (label[i + 1] & 0x3Fu);
      len = 2;
    }
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0x24F)) {
      latin = true;
    } else if (cp >= 0x400 && cp <= 0x4FF) {
      cyrillic = true;
    } else if (cp >= 0x370 && cp <= 0x3FF) {
      greek = true;
    }
    i += len;
  }
  return (latin && (cyrillic || greek)) || (cyrillic && greek);
}

std::string PercentDecodeHost(absl::string_view s, bool* changed) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    int v;
    if (s[i] == '%' && i + 2 < s.size() && absl::SimpleHexAtoi(s.substr(i + 1, 2), &v)) {
      out.push_back(static_cast<char>(v));
      i += 2;
      *changed = true;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Dotted quad, a single integer or hex number, or dotted hex/octal parts: all reach an IP.
bool IsIpHost(absl::string_view host) {
  if (absl::StartsWith(host, "[")) return true;  // IPv6 literal
  std::vector<absl::string_view> parts = absl::StrSplit(host, '.');
  if (parts.empty() || parts.size() > 4) return false;
  for (absl::string_view p : parts) {
    if (p.empty()) return false;
    uint64_t v;
    bool hex = absl::StartsWithIgnoreCase(p, "0x") && p.size() > 2 &&
               absl::SimpleHexAtoi(p.substr(2), &v);
    if (!hex && !absl::SimpleAtoi(p, &v)) return false;
  }
  return true;
}

bool IsAsciiText(absl::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

bool HostCharOk(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c >= 0x80;
}

// The registrable domain under a listed public suffix; "" when the last label is none.
std::string RegisteredDomainUncached(absl::string_view host) {
  std::string h(host);
  size_t dot = h.rfind('.');
  std::string tld = h.substr(dot + 1);
  // The default "*" rule would make any last label a suffix: insist on a listed one.
  if (!psl_is_public_suffix2(Psl(), tld.c_str(), PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE)) {
    return "";
  }
  const char* reg = psl_registrable_domain(Psl(), h.c_str());
  return reg == nullptr ? "" : std::string(reg);
}

}  // namespace

std::string OrganizationalDomain(absl::string_view host) {
  const std::string h(host);
  const char* reg = psl_registrable_domain(Psl(), h.c_str());
  return reg == nullptr ? "" : std::string(reg);
}

std::string RegisteredDomain(absl::string_view host) {
  if (host.empty() || host.find('.') == absl::string_view::npos) return "";
  // The same hosts come back in message after message (a campaign's links, the big
  // senders): remember the answers, a bounded number per thread.
  thread_local absl::flat_hash_map<std::string, std::string> cache;
  if (auto it = cache.find(host); it != cache.end()) return it->second;
  if (cache.size() >= 8192) cache.clear();
  std::string domain = RegisteredDomainUncached(host);
  cache.emplace(host, domain);
  return domain;
}


std::optional<Url> ParseUrl(absl::string_view text, Url::Source source) {
  Url u;
  u.source = source;
  bool changed = false;
  std::string s = StripInvisible(absl::StripAsciiWhitespace(text), &changed);
  u.obfuscated = changed;
  absl::string_view rest = s;
  size_t colon = rest.find("://");
  if (colon != absl::string_view::npos && colon > 0 && colon < 10) {
    u.scheme = absl::AsciiStrToLower(rest.substr(0, colon));
    if (u.scheme == "hxxp" || u.scheme == "hxxps") {
      u.obfuscated = true;
      u.scheme = u.scheme == "hxxp" ? "http" : "https";
    }
    if (u.scheme != "http" && u.scheme != "https" && u.scheme != "ftp") return std::nullopt;
    rest.remove_prefix(colon + 3);
  } else if (absl::StartsWithIgnoreCase(rest, "www.")) {
    u.scheme = "http";
    u.schemeless = true;
  } else if (source == Url::Source::kText) {
    u.scheme = "http";
    u.schemeless = true;
  } else {
    return std::nullopt;  // relative links, cid:, javascript: and the like
  }
  size_t end = rest.find_first_of("/?#\\");
  absl::string_view authority = rest.substr(0, end);
  if (size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    u.userinfo = true;
    authority.remove_prefix(at + 1);
  }
  absl::string_view host_port = authority;
  if (!absl::StartsWith(host_port, "[")) {
    if (size_t c = host_port.rfind(':'); c != absl::string_view::npos) host_port = host_port.substr(0, c);
  } else if (size_t close = host_port.find(']'); close != absl::string_view::npos) {
    host_port = host_port.substr(0, close + 1);
  }
  std::string host = PercentDecodeHost(host_port, &changed);
  if (changed) u.obfuscated = true;
  while (!host.empty() && host.back() == '.') host.pop_back();
  if (host.empty()) return std::nullopt;
  for (unsigned char c : host) {
    if (!HostCharOk(c) && c != '[' && c != ']' && c != ':') return std::nullopt;
  }
  if (IsIpHost(host)) {
    // Without a scheme, "1.99" or "3.2.1" is a price or a version, not a host.
    if (u.schemeless) return std::nullopt;
    u.ip_host = true;
    u.host = absl::AsciiStrToLower(host);
  } else {
    for (absl::string_view label : absl::StrSplit(host, '.')) {
      if (MixedScripts(label)) u.mixed_scripts = true;
      if (absl::StartsWithIgnoreCase(label, "xn--")) u.idn = true;
    }
    if (!IsAsciiText(host)) {
      u.idn = true;
      char* ascii = nullptr;
      if (idn2_to_ascii_8z(host.c_str(), &ascii, IDN2_NONTRANSITIONAL) == IDN2_OK) {
        u.host = ascii;
        idn2_free(ascii);
      } else {
        u.host = host;  // not a valid IDN: keep it as written (lower-cased ASCII only)
        absl::AsciiStrToLower(&u.host);
      }
    } else {
      u.host = absl::AsciiStrToLower(host);
    }
    u.domain = RegisteredDomain(u.host);
    if (u.domain.empty()) return std::nullopt;  // no real public suffix: not a host name
  }
  u.url = s;
  return u;
}

// Byte classes for the scan of text: a table, since every byte of every text part goes by.
enum : uint8_t { kDelim = 1, kTrailing = 2, kAtext = 4 };
constexpr auto kClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c <= 0x20; ++c) t[c] |= kDelim;
  for (unsigned char c : absl::string_view("<>\"'`\x7f()[]{}|,")) t[c] |= kDelim;
  for (unsigned char c : absl::string_view(".;:!?*")) t[c] |= kTrailing;
  for (int c = 0; c < 256; ++c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) t[c] |= kAtext;
  }
  for (unsigned char c : absl::string_view(".!#$%&*+/=?^_{}~-")) t[c] |= kAtext;
  return t;
}();
inline bool Is(char c, uint8_t cls) { return (kClass[static_cast<unsigned char>(c)] & cls) != 0; }

// Whether a word without a scheme can be a host name at all: ParseUrl wants a listed public
// suffix, and every one is letters or punycode. Most words with a dot ("3.5", "e.g",
// "file.txt") stop here, before the allocations and PSL lookups of ParseUrl. Words it cannot
// judge cheaply (8-bit, percent-encoded) go on.
bool MayBeSchemelessHost(absl::string_view tok) {
  absl::string_view host = tok.substr(0, tok.find_first_of("/?#\\"));
  if (size_t at = host.rfind('@'); at != absl::string_view::npos) host.remove_prefix(at + 1);
  for (char c : host) {
    if (static_cast<unsigned char>(c) >= 0x80 || c == '%' || c == '[') return true;
  }
  if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) host = host.substr(0, colon);
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  size_t dot = host.rfind('.');
  if (dot == absl::string_view::npos) return false;
  absl::string_view tld = host.substr(dot + 1);
  if (tld.size() < 2) return false;
  if (absl::StartsWithIgnoreCase(tld, "xn--")) return true;
  for (char c : tld) {
    if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

void ExtractFromText(absl::string_view text, size_t max_items, Extracted* out) {
  // Words are runs of non-delimiters; only those with a dot can be a host or an address,
  // so jump from dot to dot (memchr) and widen each to its word.
  const size_t n = text.size();
  size_t i = 0;
  while (i < n && out->urls.size() + out->emails.size() < max_items) {
    const void* hit = std::memchr(text.data() + i, '.', n - i);
    if (hit == nullptr) break;
    size_t start = static_cast<const char*>(hit) - text.data();
    size_t end = start + 1;
    while (start > i && !Is(text[start - 1], kDelim)) --start;
    while (end < n && !Is(text[end], kDelim)) ++end;
    i = end;
    absl::string_view tok = text.substr(start, end - start);
    // Sentence punctuation after a link is not part of it.
    while (!tok.empty() && Is(tok.back(), kTrailing)) tok.remove_suffix(1);
    if (tok.size() < 4 || tok.find('.') == absl::string_view::npos) continue;
    if (absl::StartsWithIgnoreCase(tok, "mailto:")) tok.remove_prefix(7);
    size_t at = tok.find('@');
    bool has_scheme = tok.find("://") != absl::string_view::npos;
    if (at != absl::string_view::npos && !has_scheme && tok.find('/') == absl::string_view::npos) {
      // The local part is the run of atext characters before '@' (RFC 5322 3.2.3): what
      // precedes it ("as:", "e-mail=") is not part of the address.
      absl::string_view local = tok.substr(0, at);
      size_t ls = local.size();
      while (ls > 0 && Is(local[ls - 1], kAtext)) --ls;
      local.remove_prefix(ls);
      while (!local.empty() && local.front() == '.') local.remove_prefix(1);
      std::string domain = absl::AsciiStrToLower(tok.substr(at + 1));
      if (local.empty() || domain.find('@') != std::string::npos) continue;
      std::string reg = RegisteredDomain(domain);
      if (reg.empty()) continue;
      out->emails.push_back({absl::StrCat(local, "@", domain), reg});
      continue;
    }
    if (!has_scheme && !MayBeSchemelessHost(tok)) continue;
    // Bare words need a dot between two letters/digits to be worth a look ("e.g." is not).
    if (std::optional<Url> u = ParseUrl(tok, Url::Source::kText)) {
      if (u->schemeless && !absl::StartsWithIgnoreCase(tok, "www.") && u->host.size() < 4) continue;
      out->urls.push_back(std::move(*u));
    }
  }
}

}  // namespace farside::mime
