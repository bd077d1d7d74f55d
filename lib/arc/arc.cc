// RFC 8617 section 5.2: collect the sets, check their structure, validate the newest AMS
// and every seal over the sets up to its own.
#include "lib/arc/arc.h"

#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace farside::arc {
namespace {

constexpr int kMaxInstances = 50;

absl::string_view Value(const dkim::RawField& f) {
  const size_t colon = f.text.find(':');
  return colon == std::string::npos ? absl::string_view() : absl::string_view(f.text).substr(colon + 1);
}

// The i= of a field's tag list; 0 when missing or bad.
int Instance(absl::string_view value) {
  auto tags = dkim::ParseTags(value);
  if (!tags.ok()) return 0;
  for (const auto& [n, v] : *tags) {
    if (n != "i") continue;
    int i = 0;
    return absl::SimpleAtoi(v, &i) && i >= 1 && i <= kMaxInstances ? i : 0;
  }
  return 0;
}

// An AAR starts "i=N;" (RFC 8617 section 4.1.1).
int AarInstance(absl::string_view value) {
  value = absl::StripLeadingAsciiWhitespace(value);
  if (!absl::ConsumePrefix(&value, "i=")) return 0;
  const size_t semi = value.find(';');
  if (semi == absl::string_view::npos) return 0;
  int i = 0;
  const std::string num(absl::StripAsciiWhitespace(value.substr(0, semi)));
  return absl::SimpleAtoi(num, &i) && i >= 1 && i <= kMaxInstances ? i : 0;
}

struct Set {
  const dkim::RawField* aar = nullptr;
  const dkim::RawField* ams = nullptr;
  const dkim::RawField* as = nullptr;
};

struct Seal {
  std::string cv, domain, selector;
  dkim::Signature sig;  // a, b, d, s as a signature over the sets
};

std::optional<Seal> ParseSeal(absl::string_view value, std::string* why) {
  // An empty tag between two semicolons is a syntax error; one trailing semicolon is not.
  {
    absl::string_view v = absl::StripTrailingAsciiWhitespace(value);
    absl::ConsumeSuffix(&v, ";");
    for (absl::string_view part : absl::StrSplit(v, ';')) {
      if (absl::StripAsciiWhitespace(part).empty()) {
        *why = "an empty tag in the seal";
        return std::nullopt;
      }
    }
  }
  auto tags = dkim::ParseTags(value);
  if (!tags.ok()) {
    *why = std::string(tags.status().message());
    return std::nullopt;
  }
  Seal s;
  s.sig.header_relaxed = true;  // seals are always relaxed (section 5.1.1)
  bool have_a = false, have_b = false, have_i = false;
  for (const auto& [n, v] : *tags) {
    if (n == "a") {
      const std::string a = absl::AsciiStrToLower(v);
      if (a == "rsa-sha256") s.sig.algorithm = dkim::Algorithm::kRsaSha256;
      else if (a == "ed25519-sha256") s.sig.algorithm = dkim::Algorithm::kEd25519Sha256;
      else {
        *why = absl::StrCat("seal algorithm a=", v);
        return std::nullopt;
      }
      have_a = true;
    } else if (n == "b") {
      std::optional<std::string> b = dkim::Base64Decode(v);
      if (!b.has_value() || b->empty()) {
        *why = "seal b= is not base64";
        return std::nullopt;
      }
      s.sig.b = std::move(*b);
      have_b = true;
    } else if (n == "cv") {
      s.cv = absl::AsciiStrToLower(v);
    } else if (n == "d") {
      s.domain = absl::AsciiStrToLower(v);
    } else if (n == "s") {
      s.selector = v;
    } else if (n == "i") {
      have_i = true;
    } else if (n == "h") {
      *why = "a seal must not have h=";
      return std::nullopt;
    }  // other well-formed tags are ignored, as in DKIM
  }
  if (!have_a || !have_b || !have_i || s.cv.empty() || s.domain.empty() || s.selector.empty()) {
    *why = "a seal tag (a, b, cv, d, i, s) is missing";
    return std::nullopt;
  }
  if (s.cv != "none" && s.cv != "pass" && s.cv != "fail") {
    *why = absl::StrCat("seal cv=", s.cv);
    return std::nullopt;
  }
  return s;
}

Outcome Fail(std::string why, int n) {
  Outcome o;
  o.result = Result::kFail;
  o.reason = std::move(why);
  o.instances = n;
  return o;
}

struct Chain {
  std::map<int, Set> sets;
  std::optional<dkim::Signature> ams;  // the newest
  std::vector<Seal> seals;             // index i-1
};

// Collects the sets; a reason when the structure is broken.
std::optional<std::string> Collect(const dkim::RawMessage& m, Chain* c) {
  for (const dkim::RawField& f : m.fields) {
    const dkim::RawField** slot = nullptr;
    int i = 0;
    if (absl::EqualsIgnoreCase(f.name, "ARC-Authentication-Results")) {
      i = AarInstance(Value(f));
      if (i == 0) return "an ARC-Authentication-Results has no valid i=";
      slot = &c->sets[i].aar;
    } else if (absl::EqualsIgnoreCase(f.name, "ARC-Message-Signature")) {
      i = Instance(Value(f));
      if (i == 0) return "an ARC-Message-Signature has no valid i=";
      slot = &c->sets[i].ams;
    } else if (absl::EqualsIgnoreCase(f.name, "ARC-Seal")) {
      i = Instance(Value(f));
      if (i == 0) return "an ARC-Seal has no valid i=";
      slot = &c->sets[i].as;
    } else {
      continue;
    }
    if (*slot != nullptr) return absl::StrCat("instance ", i, " has a field twice");
    *slot = &f;
  }
  if (c->sets.empty()) return std::nullopt;
  const int n = c->sets.rbegin()->first;
  if (static_cast<int>(c->sets.size()) != n) return "the instances are not 1..N without gaps";
  for (const auto& [i, s] : c->sets) {
    if (s.aar == nullptr || s.ams == nullptr || s.as == nullptr) return absl::StrCat("instance ", i, " is incomplete");
  }
  for (const auto& [i, s] : c->sets) {
    std::string why;
    std::optional<Seal> seal = ParseSeal(Value(*s.as), &why);
    if (!seal.has_value()) return absl::StrCat("seal ", i, ": ", why);
    // Section 5.2 step 4: the first seal says cv=none, every later one cv=pass.
    if (i == 1 && seal->cv != "none") return "seal 1 must be cv=none";
    if (i > 1 && seal->cv != "pass") return absl::StrCat("seal ", i, " is cv=", seal->cv);
    c->seals.push_back(std::move(*seal));
  }
  absl::StatusOr<dkim::Signature> ams = dkim::ParseSignature(Value(*c->sets[n].ams), true);
  if (!ams.ok()) return absl::StrCat("message signature ", n, ": ", ams.status().message());
  for (const std::string& h : ams->headers) {
    if (h == "arc-seal") return "the message signature must not sign ARC-Seal";
  }
  c->ams = *ams;
  return std::nullopt;
}

}  // namespace

Prepared Prepare(absl::string_view bytes) {
  Prepared p;
  p.message = dkim::Split(bytes);
  Chain c;
  // The newest seal saying cv=fail ends it at once (section 5.2 step 2).
  std::optional<std::string> broken = Collect(p.message, &c);
  if (c.sets.empty() && !broken.has_value()) return p;
  p.instances = c.sets.empty() ? 0 : c.sets.rbegin()->first;
  if (broken.has_value()) {
    p.early = Result::kFail;
    p.reason = *broken;
    return p;
  }
  p.key_queries.push_back({absl::StrCat(c.ams->selector, "._domainkey.", c.ams->domain), dns::Type::kTxt});
  for (auto it = c.seals.rbegin(); it != c.seals.rend(); ++it) {
    p.key_queries.push_back({absl::StrCat(it->selector, "._domainkey.", it->domain), dns::Type::kTxt});
  }
  return p;
}

Outcome Validate(const Prepared& p, const std::vector<dns::Answer>& keys) {
  if (p.early == Result::kFail) return Fail(p.reason, p.instances);
  Outcome o;
  if (p.instances == 0) return o;
  Chain c;
  Collect(p.message, &c);  // parsed again: cheap, and Prepared stays plain data
  const int n = p.instances;
  auto key_at = [&](size_t k, std::string* why) -> std::optional<dkim::Key> {
    if (k >= keys.size() || keys[k].status != dns::Answer::Status::kOk || keys[k].records.empty()) {
      *why = absl::StrCat("no key at ", k < p.key_queries.size() ? p.key_queries[k].name : "?");
      return std::nullopt;
    }
    absl::StatusOr<dkim::Key> key = dkim::ParseKey(keys[k].records[0]);
    if (!key.ok()) {
      *why = std::string(key.status().message());
      return std::nullopt;
    }
    return *key;
  };
  // Step 5: the newest message signature, as DKIM checks one.
  std::string why;
  std::optional<dkim::Key> key = key_at(0, &why);
  if (!key.has_value()) return Fail(absl::StrCat("message signature ", n, ": ", why), n);
  const std::optional<std::string> bh = dkim::BodyHash(p.message, *c.ams);
  if (!bh.has_value() || *bh != c.ams->bh) return Fail(absl::StrCat("message signature ", n, ": the body has changed"), n);
  const std::string data = dkim::HeaderData(p.message, *c.ams, *c.sets[n].ams);
  if (absl::Status st = dkim::VerifyBytes(*c.ams, *key, data); !st.ok()) {
    return Fail(absl::StrCat("message signature ", n, ": ", st.message()), n);
  }
  // Step 6: every seal, newest first, over the sets 1..i in order.
  for (int i = n; i >= 1; --i) {
    std::optional<dkim::Key> sk = key_at(static_cast<size_t>(n - i + 1), &why);
    if (!sk.has_value()) return Fail(absl::StrCat("seal ", i, ": ", why), n);
    std::string sealed;
    for (int j = 1; j <= i; ++j) {
      const Set& s = c.sets[j];
      sealed += dkim::CanonHeader(*s.aar, true);
      sealed += dkim::CanonHeader(*s.ams, true);
      sealed += j < i ? dkim::CanonHeader(*s.as, true) : dkim::CanonWithoutB(*s.as, true);
    }
    if (absl::Status st = dkim::VerifyBytes(c.seals[static_cast<size_t>(i - 1)].sig, *sk, sealed); !st.ok()) {
      return Fail(absl::StrCat("seal ", i, ": ", st.message()), n);
    }
  }
  o.result = Result::kPass;
  o.instances = n;
  o.domain = c.seals.back().domain;
  return o;
}

absl::string_view ResultName(Result r) {
  switch (r) {
    case Result::kNone: return "none";
    case Result::kPass: return "pass";
    case Result::kFail: return "fail";
  }
  return "none";
}

}  // namespace farside::arc
