// The scanner's network checks: SPF and DNS block lists over one shared c-ares resolver.
// A scan starts its first lookups right after parsing (Start), does its CPU work while they
// are on the wire, and collects them (Finish), waiting no longer than the message's budget.
#ifndef FARSIDE_SERVICES_SCANNER_NETWORK_H_
#define FARSIDE_SERVICES_SCANNER_NETWORK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "farside/v1/config.pb.h"
#include "farside/v1/scanner.pb.h"
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
    struct ListQuery {
      int list;           // index into the config's lists
      std::string value;  // what was looked up (an address, a domain, an address's hash)
      dns::Query query;
    };
    std::vector<ListQuery> lists;
    std::vector<std::string> skipped;  // checks not run, with why
  };

  Plan Start(const mime::Message& msg, const farside::v1::Envelope& env, absl::Time scan_start) const;
  void Finish(const Plan& plan, const farside::v1::Envelope& env, farside::v1::ScanResult* result) const;

  dns::Resolver* resolver() const { return resolver_.get(); }

 private:
  NetworkChecks() = default;

  farside::v1::DnsConfig dns_;
  farside::v1::SpfConfig spf_;
  farside::v1::DnsblConfig dnsbl_;
  std::unique_ptr<dns::Resolver> resolver_;
};

// The DNS name a block list is asked for an address: reversed octets or nibbles, then the
// zone ("192.0.2.1" -> "1.2.0.192.zen.example"). Empty for an address that does not parse.
std::string ReversedIpQuery(const std::string& ip, const std::string& zone);

}  // namespace farside::scanner

#endif  // FARSIDE_SERVICES_SCANNER_NETWORK_H_
