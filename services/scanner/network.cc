// SPF and block-list lookups for a scan, and the symbols they give.
#include "services/scanner/network.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "lib/common/digest.h"
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
    for (int j = 0; j < l.codes_size(); ++j) {
      const farside::v1::DnsblCode& c = l.codes(j);
      const std::string cp = absl::StrCat(path, ".codes[", j, "]");
      in_addr v;
      if (c.address().empty() == (c.bits() == 0)) {
        return absl::InvalidArgumentError(cp + ": give either address or bits");
      }
      if (!c.address().empty() && inet_pton(AF_INET, c.address().c_str(), &v) != 1) {
        return absl::InvalidArgumentError(absl::StrCat(cp, ".address: '", c.address(), "' is not an IPv4 address"));
      }
      if (c.symbol().empty()) return absl::InvalidArgumentError(cp + ".symbol: required");
    }
  }
  const bool any = n->spf_.enabled() || (n->dnsbl_.enabled() && n->dnsbl_.lists_size() > 0);
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

NetworkChecks::Plan NetworkChecks::Start(const mime::Message& msg, const farside::v1::Envelope& env,
                                         absl::Time scan_start) const {
  Plan p;
  p.deadline = scan_start + Dur(dns_.message_budget());
  if (resolver_ == nullptr) return p;
  std::vector<dns::Query> first;
  const bool local = NetworkSkipped(env);
  if (spf_.enabled()) {
    if (local) {
      p.skipped.push_back("spf: the sender is authenticated");
    } else if (env.client_ip().empty()) {
      p.skipped.push_back("spf: no client address in the envelope");
    } else {
      p.spf = true;
      const std::string d = env.mail_from().empty() ? env.helo() : Domain(env.mail_from());
      if (!d.empty()) first.push_back({d, dns::Type::kTxt});
    }
  }
  if (dnsbl_.enabled()) {
    // What each kind of list is asked about, computed once.
    std::vector<std::string> ips, received, domains, emails;
    if (!local && !env.client_ip().empty() && !rules::IsPrivateAddress(env.client_ip())) {
      ips.push_back(env.client_ip());
    }
    received = ips;
    std::set<std::string> seen(received.begin(), received.end());
    for (const rules::Relay& r : rules::Relays(msg)) {
      if (received.size() >= dnsbl_.max_received() + ips.size()) break;
      if (r.trusted || r.hop.ip.empty() || rules::IsPrivateAddress(r.hop.ip)) continue;
      if (seen.insert(r.hop.ip).second) received.push_back(r.hop.ip);
    }
    std::set<std::string> dseen;
    for (const mime::Url& u : msg.Links().urls) {
      if (domains.size() >= dnsbl_.max_domains()) break;
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
    if (!local) {
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
        p.lists.push_back({i, v, {name, dns::Type::kA}});
        first.push_back(p.lists.back().query);
      }
    }
  }
  resolver_->Prefetch(first);
  return p;
}

void NetworkChecks::Finish(const Plan& p, const farside::v1::Envelope& env, farside::v1::ScanResult* result) const {
  for (const std::string& s : p.skipped) {
    auto* sk = result->add_skipped();
    sk->set_check(s.substr(0, s.find(':')));
    sk->set_reason(s.substr(s.find(':') + 2));
  }
  if (resolver_ == nullptr) return;
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
  }
  if (p.lists.empty()) return;
  std::vector<dns::Query> qs;
  for (const Plan::ListQuery& q : p.lists) qs.push_back(q.query);
  const std::vector<dns::Answer> answers = resolver_->Lookup(qs, p.deadline);
  // symbol -> (score, description, options); a symbol counts once however many values hit.
  struct Hit {
    double score = 0;
    std::string group, description;
    std::vector<std::string> options;
  };
  std::map<std::string, Hit> hits;
  std::map<int, int> failed;  // list -> lookups that did not answer
  for (size_t i = 0; i < qs.size(); ++i) {
    const farside::v1::DnsblList& l = dnsbl_.lists(p.lists[i].list);
    const dns::Answer& a = answers[i];
    if (a.status == dns::Answer::Status::kTimeout || a.status == dns::Answer::Status::kError) {
      ++failed[p.lists[i].list];
      continue;
    }
    if (a.status != dns::Answer::Status::kOk) continue;
    for (const std::string& addr : a.records) {
      uint8_t last = 0;
      if (!ListedAnswer(addr, &last)) continue;
      bool coded = false;
      for (const farside::v1::DnsblCode& c : l.codes()) {
        const bool match = c.address().empty() ? (last & c.bits()) != 0 : c.address() == addr;
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
}

}  // namespace farside::scanner
