// What the proxy does with a message: the scanner's verdict mapped through the proxy's
// config, or the fail policy when no verdict could be had. Shared by milter and SMTP.
#ifndef FARSIDE_SERVICES_PROXY_DECISION_H_
#define FARSIDE_SERVICES_PROXY_DECISION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "farside/v1/config.pb.h"
#include "farside/v1/scanner.pb.h"

namespace farside::proxy {

struct Decision {
  enum Kind { kAccept, kReject, kTempfail, kDiscard, kQuarantine };
  Kind kind = kAccept;
  farside::v1::SmtpReply reply;  // kReject, kTempfail
  std::vector<farside::v1::HeaderChange> changes;  // kAccept, kQuarantine
  // For metrics and logs: the scanner's action ("reject", "add_header"), or
  // "unscanned_<policy>" / "oversize".
  std::string label;
  bool scanned = false;
};

// Checks the configured replies ("550 5.7.1 text"): InvalidArgument naming the field.
absl::Status ValidateReplies(const farside::v1::ProxyReplies& replies);

// `unscanned_present`: the message arrived with the unscanned header, which is removed.
Decision FromResult(const farside::v1::ScanResult& result, const farside::v1::ProxyConfig& config,
                    bool unscanned_present);
// No verdict: the fail policy, with `why` in the unscanned header when mail passes.
Decision FailPolicy(const absl::Status& why, const farside::v1::ProxyConfig& config,
                    bool unscanned_present);
// Over max_message_bytes: passes unscanned.
Decision Oversize(uint64_t size, const farside::v1::ProxyConfig& config, bool unscanned_present);

// "550 5.7.1 text" -> reply; false when it does not have that shape.
bool ParseReply(const std::string& text, farside::v1::SmtpReply* reply);
// The direction and profile the scanner should use for this envelope.
void SetDirection(const farside::v1::ProxyConfig& config, farside::v1::Envelope* envelope);

}  // namespace farside::proxy

#endif  // FARSIDE_SERVICES_PROXY_DECISION_H_
