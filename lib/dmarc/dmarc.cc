// DMARC records, organisational domains and the policy evaluation of RFC 7489 section 6.6.
#include "lib/dmarc/dmarc.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/mime/urls.h"

namespace farside::dmarc {
namespace {

std::string Clean(absl::string_view d) {
  while (absl::ConsumePrefix(&d, ".")) {
  }
  while (absl::ConsumeSuffix(&d, ".")) {
  }
  return absl::AsciiStrToLower(d);
}

bool ParsePolicy(absl::string_view v, Policy* p) {
  const std::string s = absl::AsciiStrToLower(v);
  if (s == "none") *p = Policy::kNone;
  else if (s == "quarantine") *p = Policy::kQuarantine;
  else if (s == "reject") *p = Policy::kReject;
  else return false;
  return true;
}

bool ParseMode(absl::string_view v, bool* strict) {
  const std::string s = absl::AsciiStrToLower(v);
  if (s != "r" && s != "s") return false;
  *strict = s == "s";
  return true;
}

}  // namespace

absl::StatusOr<Record> ParseRecord(absl::string_view txt) {
  std::vector<std::pair<std::string, std::string>> tags;
  for (absl::string_view part : absl::StrSplit(txt, ';')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    if (eq == absl::string_view::npos) return absl::InvalidArgumentError(absl::StrCat("'", part, "' is not tag=value"));
    tags.emplace_back(absl::AsciiStrToLower(absl::StripAsciiWhitespace(part.substr(0, eq))),
                      std::string(absl::StripAsciiWhitespace(part.substr(eq + 1))));
  }
  if (tags.empty()) return absl::InvalidArgumentError("empty record");
  if (tags[0].first != "v" || tags[0].second != "DMARC1") return absl::InvalidArgumentError("the record does not start with v=DMARC1");
  Record r;
  bool have_p = false, have_sp = false, have_rua = false, bad_p = false;
  for (size_t i = 1; i < tags.size(); ++i) {
    const auto& [n, v] = tags[i];
    auto bad = [&] { return absl::InvalidArgumentError(absl::StrCat("bad value ", n, "=", v)); };
    if (n == "p") {
      have_p = ParsePolicy(v, &r.p);
      bad_p = !have_p;
    } else if (n == "sp") {
      if (!ParsePolicy(v, &r.sp)) return bad();
      have_sp = true;
    } else if (n == "adkim") {
      if (!ParseMode(v, &r.strict_dkim)) return bad();
    } else if (n == "aspf") {
      if (!ParseMode(v, &r.strict_spf)) return bad();
    } else if (n == "pct") {
      if (!absl::SimpleAtoi(v, &r.pct) || r.pct < 0 || r.pct > 100) return bad();
    } else if (n == "rf") {
      for (absl::string_view f : absl::StrSplit(v, ':')) {
        const std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(f));
        if (s != "afrf" && s != "iodef") return bad();
      }
    } else if (n == "ri") {
      uint32_t ri = 0;
      if (!absl::SimpleAtoi(v, &ri)) return bad();
    } else if (n == "fo") {
      for (absl::string_view f : absl::StrSplit(v, ':')) {
        const std::string s(absl::StripAsciiWhitespace(f));
        if (s != "0" && s != "1" && s != "d" && s != "s") return bad();
      }
    } else if (n == "rua") {
      have_rua = !v.empty();
    }
    // Unknown tags are ignored (section 6.3).
  }
  if (!have_p) {
    if (!have_rua) {
      return absl::InvalidArgumentError(bad_p ? "p= is not none, quarantine or reject" : "the record has no p=");
    }
    r.p = Policy::kNone;  // section 6.6.3: with a rua=, act as if p=none
  }
  if (!have_sp) r.sp = r.p;
  return r;
}

std::string OrgDomain(absl::string_view domain) {
  const std::string d = Clean(domain);
  if (d.empty()) return "";
  return mime::OrganizationalDomain(d);
}

bool Aligned(absl::string_view a, absl::string_view b, bool strict) {
  const std::string x = Clean(a), y = Clean(b);
  if (x.empty() || y.empty() || absl::StrContains(x, "..") || absl::StrContains(y, "..")) return false;
  if (x == y) return true;
  if (strict) return false;
  const std::string ox = OrgDomain(x);
  return !ox.empty() && ox == OrgDomain(y);
}

std::vector<dns::Query> Queries(absl::string_view from_domain) {
  std::vector<dns::Query> q;
  const std::string d = Clean(from_domain);
  if (d.empty()) return q;
  q.push_back({"_dmarc." + d, dns::Type::kTxt});
  const std::string org = OrgDomain(d);
  if (!org.empty() && org != d) q.push_back({"_dmarc." + org, dns::Type::kTxt});
  return q;
}

Outcome Evaluate(const Input& in, const std::vector<dns::Answer>& answers) {
  Outcome o;
  const std::string from = Clean(in.from_domain);
  const std::vector<dns::Query> qs = Queries(from);
  if (qs.empty()) {
    o.result = Result::kPermError;
    o.reason = "no From domain";
    return o;
  }
  std::optional<Record> rec;
  for (size_t i = 0; i < qs.size() && !rec.has_value(); ++i) {
    if (i >= answers.size()) break;
    const dns::Answer& a = answers[i];
    if (a.status == dns::Answer::Status::kTimeout || a.status == dns::Answer::Status::kError) {
      o.result = Result::kTempError;
      o.reason = absl::StrCat("DNS lookup of ", qs[i].name, " failed");
      return o;
    }
    if (a.status != dns::Answer::Status::kOk) continue;
    std::vector<std::string> dmarc;
    for (const std::string& t : a.records) {
      if (absl::StartsWithIgnoreCase(absl::StripLeadingAsciiWhitespace(t), "v=DMARC1")) dmarc.push_back(t);
    }
    if (dmarc.empty()) continue;
    if (dmarc.size() > 1) {  // section 6.6.3: more than one record is no record
      continue;
    }
    absl::StatusOr<Record> r = ParseRecord(dmarc[0]);
    if (!r.ok()) {
      o.result = Result::kPermError;
      o.reason = absl::StrCat(qs[i].name, ": ", r.status().message());
      return o;
    }
    rec = *r;
    o.record_domain = qs[i].name.substr(7);
  }
  if (!rec.has_value()) {
    o.result = Result::kNone;
    o.reason = absl::StrCat(from, " publishes no DMARC record");
    return o;
  }
  o.spf_aligned = !in.spf_domain.empty() && Aligned(in.spf_domain, from, rec->strict_spf);
  for (const std::string& d : in.dkim_domains) o.dkim_aligned |= Aligned(d, from, rec->strict_dkim);
  // The subdomain policy applies when the record came from the organisational domain.
  o.published = o.record_domain != from ? rec->sp : rec->p;
  if (o.spf_aligned || o.dkim_aligned) {
    o.result = Result::kPass;
    return o;
  }
  o.result = Result::kFail;
  o.policy = o.published;
  if (static_cast<int>(in.sample % 100) >= rec->pct) {
    // Not sampled: one step milder (section 6.6.4).
    o.policy = o.policy == Policy::kReject ? Policy::kQuarantine : Policy::kNone;
  }
  o.reason = "neither SPF nor DKIM passed for an aligned domain";
  return o;
}

absl::string_view ResultName(Result r) {
  switch (r) {
    case Result::kNone: return "none";
    case Result::kPass: return "pass";
    case Result::kFail: return "fail";
    case Result::kTempError: return "temperror";
    case Result::kPermError: return "permerror";
  }
  return "none";
}

absl::string_view PolicyName(Policy p) {
  switch (p) {
    case Policy::kNone: return "none";
    case Policy::kQuarantine: return "quarantine";
    case Policy::kReject: return "reject";
  }
  return "none";
}

}  // namespace farside::dmarc
