// SPF, DKIM, DMARC and block-list lookups for a scan, the symbols they give, and the
// Authentication-Results and DKIM-Signature fields that follow from them.
#include "services/scanner/network.h"

#include <arpa/inet.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "lib/common/config_loader.h"
#include "lib/common/digest.h"
#include "lib/common/log.h"
#include "lib/dmarc/dmarc.h"
#include "lib/rules/checks.h"
#include "lib/spf/spf.h"

namespace farside::scanner {
namespace {

using google::protobuf::util::TimeUtil;

absl::Duration Dur(const google::protobuf::Duration& d) {
  return absl::Milliseconds(TimeUtil::DurationToMilliseconds(d));
}

std::string Domain(const std::string& address) {
  const size_t at = address.rfind('@');
  return at == std::string::npos ? "" : absl::AsciiStrToLower(address.substr(at + 1));
}

bool NetworkSkipped(const farside::v1::Envelope& env) { return !env.authenticated_user().empty(); }

struct SpfSymbol {
  const char* name;
  const char* description;
};

SpfSymbol SpfInfo(spf::Result r) {
  switch (r) {
    case spf::Result::kPass: return {"SPF_PASS", "The sender's domain authorises this client to send its mail (SPF)"};
    case spf::Result::kFail: return {"SPF_FAIL", "The sender's domain says this client must not send its mail (SPF fail)"};
    case spf::Result::kSoftFail: return {"SPF_SOFTFAIL", "The sender's domain says this client probably should not send its mail (SPF softfail)"};
    case spf::Result::kNeutral: return {"SPF_NEUTRAL", "The sender's domain makes no claim about this client (SPF neutral)"};
    case spf::Result::kNone: return {"SPF_NONE", "The sender's domain publishes no SPF record"};
    case spf::Result::kTempError: return {"SPF_TEMPERROR", "SPF could not be checked for now: a DNS lookup failed or timed out"};
    case spf::Result::kPermError: return {"SPF_PERMERROR", "The sender's domain publishes a broken SPF record"};
  }
  return {"SPF_NONE", ""};
}

double SpfScore(const farside::v1::SpfConfig& c, spf::Result r) {
  switch (r) {
    case spf::Result::kPass: return c.pass_score();
    case spf::Result::kFail: return c.fail_score();
    case spf::Result::kSoftFail: return c.softfail_score();
    case spf::Result::kNeutral: return c.neutral_score();
    case spf::Result::kNone: return c.none_score();
    case spf::Result::kTempError: return c.temperror_score();
    case spf::Result::kPermError: return c.permerror_score();
  }
  return 0;
}

// An answer address a list meant: inside 127.0.0.0/8, and not 127.255.255.x (the lists'
// "your resolver is refused" codes).
bool ListedAnswer(const std::string& a, uint8_t* last) {
  in_addr v;
  if (inet_pton(AF_INET, a.c_str(), &v) != 1) return false;
  const uint32_t h = ntohl(v.s_addr);
  if ((h >> 24) != 127) return false;
  if ((h >> 8) == 0x7fffff) return false;
  *last = static_cast<uint8_t>(h & 0xff);
  return true;
}

}  // namespace

std::string ReversedIpQuery(const std::string& ip, const std::string& zone) {
  unsigned char b[16];
  if (inet_pton(AF_INET, ip.c_str(), b) == 1) {
    return absl::StrCat(b[3], ".", b[2], ".", b[1], ".", b[0], ".", zone);
  }
  if (inet_pton(AF_INET6, ip.c_str(), b) != 1) return "";
  static const char hex[] = "0123456789abcdef";
  std::string s;
  for (int i = 15; i >= 0; --i) {
    s += hex[b[i] & 15];
    s += '.';
    s += hex[b[i] >> 4];
    s += '.';
  }
  return s + zone;
}

absl::StatusOr<std::unique_ptr<NetworkChecks>> NetworkChecks::Create(const farside::v1::ScannerConfig& config) {
  std::unique_ptr<NetworkChecks> n(new NetworkChecks());
  n->dns_ = config.dns();
  n->spf_ = config.spf();
  n->dnsbl_ = config.dnsbl();
  std::set<std::string> names;
  for (int i = 0; i < n->dnsbl_.lists_size(); ++i) {
    const farside::v1::DnsblList& l = n->dnsbl_.lists(i);
    const std::string path = absl::StrCat("scanner.dnsbl.lists[", i, "]");
    if (l.name().empty()) return absl::InvalidArgumentError(path + ".name: required");
    if (!names.insert(l.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".name: '", l.name(), "' is used twice"));
    }
    if (l.zone().empty() || absl::StartsWith(l.zone(), ".") || absl::EndsWith(l.zone(), ".")) {
      return absl::InvalidArgumentError(path + ".zone: a DNS zone is required, without leading or trailing dot");
    }
    static const std::set<std::string> kChecks = {"ip", "received", "domain", "email"};
    if (!kChecks.count(l.check())) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".check: '", l.check(),
                                                     "' is not one of ip, received, domain, email"));
    }
    n->code_patterns_.emplace_back(l.codes_size());
    for (int j = 0; j < l.codes_size(); ++j) {
      const farside::v1::DnsblCode& c = l.codes(j);
      const std::string cp = absl::StrCat(path, ".codes[", j, "]");
      in_addr v;
      if (!c.address().empty() + (c.bits() != 0) + !c.pattern().empty() != 1) {
        return absl::InvalidArgumentError(cp + ": give one of address, bits or pattern");
      }
      if (!c.pattern().empty()) {
        absl::StatusOr<rules::Regex> re = rules::Regex::Compile(c.pattern(), "");
        if (!re.ok()) return absl::InvalidArgumentError(absl::StrCat(cp, ".pattern: ", re.status().message()));
        n->code_patterns_.back()[j] = std::move(*re);
      }
      if (!c.address().empty() && inet_pton(AF_INET, c.address().c_str(), &v) != 1) {
        return absl::InvalidArgumentError(absl::StrCat(cp, ".address: '", c.address(), "' is not an IPv4 address"));
      }
      if (c.symbol().empty()) return absl::InvalidArgumentError(cp + ".symbol: required");
    }
    if (l.enabled()) n->list_kinds_.insert(l.check());
  }
  n->dkim_ = config.dkim();
  n->dmarc_ = config.dmarc();
  n->auth_results_ = config.auth_results();
  n->signing_ = config.dkim_signing();
  n->arc_ = config.arc();
  for (auto [text, slot, key] : {std::make_tuple(&n->dmarc_.reject_action(), &n->dmarc_reject_action_, "reject_action"),
                                 std::make_tuple(&n->dmarc_.quarantine_action(), &n->dmarc_quarantine_action_,
                                                 "quarantine_action")}) {
    if (text->empty()) continue;
    farside::v1::Action a;
    if (!farside::v1::Action_Parse(absl::AsciiStrToUpper(*text), &a)) {
      return absl::InvalidArgumentError(absl::StrCat("scanner.dmarc.", key, ": unknown action '", *text, "'"));
    }
    *slot = a;
  }
  if (n->signing_.enabled()) {
    for (int i = 0; i < n->signing_.keys_size(); ++i) {
      const farside::v1::DkimKey& k = n->signing_.keys(i);
      const std::string path = absl::StrCat("scanner.dkim_signing.keys[", i, "]");
      if (k.domain().empty() || k.selector().empty()) {
        return absl::InvalidArgumentError(path + ": domain and selector are required");
      }
      absl::StatusOr<std::string> pem = config::ReadFile(k.key_file());
      if (!pem.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ".key_file: ", pem.status().message()));
      // A trial signature tells a bad key now rather than on the first outbound message.
      dkim::SignOptions so;
      so.domain = k.domain();
      so.selector = k.selector();
      so.private_key_pem = *pem;
      if (absl::StatusOr<std::string> t = dkim::Sign("From: a@b\r\n\r\n", so); !t.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(path, ".key_file: ", k.key_file(), ": ", t.status().message()));
      }
      n->signing_keys_[absl::AsciiStrToLower(k.domain())] = {k.selector(), *pem};
    }
  }
  const bool any = n->spf_.enabled() || n->dkim_.enabled() || n->dmarc_.enabled() || n->arc_.enabled() ||
                   (n->dnsbl_.enabled() && n->dnsbl_.lists_size() > 0);
  if (!any) return n;
  dns::Resolver::Options o;
  o.servers.assign(n->dns_.servers().begin(), n->dns_.servers().end());
  if (o.servers.empty()) o.servers = {"127.0.0.1:53"};
  o.query_timeout = Dur(n->dns_.query_timeout());
  o.tries = static_cast<int>(n->dns_.tries());
  o.cache_entries = n->dns_.cache_entries();
  o.negative_ttl = Dur(n->dns_.negative_ttl());
  absl::StatusOr<std::unique_ptr<dns::Resolver>> r = dns::Resolver::Create(o);
  if (!r.ok()) return absl::InvalidArgumentError(absl::StrCat("scanner.dns.servers: ", r.status().message()));
  n->resolver_ = std::move(*r);
  return n;
}

NetworkChecks::Plan NetworkChecks::Start(absl::string_view bytes, const mime::Message& msg,
                                         const farside::v1::Envelope& env, absl::Time scan_start) const {
  Plan p;
  p.deadline = scan_start + Dur(dns_.message_budget());
  if (resolver_ == nullptr) return p;
  std::vector<dns::Query> spf_first;
  const bool local = NetworkSkipped(env);
  if (spf_.enabled()) {
    if (local) {
      p.skipped.push_back("spf: the sender is authenticated");
    } else if (env.client_ip().empty()) {
      p.skipped.push_back("spf: no client address in the envelope");
    } else {
      p.spf = true;
      const std::string d = env.mail_from().empty() ? env.helo() : Domain(env.mail_from());
      if (!d.empty()) spf_first.push_back({d, dns::Type::kTxt});
    }
  }
  if (dkim_.enabled() && msg.headers().Find("DKIM-Signature") != nullptr) {
    dkim::Options o;
    o.max_signatures = dkim_.max_signatures();
    p.dkim = true;
    p.dkim_prepared = dkim::Prepare(bytes, o);
    p.queries = p.dkim_prepared.key_queries;
  }
  p.arc_at = p.queries.size();
  if (arc_.enabled() && msg.headers().Find("ARC-Seal") != nullptr) {
    p.arc = true;
    p.arc_prepared = arc::Prepare(bytes);
    p.queries.insert(p.queries.end(), p.arc_prepared.key_queries.begin(), p.arc_prepared.key_queries.end());
  }
  p.dmarc_at = p.queries.size();
  if (dmarc_.enabled() && !local) {
    // One From domain, however many addresses (RFC 7489 section 6.6.1).
    std::set<std::string> domains;
    for (const mime::Address& a : msg.Addresses("From")) {
      if (!a.domain.empty()) domains.insert(a.domain);
    }
    if (domains.size() == 1) {
      p.from_domain = *domains.begin();
      p.dmarc_queries = dmarc::Queries(p.from_domain);
      p.queries.insert(p.queries.end(), p.dmarc_queries.begin(), p.dmarc_queries.end());
    } else {
      p.skipped.push_back(domains.empty() ? "dmarc: the message has no From domain"
                                          : "dmarc: the From field names more than one domain");
    }
  }
  p.lists_at = p.queries.size();
  // Only the kinds of list that are on have their values worked out.
  const std::set<std::string>& kinds = list_kinds_;
  // Outbound mail (authenticated senders) is not looked up at all.
  if (dnsbl_.enabled() && !kinds.empty() && !local) {
    // What each kind of list is asked about, computed once.
    std::vector<std::string> ips, received, domains, emails;
    if (!env.client_ip().empty() && !rules::IsPrivateAddress(env.client_ip())) {
      ips.push_back(env.client_ip());
    }
    received = ips;
    std::set<std::string> seen(received.begin(), received.end());
    for (const rules::Relay& r : kinds.count("received") ? rules::Relays(msg) : std::vector<rules::Relay>{}) {
      if (received.size() >= dnsbl_.max_received() + ips.size()) break;
      if (r.trusted || r.hop->ip.empty() || rules::IsPrivateAddress(r.hop->ip)) continue;
      if (seen.insert(r.hop->ip).second) received.push_back(r.hop->ip);
    }
    std::set<std::string> dseen;
    for (const mime::Url& u : msg.Links().urls) {
      if (!kinds.count("domain") || domains.size() >= dnsbl_.max_domains()) break;
      if (u.ip_host) continue;
      // Hosts under a suffix the Public Suffix List does not know (.test, internal names)
      // are taken by their last two labels.
      std::string d = u.domain;
      if (d.empty()) {
        std::vector<absl::string_view> labels = absl::StrSplit(u.host, '.', absl::SkipEmpty());
        if (labels.size() >= 2) d = absl::StrCat(labels[labels.size() - 2], ".", labels.back());
      }
      if (!d.empty() && dseen.insert(d).second) domains.push_back(d);
    }
    std::set<std::string> eseen;
    auto email = [&](std::string a) {
      a = absl::AsciiStrToLower(a);
      if (a.find('@') != std::string::npos && eseen.insert(a).second) emails.push_back(a);
    };
    if (kinds.count("email")) {
      email(env.mail_from());
      for (const mime::Address& a : msg.Addresses("From")) email(a.addr_spec());
    }
    for (int i = 0; i < dnsbl_.lists_size(); ++i) {
      const farside::v1::DnsblList& l = dnsbl_.lists(i);
      if (!l.enabled()) continue;  // switched off: not one query
      const std::vector<std::string>* values = l.check() == "ip"         ? &ips
                                               : l.check() == "received" ? &received
                                               : l.check() == "domain"   ? &domains
                                                                         : &emails;
      for (const std::string& v : *values) {
        std::string name;
        if (l.check() == "ip" || l.check() == "received") {
          if (!l.ipv6() && v.find(':') != std::string::npos) continue;
          name = ReversedIpQuery(v, l.zone());
        } else if (l.check() == "domain") {
          name = absl::StrCat(v, ".", l.zone());
        } else {
          name = absl::StrCat(Sha1Hex(v), ".", l.zone());
        }
        if (name.empty()) continue;
        p.lists.push_back({i, v});
        p.queries.push_back({std::move(name), dns::Type::kA});
      }
    }
  }
  resolver_->Prefetch(spf_first);
  resolver_->Prefetch(p.queries);
  return p;
}

NetworkChecks::Auth NetworkChecks::Finish(const Plan& p, const mime::Message& msg, const farside::v1::Envelope& env,
                                           farside::v1::ScanResult* result,
                                           std::optional<farside::v1::Action>* forced) const {
  Auth auth;
  for (const std::string& s : p.skipped) {
    auto* sk = result->add_skipped();
    sk->set_check(s.substr(0, s.find(':')));
    sk->set_reason(s.substr(s.find(':') + 2));
  }
  if (resolver_ == nullptr) return auth;
  // Verified, or nothing to verify: what a message says about DKIM can be relied on.
  auth.dkim_checked = dkim_.enabled();
  // Everything but SPF was sent by Start, as one vector: one wait for all of it, so a scan
  // sleeps once rather than once per check.
  const std::vector<dns::Answer> fetched = resolver_->Lookup(p.queries, p.deadline);
  auto slice = [&](size_t from, size_t to) {
    return std::vector<dns::Answer>(fetched.begin() + static_cast<long>(from), fetched.begin() + static_cast<long>(to));
  };
  std::string spf_pass_domain;
  if (p.spf) {
    spf::Request req;
    req.ip = env.client_ip();
    req.mail_from = env.mail_from();
    req.helo = env.helo();
    req.receiver = env.mta_hostname().empty() ? "unknown" : env.mta_hostname();
    dns::Resolver* r = resolver_.get();
    const absl::Time deadline = p.deadline;
    const spf::Outcome o = spf::Check(req, [r, deadline](const std::vector<dns::Query>& qs) {
      return r->Lookup(qs, deadline);
    });
    const SpfSymbol info = SpfInfo(o.result);
    auto* sym = result->add_symbols();
    sym->set_name(info.name);
    sym->set_score(SpfScore(spf_, o.result));
    sym->set_group("spf");
    sym->set_description(info.description);
    std::string opt = o.domain.empty() ? o.identity : absl::StrCat(o.identity, "=", o.domain);
    if (!o.mechanism.empty()) absl::StrAppend(&opt, " ", o.mechanism);
    sym->add_options(opt);
    if (!o.problem.empty() && o.result != spf::Result::kPass) sym->add_options(o.problem);
    if (!o.explanation.empty()) sym->add_options(absl::StrCat("explanation: ", o.explanation));
    if (o.result == spf::Result::kPass) spf_pass_domain = o.domain;
    auth.results.push_back(absl::StrCat("spf=", spf::ResultName(o.result), " ",
                                        o.identity == "helo" ? "smtp.helo=" : "smtp.mailfrom=",
                                        o.identity == "helo" ? env.helo() : env.mail_from()));
  }
  if (p.dkim) {
    const std::vector<dns::Answer> keys = slice(0, p.arc_at);
    dkim::Options o;
    o.clock_skew = absl::ToInt64Seconds(Dur(dkim_.clock_skew()));
    std::map<std::string, std::pair<double, std::vector<std::string>>> syms;  // name -> score, options
    for (const dkim::Verdict& v : dkim::Verify(p.dkim_prepared, keys, o)) {
      const std::string who = absl::StrCat(v.domain.empty() ? "?" : v.domain, "/", v.selector.empty() ? "?" : v.selector);
      std::string name;
      double score = 0;
      switch (v.result) {
        case dkim::Result::kPass:
          name = "DKIM_PASS";
          score = dkim_.pass_score();
          auth.dkim_pass_domains.push_back(absl::AsciiStrToLower(v.domain));
          break;
        case dkim::Result::kFail: name = "DKIM_FAIL"; score = dkim_.fail_score(); break;
        case dkim::Result::kTempError: name = "DKIM_TEMPERROR"; score = dkim_.temperror_score(); break;
        case dkim::Result::kPermError: name = "DKIM_PERMERROR"; score = dkim_.permerror_score(); break;
      }
      auto& e = syms[name];
      e.first = score;
      e.second.push_back(v.result == dkim::Result::kPass ? absl::StrCat(who, " ", dkim::AlgorithmName(v.algorithm))
                                                         : absl::StrCat(who, ": ", v.reason));
      if (v.result == dkim::Result::kPass && v.weak) {
        auto& w = syms["DKIM_WEAK"];
        w.first = dkim_.weak_score();
        w.second.push_back(absl::StrCat(who, " ", dkim::AlgorithmName(v.algorithm)));
      }
      auth.results.push_back(absl::StrCat("dkim=", dkim::ResultName(v.result),
                                          v.reason.empty() ? "" : absl::StrCat(" (", v.reason, ")"),
                                          " header.d=", v.domain, " header.s=", v.selector,
                                          " header.a=", dkim::AlgorithmName(v.algorithm)));
    }
    static const std::map<std::string, std::string> kDescriptions = {
        {"DKIM_PASS", "A DKIM signature verifies: the signing domain vouches for this message"},
        {"DKIM_FAIL", "A DKIM signature does not verify: the message changed after signing, or it is forged"},
        {"DKIM_TEMPERROR", "A DKIM key could not be fetched for now"},
        {"DKIM_PERMERROR", "A DKIM signature is broken or its key is missing or revoked"},
        {"DKIM_WEAK", "A DKIM signature uses rsa-sha1 or an RSA key under 2048 bits"}};
    for (auto& [name, e] : syms) {
      auto* sym = result->add_symbols();
      sym->set_name(name);
      sym->set_score(e.first);
      sym->set_group("dkim");
      sym->set_description(kDescriptions.at(name));
      for (std::string& o2 : e.second) sym->add_options(std::move(o2));
    }
  } else if (dkim_.enabled()) {
    auth.results.push_back("dkim=none");
  }
  if (p.arc) {
    const arc::Outcome o = arc::Validate(p.arc_prepared, slice(p.arc_at, p.dmarc_at));
    auto* sym = result->add_symbols();
    const bool pass = o.result == arc::Result::kPass;
    sym->set_name(pass ? "ARC_PASS" : "ARC_FAIL");
    sym->set_score(pass ? arc_.pass_score() : arc_.fail_score());
    sym->set_group("arc");
    sym->set_description(pass ? "The message's ARC chain validates: the forwarders on it vouch for what they saw"
                              : "The message's ARC chain is broken or forged");
    sym->add_options(pass ? absl::StrCat(o.domain, " i=", o.instances) : o.reason);
    auth.results.push_back(absl::StrCat("arc=", arc::ResultName(o.result),
                                        pass ? absl::StrCat(" (i=", o.instances, ") header.d=", o.domain)
                                             : absl::StrCat(" (", o.reason, ")")));
  } else if (arc_.enabled()) {
    auth.results.push_back("arc=none");
  }
  if (!p.dmarc_queries.empty()) {
    const std::vector<dns::Answer> answers = slice(p.dmarc_at, p.lists_at);
    dmarc::Input in;
    in.from_domain = p.from_domain;
    in.spf_domain = spf_pass_domain;
    in.dkim_domains = auth.dkim_pass_domains;
    in.sample = static_cast<uint32_t>(std::hash<std::string>{}(msg.MessageId()) % 100);
    const dmarc::Outcome o = dmarc::Evaluate(in, answers);
    std::string name, description;
    double score = 0;
    std::optional<farside::v1::Action> act;
    switch (o.result) {
      case dmarc::Result::kPass:
        name = "DMARC_PASS";
        score = dmarc_.pass_score();
        description = "SPF or DKIM passed for the From domain (DMARC)";
        break;
      case dmarc::Result::kFail:
        if (o.policy == dmarc::Policy::kReject) {
          name = "DMARC_POLICY_REJECT";
          score = dmarc_.reject_score();
          act = dmarc_reject_action_;
        } else if (o.policy == dmarc::Policy::kQuarantine) {
          name = "DMARC_POLICY_QUARANTINE";
          score = dmarc_.quarantine_score();
          act = dmarc_quarantine_action_;
        } else {
          name = "DMARC_POLICY_NONE";
          score = dmarc_.none_policy_score();
        }
        description = "Neither SPF nor DKIM passed for the From domain, whose DMARC policy is this";
        break;
      case dmarc::Result::kNone:
        name = "DMARC_NONE";
        description = "The From domain publishes no DMARC policy";
        break;
      case dmarc::Result::kTempError:
        name = "DMARC_TEMPERROR";
        description = "The DMARC policy could not be fetched for now";
        break;
      case dmarc::Result::kPermError:
        name = "DMARC_PERMERROR";
        description = "The From domain publishes a broken DMARC record";
        break;
    }
    auto* sym = result->add_symbols();
    sym->set_name(name);
    sym->set_score(score);
    sym->set_group("dmarc");
    sym->set_description(description);
    std::string opt = p.from_domain;
    if (!o.record_domain.empty()) {
      absl::StrAppend(&opt, " p=", dmarc::PolicyName(o.published));
      if (o.result == dmarc::Result::kFail && o.policy != o.published) {
        absl::StrAppend(&opt, " (not sampled by pct: ", dmarc::PolicyName(o.policy), ")");
      }
    }
    sym->add_options(opt);
    if (o.result != dmarc::Result::kPass && !o.reason.empty()) sym->add_options(o.reason);
    if (act.has_value() && (!forced->has_value() || *act > **forced)) {
      *forced = act;
      result->set_forced_by(name);
    }
    std::string ar = absl::StrCat("dmarc=", dmarc::ResultName(o.result));
    if (!o.record_domain.empty()) {
      absl::StrAppend(&ar, " (p=", dmarc::PolicyName(o.published), " dis=",
                      dmarc::PolicyName(o.result == dmarc::Result::kFail ? o.policy : dmarc::Policy::kNone), ")");
    }
    absl::StrAppend(&ar, " header.from=", p.from_domain);
    auth.results.push_back(std::move(ar));
  }
  if (p.lists.empty()) return auth;
  // symbol -> (score, description, options); a symbol counts once however many values hit.
  struct Hit {
    double score = 0;
    std::string group, description;
    std::vector<std::string> options;
  };
  std::map<std::string, Hit> hits;
  std::map<int, int> failed;  // list -> lookups that did not answer
  for (size_t i = 0; i < p.lists.size(); ++i) {
    const farside::v1::DnsblList& l = dnsbl_.lists(p.lists[i].list);
    const dns::Answer& a = fetched[p.lists_at + i];
    if (a.status == dns::Answer::Status::kTimeout || a.status == dns::Answer::Status::kError) {
      ++failed[p.lists[i].list];
      continue;
    }
    if (a.status != dns::Answer::Status::kOk) continue;
    for (const std::string& addr : a.records) {
      uint8_t last = 0;
      if (!ListedAnswer(addr, &last)) continue;
      bool coded = false;
      for (int k = 0; k < l.codes_size(); ++k) {
        const farside::v1::DnsblCode& c = l.codes(k);
        const std::optional<rules::Regex>& pattern = code_patterns_[p.lists[i].list][k];
        const bool match = pattern.has_value()   ? pattern->Find(addr, 10000).has_value()
                           : c.address().empty() ? (last & c.bits()) != 0
                                                 : c.address() == addr;
        if (!match) continue;
        coded = true;
        Hit& h = hits[c.symbol()];
        h.score = c.score();
        h.group = "dnsbl";
        h.description = c.description().empty() ? l.description() : c.description();
        h.options.push_back(absl::StrCat(p.lists[i].value, " ", addr));
      }
      if (!coded && l.codes_size() == 0) {
        Hit& h = hits[l.name()];
        h.score = l.score();
        h.group = "dnsbl";
        h.description = l.description().empty() ? absl::StrCat("Listed in ", l.zone()) : l.description();
        h.options.push_back(absl::StrCat(p.lists[i].value, " ", addr));
      }
    }
  }
  for (auto& [name, h] : hits) {
    auto* sym = result->add_symbols();
    sym->set_name(name);
    sym->set_score(h.score);
    sym->set_group(h.group);
    sym->set_description(h.description);
    std::sort(h.options.begin(), h.options.end());
    h.options.erase(std::unique(h.options.begin(), h.options.end()), h.options.end());
    for (std::string& o : h.options) sym->add_options(std::move(o));
  }
  for (const auto& [list, n] : failed) {
    auto* sk = result->add_skipped();
    sk->set_check(absl::StrCat("dnsbl:", dnsbl_.lists(list).name()));
    sk->set_reason(absl::StrCat(n, " lookup(s) in ", dnsbl_.lists(list).zone(), " timed out or failed"));
  }
  return auth;
}

void NetworkChecks::AddHeaders(const Auth& auth, absl::string_view bytes, const mime::Message& msg,
                               const farside::v1::Envelope& env, const std::string& scanner_name,
                               farside::v1::ScanResult* result) const {
  using farside::v1::HeaderChange;
  const farside::v1::Action a = result->action();
  if (a == farside::v1::REJECT || a == farside::v1::SOFT_REJECT || a == farside::v1::GREYLIST ||
      a == farside::v1::DISCARD) {
    return;  // refused mail is not delivered
  }
  const bool outbound = NetworkSkipped(env) || env.direction() == farside::v1::DIRECTION_OUTBOUND;
  if (auth_results_.enabled() && !outbound && !auth.results.empty()) {
    const std::string id = !auth_results_.authserv_id().empty() ? auth_results_.authserv_id()
                           : !env.mta_hostname().empty()      ? env.mta_hostname()
                                                              : scanner_name;
    if (auth_results_.remove_forged()) {
      // Fields claiming our id came from outside; removed bottom first, so indexes hold.
      std::vector<int> forged;
      int n = 0;
      for (const mime::HeaderField* f : msg.headers().FindAll("Authentication-Results")) {
        ++n;
        absl::string_view v = absl::StripLeadingAsciiWhitespace(f->raw);
        const size_t end = v.find_first_of("; \t");
        if (absl::EqualsIgnoreCase(v.substr(0, end), id)) forged.push_back(n);
      }
      for (auto it = forged.rbegin(); it != forged.rend(); ++it) {
        auto* h = result->add_header_changes();
        h->set_op(HeaderChange::OP_REMOVE);
        h->set_name("Authentication-Results");
        h->set_index(*it);
      }
    }
    auto* h = result->add_header_changes();
    h->set_op(HeaderChange::OP_INSERT);
    h->set_name("Authentication-Results");
    // One line (under 998 bytes for any sane number of results): the milter and SMTP paths
    // then need no folding rules of their own.
    h->set_value(absl::StrCat(id, "; ", absl::StrJoin(auth.results, "; ")));
    h->set_index(0);
  }
  if (signing_.enabled() && outbound && a != farside::v1::REWRITE_SUBJECT && !signing_keys_.empty()) {
    std::set<std::string> domains;
    for (const mime::Address& f : msg.Addresses("From")) domains.insert(f.domain);
    if (domains.size() != 1) return;
    // The key of the From domain, or of the nearest parent that has one.
    std::string d = *domains.begin();
    auto key = signing_keys_.end();
    while (!d.empty()) {
      if ((key = signing_keys_.find(d)) != signing_keys_.end()) break;
      const size_t dot = d.find('.');
      d = dot == std::string::npos ? "" : d.substr(dot + 1);
    }
    if (key == signing_keys_.end()) return;
    dkim::SignOptions so;
    so.domain = key->first;
    so.selector = key->second.first;
    so.private_key_pem = key->second.second;
    if (signing_.headers_size() > 0) so.headers.assign(signing_.headers().begin(), signing_.headers().end());
    so.expire_after = absl::ToInt64Seconds(Dur(signing_.expire_after()));
    absl::StatusOr<std::string> sig = dkim::Sign(bytes, so);
    if (!sig.ok()) {
      auto* sk = result->add_skipped();
      sk->set_check("dkim_signing");
      sk->set_reason(std::string(sig.status().message()));
      return;
    }
    auto* h = result->add_header_changes();
    h->set_op(HeaderChange::OP_INSERT);
    h->set_name("DKIM-Signature");
    h->set_value(*sig);
    h->set_index(0);
  }
}

}  // namespace farside::scanner
