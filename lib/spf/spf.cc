// RFC 7208 check_host(): record selection, term syntax (checked whole before evaluation, as
// section 4.6 asks), macro expansion (section 7), mechanisms, redirect and exp, limits.
#include "lib/spf/spf.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace farside::spf {
namespace {

using dns::Answer;
using dns::Query;
using dns::Type;

struct Ip {
  bool v6 = false;
  std::array<uint8_t, 16> b{};  // v4 uses the first 4
};

std::optional<Ip> ParseIp(absl::string_view s) {
  std::string z(s);
  Ip ip;
  if (inet_pton(AF_INET, z.c_str(), ip.b.data()) == 1) return ip;
  if (inet_pton(AF_INET6, z.c_str(), ip.b.data()) != 1) return std::nullopt;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(ip.b.data(), mapped, 12) == 0) {  // ::ffff:a.b.c.d is that v4 address
    std::memmove(ip.b.data(), ip.b.data() + 12, 4);
    std::memset(ip.b.data() + 4, 0, 12);
    return ip;
  }
  ip.v6 = true;
  return ip;
}

bool InNet(const Ip& ip, const Ip& net, int bits) {
  if (ip.v6 != net.v6) return false;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip.b[i] & mask) != (net.b[i] & mask)) return false;
  }
  return true;
}

std::string IpText(const Ip& ip) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(ip.v6 ? AF_INET6 : AF_INET, ip.b.data(), buf, sizeof buf);
  return buf;
}

// %{i}: dotted quad, or 32 dot-separated nibbles for v6 (section 7.3).
std::string IpMacro(const Ip& ip) {
  if (!ip.v6) return IpText(ip);
  static const char hex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i) s += '.';
    s += hex[ip.b[i] >> 4];
    s += '.';
    s += hex[ip.b[i] & 15];
  }
  return s;
}

std::string ReverseName(const Ip& ip) {
  std::vector<std::string> parts = absl::StrSplit(IpMacro(ip), '.');
  std::reverse(parts.begin(), parts.end());
  return absl::StrCat(absl::StrJoin(parts, "."), ip.v6 ? ".ip6.arpa" : ".in-addr.arpa");
}

std::string Norm(absl::string_view d) {
  std::string s = absl::AsciiStrToLower(d);
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// Section 4.3: a multi-label name with no empty or over-long label.
bool ValidDomain(absl::string_view d) {
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  if (d.empty() || d.size() > 253 || d.front() == '[') return false;
  int labels = 0;
  for (absl::string_view l : absl::StrSplit(d, '.')) {
    if (l.empty() || l.size() > 63) return false;
    ++labels;
  }
  return labels >= 2;
}

bool IsAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool ValidTopLabel(absl::string_view t) {
  if (t.empty()) return false;
  bool alpha = false, dash = false;
  for (char c : t) {
    if (c == '-') {
      dash = true;
    } else if (!IsAlnum(c)) {
      return false;
    } else if (absl::ascii_isalpha(static_cast<unsigned char>(c))) {
      alpha = true;
    }
  }
  if (!dash) return alpha;
  return IsAlnum(t.front()) && IsAlnum(t.back());
}

constexpr absl::string_view kDelimiters = ".-+,/_=";

// One piece of a macro-string: literal text, or a macro with its transformers.
struct Piece {
  std::string literal;  // when letter == 0
  char letter = 0;      // lower-case macro letter
  bool upper = false;   // URL-escape the expansion
  int digits = 0;       // 0: all parts
  bool reverse = false;
  std::string delimiters;
};

// Parses a macro-string (section 7.1). `explain`: the text of an exp record, where spaces
// and the c, r and t macros are allowed. Nothing on a syntax error.
std::optional<std::vector<Piece>> ParseMacros(absl::string_view s, bool explain) {
  std::vector<Piece> out;
  auto lit = [&](absl::string_view t) {
    if (out.empty() || out.back().letter != 0) out.emplace_back();
    out.back().literal.append(t.data(), t.size());
  };
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c != '%') {
      const bool ok = explain ? (c >= 0x20 && c <= 0x7e) : (c >= 0x21 && c <= 0x7e);
      if (!ok) return std::nullopt;
      lit(s.substr(i, 1));
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) return std::nullopt;
    const char n = s[i + 1];
    if (n == '%') { lit("%"); i += 2; continue; }
    if (n == '_') { lit(" "); i += 2; continue; }
    if (n == '-') { lit("%20"); i += 2; continue; }
    if (n != '{') return std::nullopt;
    const size_t close = s.find('}', i + 2);
    if (close == absl::string_view::npos) return std::nullopt;
    absl::string_view body = s.substr(i + 2, close - i - 2);
    if (body.empty()) return std::nullopt;
    Piece p;
    const char l = absl::ascii_tolower(static_cast<unsigned char>(body[0]));
    const absl::string_view letters = explain ? "slodiphvcrt" : "slodiphv";
    if (letters.find(l) == absl::string_view::npos) return std::nullopt;
    p.letter = l;
    p.upper = absl::ascii_isupper(static_cast<unsigned char>(body[0]));
    size_t j = 1;
    std::string num;
    while (j < body.size() && absl::ascii_isdigit(static_cast<unsigned char>(body[j]))) num += body[j++];
    if (!num.empty()) {
      if (num.size() > 3 || !absl::SimpleAtoi(num, &p.digits) || p.digits == 0) return std::nullopt;
    }
    if (j < body.size() && (body[j] == 'r' || body[j] == 'R')) {
      p.reverse = true;
      ++j;
    }
    for (; j < body.size(); ++j) {
      if (kDelimiters.find(body[j]) == absl::string_view::npos) return std::nullopt;
      p.delimiters += body[j];
    }
    out.push_back(std::move(p));
    i = close + 1;
  }
  return out;
}

// domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand
bool ValidDomainSpec(absl::string_view spec) {
  if (spec.empty()) return false;
  std::optional<std::vector<Piece>> pieces = ParseMacros(spec, false);
  if (!pieces.has_value() || pieces->empty()) return false;
  // A spec ending in "%%", "%_" or "%-" ends in a macro-expand too; those became literal
  // text, so look at the raw spec for them.
  if (pieces->back().letter != 0) return true;
  if (spec.size() >= 2 && spec[spec.size() - 2] == '%' &&
      (spec.back() == '%' || spec.back() == '_' || spec.back() == '-')) {
    return true;
  }
  absl::string_view t = spec;
  if (t.back() == '.') t.remove_suffix(1);
  const size_t dot = t.rfind('.');
  if (dot == absl::string_view::npos) return false;
  return ValidTopLabel(t.substr(dot + 1));
}

bool ValidModifierName(absl::string_view n) {
  if (n.empty() || !absl::ascii_isalpha(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// A cidr length: "0" or no leading zero, at most `max`.
bool ParseCidr(absl::string_view s, int max, int* out) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleAtoi(s, out) && *out <= max;
}

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); });
}

// Splits a trailing dual-cidr-length ("/24", "//64", "/24//64") off `s`. False when one is
// there but out of range.
bool SplitDualCidr(absl::string_view* s, int* c4, int* c6, bool allow4) {
  size_t p = s->rfind("//");
  if (p != absl::string_view::npos && AllDigits(s->substr(p + 2))) {
    if (!ParseCidr(s->substr(p + 2), 128, c6)) return false;
    *s = s->substr(0, p);
  } else if (p != absl::string_view::npos && p + 2 == s->size()) {
    return false;  // "//" with no length
  }
  p = s->rfind('/');
  if (p != absl::string_view::npos && AllDigits(s->substr(p + 1))) {
    if (!allow4 || !ParseCidr(s->substr(p + 1), 32, c4)) return false;
    *s = s->substr(0, p);
  } else if (p != absl::string_view::npos && p + 1 == s->size()) {
    return false;
  }
  return true;
}

struct Term {
  enum class Kind { kAll, kInclude, kA, kMx, kPtr, kIp4, kIp6, kExists };
  Kind kind = Kind::kAll;
  char qualifier = '+';
  std::string spec;  // domain-spec, empty for the current domain
  int cidr4 = 32, cidr6 = 128;
  Ip net;
  std::string text;
};

struct Record {
  std::vector<Term> terms;
  std::optional<std::string> redirect, exp;
  bool has_all = false;
};

// Section 4.6: the whole record is checked before any of it runs. The error is the reason.
std::optional<Record> ParseRecord(absl::string_view text, std::string* error) {
  for (unsigned char c : text) {
    if (c < 0x20 || c > 0x7e) {
      *error = "the record has a non-ASCII or control character";
      return std::nullopt;
    }
  }
  Record r;
  std::vector<absl::string_view> words = absl::StrSplit(text, ' ', absl::SkipEmpty());
  for (size_t w = 1; w < words.size(); ++w) {  // words[0] is v=spf1
    absl::string_view t = words[w];
    const size_t sep = t.find_first_of(":/=");
    if (sep != absl::string_view::npos && t[sep] == '=') {
      absl::string_view name = t.substr(0, sep), value = t.substr(sep + 1);
      if (!ValidModifierName(name)) {
        *error = absl::StrCat("bad modifier name in '", t, "'");
        return std::nullopt;
      }
      const std::string lname = absl::AsciiStrToLower(name);
      if (lname == "redirect" || lname == "exp") {
        std::optional<std::string>& slot = lname == "redirect" ? r.redirect : r.exp;
        if (slot.has_value()) {
          *error = absl::StrCat("'", lname, "' given twice");
          return std::nullopt;
        }
        if (!ValidDomainSpec(value)) {
          *error = absl::StrCat("bad domain in '", t, "'");
          return std::nullopt;
        }
        slot = std::string(value);
      } else if (!ParseMacros(value, false).has_value()) {  // unknown modifiers are ignored, if well-formed
        *error = absl::StrCat("bad macro in '", t, "'");
        return std::nullopt;
      }
      continue;
    }
    Term term;
    term.text = std::string(t);
    if (!t.empty() && (t[0] == '+' || t[0] == '-' || t[0] == '~' || t[0] == '?')) {
      term.qualifier = t[0];
      t.remove_prefix(1);
    }
    const size_t end = t.find_first_of(":/");
    const std::string mech = absl::AsciiStrToLower(t.substr(0, end));
    absl::string_view rest = end == absl::string_view::npos ? absl::string_view() : t.substr(end);
    auto bad = [&](absl::string_view why) {
      *error = absl::StrCat(why, " in '", term.text, "'");
      return std::nullopt;
    };
    // ":domain" with an optional dual cidr after it.
    auto domain_arg = [&](bool cidr, bool required) -> bool {
      if (cidr && !SplitDualCidr(&rest, &term.cidr4, &term.cidr6, true)) return false;
      if (rest.empty()) return !required;
      if (rest[0] != ':') return false;
      term.spec = std::string(rest.substr(1));
      return ValidDomainSpec(term.spec);
    };
    if (mech == "all") {
      term.kind = Term::Kind::kAll;
      if (!rest.empty()) return bad("'all' takes no argument");
      r.has_all = true;
    } else if (mech == "include" || mech == "exists") {
      term.kind = mech == "include" ? Term::Kind::kInclude : Term::Kind::kExists;
      if (!domain_arg(false, true)) return bad("a domain is required");
    } else if (mech == "a" || mech == "mx") {
      term.kind = mech == "a" ? Term::Kind::kA : Term::Kind::kMx;
      if (!domain_arg(true, false)) return bad("bad domain or cidr length");
    } else if (mech == "ptr") {
      term.kind = Term::Kind::kPtr;
      if (!domain_arg(false, false)) return bad("bad domain");
    } else if (mech == "ip4" || mech == "ip6") {
      const bool v6 = mech == "ip6";
      term.kind = v6 ? Term::Kind::kIp6 : Term::Kind::kIp4;
      if (rest.empty() || rest[0] != ':') return bad("an address is required");
      absl::string_view net = rest.substr(1);
      int bits = v6 ? 128 : 32;
      if (const size_t slash = net.find('/'); slash != absl::string_view::npos) {
        if (!ParseCidr(net.substr(slash + 1), v6 ? 128 : 32, &bits)) return bad("bad cidr length");
        net = net.substr(0, slash);
      }
      std::string z(net);
      Ip ip;
      ip.v6 = v6;
      if (inet_pton(v6 ? AF_INET6 : AF_INET, z.c_str(), ip.b.data()) != 1) return bad("bad address");
      term.net = ip;
      (v6 ? term.cidr6 : term.cidr4) = bits;
    } else {
      return bad("unknown mechanism");
    }
    r.terms.push_back(std::move(term));
  }
  return r;
}

std::string UrlEscape(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (IsAlnum(static_cast<char>(c)) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);  // RFC 3986: upper-case hex
    }
  }
  return out;
}

struct Eval {
  const LookupFn& lookup;
  const Limits& limits;
  Ip ip;
  std::string sender, local, sender_domain, helo, receiver;
  int64_t now = 0;
  int dns_terms = 0, voids = 0;
  std::optional<std::string> validated;  // %{p}, computed once

  struct Verdict {
    Result result = Result::kNeutral;
    std::string mechanism, explanation, problem;
  };

  Answer One(const std::string& name, Type t) { return lookup({Query{name, t}})[0]; }

  static bool Void(const Answer& a) {
    return a.status == Answer::Status::kNxDomain || a.status == Answer::Status::kNoData ||
           (a.status == Answer::Status::kOk && a.records.empty());
  }
  static bool Failed(const Answer& a) {
    return a.status == Answer::Status::kTimeout || a.status == Answer::Status::kError;
  }

  // Counts a DNS-querying term; false once past the limit.
  bool Spend() { return ++dns_terms <= limits.dns_terms; }
  // Counts a void answer; false once past the limit.
  bool CountVoid(const Answer& a) { return !Void(a) || ++voids <= limits.void_lookups; }

  // Names the client's address has in the reverse zone that also resolve back to it.
  std::vector<std::string> ValidatedNames(bool* failed) {
    std::vector<std::string> out;
    const Answer ptr = One(ReverseName(ip), Type::kPtr);
    if (failed) *failed = Failed(ptr);
    if (ptr.status != Answer::Status::kOk) return out;
    std::vector<Query> qs;
    for (const std::string& n : ptr.records) {
      if (static_cast<int>(qs.size()) >= limits.ptr_names) break;
      qs.push_back({n, ip.v6 ? Type::kAaaa : Type::kA});
    }
    if (qs.empty()) return out;
    const std::vector<Answer> as = lookup(qs);
    for (size_t i = 0; i < qs.size(); ++i) {
      if (as[i].status != Answer::Status::kOk) continue;
      for (const std::string& addr : as[i].records) {
        std::optional<Ip> a = ParseIp(addr);
        if (a.has_value() && InNet(ip, *a, ip.v6 ? 128 : 32)) {
          out.push_back(Norm(qs[i].name));
          break;
        }
      }
    }
    return out;
  }

  std::string MacroValue(char letter, const std::string& domain) {
    switch (letter) {
      case 's': return sender;
      case 'l': return local;
      case 'o': return sender_domain;
      case 'd': return domain;
      case 'i': return IpMacro(ip);
      case 'v': return ip.v6 ? "ip6" : "in-addr";
      case 'h': return helo;
      case 'c': return IpText(ip);
      case 'r': return receiver;
      case 't': return absl::StrCat(now);
      case 'p': {
        if (!validated.has_value()) {
          std::vector<std::string> names = ValidatedNames(nullptr);
          validated = "unknown";
          const std::string d = Norm(domain);
          for (const std::string& n : names) {
            if (n == d || absl::EndsWith(n, absl::StrCat(".", d))) {
              validated = n;
              break;
            }
          }
          if (*validated == "unknown" && !names.empty()) validated = names.front();
        }
        return *validated;
      }
    }
    return "";
  }

  std::optional<std::string> Expand(absl::string_view spec, const std::string& domain, bool explain) {
    std::optional<std::vector<Piece>> pieces = ParseMacros(spec, explain);
    if (!pieces.has_value()) return std::nullopt;
    std::string out;
    for (const Piece& p : *pieces) {
      if (p.letter == 0) {
        out += p.literal;
        continue;
      }
      const std::string value = MacroValue(p.letter, domain);
      const std::string delims = p.delimiters.empty() ? "." : p.delimiters;
      std::vector<std::string> parts = absl::StrSplit(value, absl::ByAnyChar(delims));
      if (p.reverse) std::reverse(parts.begin(), parts.end());
      if (p.digits > 0 && static_cast<size_t>(p.digits) < parts.size()) {
        parts.erase(parts.begin(), parts.end() - p.digits);
      }
      std::string v = absl::StrJoin(parts, ".");
      out += p.upper ? UrlEscape(v) : v;
    }
    return out;
  }

  // A domain-spec's target: expanded, and shortened from the left to 253 characters.
  std::optional<std::string> Target(const std::string& spec, const std::string& domain) {
    if (spec.empty()) return domain;
    std::optional<std::string> d = Expand(spec, domain, false);
    if (!d.has_value()) return std::nullopt;
    while (d->size() > 253) {
      const size_t dot = d->find('.');
      if (dot == std::string::npos) return std::nullopt;
      d->erase(0, dot + 1);
    }
    return d;
  }

  bool AnyAddressMatches(const Answer& a, int c4, int c6) {
    for (const std::string& s : a.records) {
      std::optional<Ip> addr = ParseIp(s);
      if (addr.has_value() && InNet(ip, *addr, ip.v6 ? c6 : c4)) return true;
    }
    return false;
  }

  // The record of `domain`, or the verdict that there is none usable.
  std::optional<Record> Fetch(const std::string& domain, Verdict* v) {
    const Answer txt = One(domain, Type::kTxt);
    if (Failed(txt)) {
      v->result = Result::kTempError;
      v->problem = absl::StrCat("DNS lookup of ", domain, " failed");
      return std::nullopt;
    }
    std::vector<const std::string*> spf;
    for (const std::string& t : txt.records) {
      if (t.size() >= 6 && absl::EqualsIgnoreCase(absl::string_view(t).substr(0, 6), "v=spf1") &&
          (t.size() == 6 || t[6] == ' ')) {
        spf.push_back(&t);
      }
    }
    if (spf.empty()) {
      v->result = Result::kNone;
      v->problem = absl::StrCat(domain, " publishes no SPF record");
      return std::nullopt;
    }
    if (spf.size() > 1) {
      v->result = Result::kPermError;
      v->problem = absl::StrCat(domain, " publishes more than one SPF record");
      return std::nullopt;
    }
    std::string error;
    std::optional<Record> r = ParseRecord(*spf[0], &error);
    if (!r.has_value()) {
      v->result = Result::kPermError;
      v->problem = absl::StrCat(domain, ": ", error);
    }
    return r;
  }

  Verdict Perm(std::string why) {
    Verdict v;
    v.result = Result::kPermError;
    v.problem = std::move(why);
    return v;
  }

  Verdict CheckHost(const std::string& domain, int depth) {
    Verdict v;
    if (depth > limits.max_depth) return Perm("include/redirect nested too deep");
    std::optional<Record> rec = Fetch(domain, &v);
    if (!rec.has_value()) return v;
    for (const Term& t : rec->terms) {
      std::optional<Verdict> err;
      const bool match = Matches(t, domain, depth, &err);
      if (err.has_value()) return *err;
      if (!match) continue;
      v.mechanism = t.text;
      switch (t.qualifier) {
        case '-': v.result = Result::kFail; break;
        case '~': v.result = Result::kSoftFail; break;
        case '?': v.result = Result::kNeutral; break;
        default: v.result = Result::kPass; break;
      }
      if (v.result == Result::kFail && rec->exp.has_value()) v.explanation = Explain(*rec->exp, domain);
      return v;
    }
    if (rec->redirect.has_value() && !rec->has_all) {
      if (!Spend()) return Perm("more than 10 DNS-querying terms");
      std::optional<std::string> target = Target(*rec->redirect, domain);
      if (!target.has_value() || !ValidDomain(*target)) return Perm("redirect to an invalid domain");
      Verdict r = CheckHost(Norm(*target), depth + 1);
      if (r.result == Result::kNone) return Perm(absl::StrCat("redirect to ", *target, ", which has no SPF record"));
      return r;
    }
    v.result = Result::kNeutral;
    v.mechanism = "(default)";
    return v;
  }

  // Section 6.2: the explanation, or empty when anything about it goes wrong.
  std::string Explain(const std::string& spec, const std::string& domain) {
    std::optional<std::string> target = Target(spec, domain);
    if (!target.has_value() || !ValidDomain(*target)) return "";
    const Answer a = One(*target, Type::kTxt);
    if (a.status != Answer::Status::kOk || a.records.size() != 1) return "";
    return Expand(a.records[0], domain, true).value_or("");
  }

  bool Matches(const Term& t, const std::string& domain, int depth, std::optional<Verdict>* err) {
    auto perm = [&](std::string why) {
      *err = Perm(std::move(why));
      return false;
    };
    auto temp = [&](const std::string& name) {
      Verdict v;
      v.result = Result::kTempError;
      v.problem = absl::StrCat("DNS lookup of ", name, " failed in '", t.text, "'");
      *err = v;
      return false;
    };
    switch (t.kind) {
      case Term::Kind::kAll: return true;
      case Term::Kind::kIp4:
        return !ip.v6 && InNet(ip, t.net, t.cidr4);
      case Term::Kind::kIp6:
        return ip.v6 && InNet(ip, t.net, t.cidr6);
      default: break;
    }
    if (!Spend()) return perm("more than 10 DNS-querying terms");
    std::optional<std::string> target_or = Target(t.spec, domain);
    if (!target_or.has_value()) return perm(absl::StrCat("bad macro in '", t.text, "'"));
    const std::string target = Norm(*target_or);
    switch (t.kind) {
      case Term::Kind::kInclude: {
        if (!ValidDomain(target)) return perm(absl::StrCat("include of an invalid domain in '", t.text, "'"));
        Verdict r = CheckHost(target, depth + 1);
        switch (r.result) {
          case Result::kPass: return true;
          case Result::kTempError:
          case Result::kPermError: *err = r; return false;
          case Result::kNone: return perm(absl::StrCat("include of ", target, ", which has no SPF record"));
          default: return false;
        }
      }
      case Term::Kind::kA: {
        if (!ValidDomain(target)) return false;
        const Answer a = One(target, ip.v6 ? Type::kAaaa : Type::kA);
        if (Failed(a)) return temp(target);
        if (!CountVoid(a)) return perm("more than 2 void lookups");
        return AnyAddressMatches(a, t.cidr4, t.cidr6);
      }
      case Term::Kind::kMx: {
        if (!ValidDomain(target)) return false;
        const Answer mx = One(target, Type::kMx);
        if (Failed(mx)) return temp(target);
        if (!CountVoid(mx)) return perm("more than 2 void lookups");
        std::vector<Query> qs;
        for (const std::string& n : mx.records) {
          if (n.empty() || n == ".") continue;  // null MX (RFC 7505)
          qs.push_back({n, ip.v6 ? Type::kAaaa : Type::kA});
        }
        if (static_cast<int>(qs.size()) > limits.mx_names) return perm("more than 10 MX names");
        if (qs.empty()) return false;
        for (const Answer& a : lookup(qs)) {
          if (a.status == Answer::Status::kOk && AnyAddressMatches(a, t.cidr4, t.cidr6)) return true;
        }
        return false;
      }
      case Term::Kind::kPtr: {
        bool failed = false;
        const std::vector<std::string> names = ValidatedNames(&failed);
        if (failed) return false;  // section 5.5: a DNS error is no match
        for (const std::string& n : names) {
          if (n == target || absl::EndsWith(n, absl::StrCat(".", target))) return true;
        }
        return false;
      }
      case Term::Kind::kExists: {
        if (!ValidDomain(target)) return false;
        const Answer a = One(target, Type::kA);  // always A, whatever the client's family
        if (Failed(a)) return temp(target);
        if (!CountVoid(a)) return perm("more than 2 void lookups");
        return a.status == Answer::Status::kOk && !a.records.empty();
      }
      default: return false;
    }
  }
};

}  // namespace

absl::string_view ResultName(Result r) {
  switch (r) {
    case Result::kNone: return "none";
    case Result::kNeutral: return "neutral";
    case Result::kPass: return "pass";
    case Result::kFail: return "fail";
    case Result::kSoftFail: return "softfail";
    case Result::kTempError: return "temperror";
    case Result::kPermError: return "permerror";
  }
  return "none";
}

Outcome Check(const Request& request, const LookupFn& lookup, const Limits& limits) {
  Outcome out;
  Eval e{lookup, limits, {}, {}, {}, {}, {}, {}, 0, 0, 0, std::nullopt};
  std::optional<Ip> ip = ParseIp(request.ip);
  if (!ip.has_value()) {
    out.problem = absl::StrCat("client address '", request.ip, "' does not parse");
    return out;
  }
  e.ip = *ip;
  e.helo = request.helo;
  e.receiver = request.receiver;
  e.now = request.now != 0 ? request.now : absl::ToUnixSeconds(absl::Now());
  std::string domain;
  if (request.mail_from.empty()) {
    out.identity = "helo";
    e.local = "postmaster";
    domain = request.helo;
  } else {
    out.identity = "mailfrom";
    const size_t at = request.mail_from.rfind('@');
    if (at == std::string::npos) {
      e.local = "postmaster";
      domain = request.mail_from;
    } else {
      e.local = request.mail_from.substr(0, at);
      domain = request.mail_from.substr(at + 1);
      if (e.local.empty()) e.local = "postmaster";
    }
  }
  e.sender_domain = domain;
  e.sender = absl::StrCat(e.local, "@", domain);
  out.domain = Norm(domain);
  if (!ValidDomain(domain)) {
    out.problem = absl::StrCat("'", domain, "' is not a domain SPF can check");
    return out;
  }
  Eval::Verdict v = e.CheckHost(out.domain, 0);
  out.result = v.result;
  out.mechanism = std::move(v.mechanism);
  out.explanation = std::move(v.explanation);
  out.problem = std::move(v.problem);
  out.dns_terms = e.dns_terms;
  out.void_lookups = e.voids;
  return out;
}

}  // namespace farside::spf
