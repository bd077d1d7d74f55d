// DMARC (RFC 7489): the policy record of the From domain or its organisational domain (Public
// Suffix List through libpsl), SPF and DKIM alignment (relaxed or strict), p, sp and pct.
// Pure: the record lookups come in as DNS answers, like SPF's and DKIM's.
#ifndef FARSIDE_LIB_DMARC_DMARC_H_
#define FARSIDE_LIB_DMARC_DMARC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/dns/resolver.h"

namespace farside::dmarc {

enum class Policy { kNone, kQuarantine, kReject };

struct Record {
  Policy p = Policy::kNone;
  Policy sp = Policy::kNone;  // p when the record has no sp=
  bool strict_dkim = false, strict_spf = false;
  int pct = 100;
};
// v=DMARC1 first, then tags; unknown tags are ignored, bad values of known ones are errors.
// A record without a usable p= but with rua= counts as p=none (section 6.6.3).
absl::StatusOr<Record> ParseRecord(absl::string_view txt);

// The organisational domain: the registered domain under the public suffix, the default
// rule applying to unlisted TLDs ("a.b.example" -> "b.example"). Empty for a public suffix.
std::string OrgDomain(absl::string_view domain);
// Whether two domains align: equal (strict), or of one organisational domain (relaxed).
bool Aligned(absl::string_view a, absl::string_view b, bool strict);

struct Input {
  std::string from_domain;            // the RFC5322.From domain (one address, one domain)
  std::string spf_domain;             // the domain SPF checked, when it passed
  std::vector<std::string> dkim_domains;  // d= of the signatures that passed
  uint32_t sample = 0;                // 0..99, compared with pct (a hash of the message, say)
};

enum class Result { kNone, kPass, kFail, kTempError, kPermError };

struct Outcome {
  Result result = Result::kNone;
  Policy policy = Policy::kNone;     // what the domain asks for this failing message
  Policy published = Policy::kNone;  // before pct sampling
  std::string record_domain;         // where the record was found
  bool spf_aligned = false, dkim_aligned = false;
  std::string reason;
};

// The record names to ask, in order: _dmarc.<from>, then _dmarc.<org> when it differs.
std::vector<dns::Query> Queries(absl::string_view from_domain);
// `answers` one per Queries() entry (the second may be missing when the first had a record).
Outcome Evaluate(const Input& in, const std::vector<dns::Answer>& answers);

absl::string_view ResultName(Result r);
absl::string_view PolicyName(Policy p);

}  // namespace farside::dmarc

#endif  // FARSIDE_LIB_DMARC_DMARC_H_
