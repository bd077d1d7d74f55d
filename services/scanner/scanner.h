// The scan pipeline as a plain object: parse once, run the checks, ask shared state once,
// compute score and action, explain them. The gRPC service is a thin adapter over it.
#ifndef FARSIDE_SERVICES_SCANNER_SCANNER_H_
#define FARSIDE_SERVICES_SCANNER_SCANNER_H_

#include <map>
#include <set>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "farside/v1/config.pb.h"
#include "farside/v1/scanner.pb.h"
#include "lib/rules/rule_set.h"
#include "lib/telemetry/metrics.h"
#include "services/scanner/antivirus.h"
#include "services/scanner/greylist.h"
#include "services/scanner/network.h"
#include "services/scanner/state_client.h"

namespace farside::scanner {

class Scanner {
 public:
  // `state` and `metrics` are not owned and must outlive the scanner. Bad values in the
  // config (an SMTP reply that does not parse, say) are errors naming the key.
  static absl::StatusOr<std::unique_ptr<Scanner>> Create(const farside::v1::ScannerConfig& config,
                                                         StateClient* state,
                                                         telemetry::ServiceMetrics* metrics);

  // A malformed message is scored, not refused; only a request the scanner cannot take
  // (no bytes, over max_message_bytes) is an InvalidArgument error.
  absl::StatusOr<farside::v1::ScanResult> Scan(const farside::v1::ScanRequest& request);

  const std::string& name() const { return name_; }
  size_t rule_count() const { return rules_->size(); }

 private:
  Scanner(const farside::v1::ScannerConfig& config, StateClient* state,
          telemetry::ServiceMetrics* metrics);

  farside::v1::ScannerConfig config_;
  StateClient* state_;
  std::string name_;
  farside::v1::ActionThresholds thresholds_;
  struct Profile {
    farside::v1::ActionThresholds thresholds;
    std::vector<char> off;                 // rules switched off (RuleSet::Mask)
    std::map<std::string, double> scores;  // symbol -> score in this profile
    std::set<std::string> lists_off;       // list symbols switched off
  };
  std::map<std::string, Profile> profiles_;
  std::map<std::string, farside::v1::Action> ratelimit_actions_;  // by limit name
  farside::v1::SmtpReply reject_reply_, soft_reject_reply_, greylist_reply_;
  std::unique_ptr<rules::RuleSet> rules_;
  std::unique_ptr<rules::ListSet> lists_;
  std::unique_ptr<Greylister> greylist_;
  std::unique_ptr<NetworkChecks> network_;
  std::unique_ptr<Antivirus> antivirus_;

  prometheus::Family<prometheus::Counter>* scans_;
  prometheus::Family<prometheus::Counter>* symbol_hits_;
  prometheus::Histogram* scan_seconds_;
};

}  // namespace farside::scanner

#endif  // FARSIDE_SERVICES_SCANNER_SCANNER_H_
