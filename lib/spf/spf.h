// SPF (RFC 7208): check_host() over the MAIL FROM identity, or HELO when MAIL FROM is empty.
// DNS comes through a function, so the scanner hands it its c-ares resolver and tests hand it
// zone data; the evaluator itself is pure and bounded (10 DNS terms, 2 void lookups).
#ifndef FARSIDE_LIB_SPF_SPF_H_
#define FARSIDE_LIB_SPF_SPF_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "lib/dns/resolver.h"

namespace farside::spf {

enum class Result { kNone, kNeutral, kPass, kFail, kSoftFail, kTempError, kPermError };

// "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" (RFC 7208 section 2.6).
absl::string_view ResultName(Result r);

// Answers a batch of queries, in order. The scanner's wraps Resolver::Lookup with the
// message's deadline, so a slow server ends as timeouts, which SPF reports as temperror.
using LookupFn = std::function<std::vector<dns::Answer>(const std::vector<dns::Query>&)>;

struct Request {
  std::string ip;         // the SMTP client, v4 or v6 (v4-mapped v6 counts as v4)
  std::string mail_from;  // the envelope sender, without <>; empty for bounces
  std::string helo;       // the HELO/EHLO name
  std::string receiver = "unknown";  // %{r} in explanations
  int64_t now = 0;                   // %{t}; 0 means the clock
};

struct Limits {
  int dns_terms = 10;     // include, a, mx, ptr, exists, redirect (section 4.6.4)
  int void_lookups = 2;   // answers with no records, or NXDOMAIN
  int mx_names = 10;      // more MX names than this is permerror
  int ptr_names = 10;     // PTR names past this are ignored
  int max_depth = 12;     // nested include/redirect, a guard besides dns_terms
};

struct Outcome {
  Result result = Result::kNone;
  std::string identity;     // "mailfrom" or "helo"
  std::string domain;       // the domain checked
  std::string mechanism;    // the term that decided, e.g. "-all", "ip4:192.0.2.0/24"
  std::string explanation;  // from exp= on fail, macro-expanded; empty if none
  std::string problem;      // why temperror/permerror/none, for the result's options
  int dns_terms = 0;        // what the check spent
  int void_lookups = 0;
};

Outcome Check(const Request& request, const LookupFn& lookup, const Limits& limits = Limits{});

}  // namespace farside::spf

#endif  // FARSIDE_LIB_SPF_SPF_H_
