// The scanner's network checks: SPF, DKIM, ARC, DMARC and DNS block lists over one shared c-ares
// resolver, then Authentication-Results and DKIM signing. A scan starts its lookups right
// after parsing (Start), does its CPU work while they are on the wire, and collects them
// (Finish), waiting no longer than the message's budget.
#ifndef FARSIDE_SERVICES_SCANNER_NETWORK_H_
#define FARSIDE_SERVICES_SCANNER_NETWORK_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "farside/v1/config.pb.h"
#include "lib/rules/regex.h"
#include "farside/v1/scanner.pb.h"
#include "lib/arc/arc.h"
#include "lib/dkim/dkim.h"
#include "lib/dns/resolver.h"
#include "lib/mime/message.h"

namespace farside::scanner {

class NetworkChecks {
 public:
  // Errors name the key: a DNS server that does not parse, a list with no zone, ...
  static absl::StatusOr<std::unique_ptr<NetworkChecks>> Create(const farside::v1::ScannerConfig& config);

  // One message's lookups: what Start sent, for Finish to read.
  struct Plan {
    absl::Time deadline;
    bool spf = false;
    // Every query Start sent but SPF's, in one vector so it is sent and awaited as one:
    // DKIM keys, ARC keys, DMARC records, then the block lists' (from the offsets below).
    std::vector<dns::Query> queries;
    size_t arc_at = 0, dmarc_at = 0, lists_at = 0;
    struct ListQuery {
      int list;           // index into the config's lists
      std::string value;  // what was looked up (an address, a domain, an address's hash)
    };
    std::vector<ListQuery> lists;  // queries[lists_at + i]
    std::vector<std::string> skipped;  // checks not run, with why
    bool dkim = false;
    dkim::Prepared dkim_prepared;       // when the message carries signatures
    bool arc = false;
    arc::Prepared arc_prepared;         // when it carries ARC sets
    std::string from_domain;            // DMARC's, empty when it cannot run
    std::vector<dns::Query> dmarc_queries;
  };

  // What the checks found, for Authentication-Results (RFC 8601 method results).
  struct Auth {
    std::vector<std::string> results;  // "spf=pass smtp.mailfrom=example.test", ...
    std::vector<std::string> dkim_pass_domains;  // d= of the signatures that verified
    bool dkim_checked = false;                   // the DKIM check ran
  };

  // `bytes`: the message as received (DKIM reads its exact header fields).
  Plan Start(absl::string_view bytes, const mime::Message& msg, const farside::v1::Envelope& env,
             absl::Time scan_start) const;
  // Adds the checks' symbols and skipped entries; a DMARC policy with an action configured
  // forces it (when harsher than `forced`).
  Auth Finish(const Plan& plan, const mime::Message& msg, const farside::v1::Envelope& env,
              farside::v1::ScanResult* result, std::optional<farside::v1::Action>* forced) const;
  // Once the action is known: Authentication-Results on inbound mail that is delivered, and a
  // DKIM signature on outbound mail from a domain with a key.
  void AddHeaders(const Auth& auth, absl::string_view bytes, const mime::Message& msg,
                  const farside::v1::Envelope& env, const std::string& scanner_name,
                  farside::v1::ScanResult* result) const;

  dns::Resolver* resolver() const { return resolver_.get(); }

 private:
  NetworkChecks() = default;

  farside::v1::DnsConfig dns_;
  farside::v1::SpfConfig spf_;
  farside::v1::DnsblConfig dnsbl_;
  // Per list (as in dnsbl_), per code: the compiled pattern of the codes that give one.
  std::vector<std::vector<std::optional<rules::Regex>>> code_patterns_;
  farside::v1::DkimConfig dkim_;
  farside::v1::DmarcConfig dmarc_;
  farside::v1::AuthResultsConfig auth_results_;
  farside::v1::DkimSigningConfig signing_;
  farside::v1::ArcConfig arc_;
  std::optional<farside::v1::Action> dmarc_reject_action_, dmarc_quarantine_action_;
  std::map<std::string, std::pair<std::string, std::string>> signing_keys_;  // domain -> selector, PEM
  std::set<std::string> list_kinds_;  // `check` of every enabled list
  std::unique_ptr<dns::Resolver> resolver_;
};

// The DNS name a block list is asked for an address: reversed octets or nibbles, then the
// zone ("192.0.2.1" -> "1.2.0.192.zen.example"). Empty for an address that does not parse.
std::string ReversedIpQuery(const std::string& ip, const std::string& zone);

}  // namespace farside::scanner

#endif  // FARSIDE_SERVICES_SCANNER_NETWORK_H_
