// The scanner's antivirus check: the message, or each attachment, through clamd; a virus
// forces the configured action, clamd away gives CLAMAV_FAIL and the fail policy.
#ifndef FARSIDE_SERVICES_SCANNER_ANTIVIRUS_H_
#define FARSIDE_SERVICES_SCANNER_ANTIVIRUS_H_

#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "farside/v1/config.pb.h"
#include "farside/v1/scanner.pb.h"
#include "lib/av/clamd.h"
#include "lib/mime/message.h"

namespace farside::scanner {

class Antivirus {
 public:
  // Errors name the key (scanner.antivirus.clamd, .scan, .action, .fail_action).
  static absl::StatusOr<std::unique_ptr<Antivirus>> Create(const farside::v1::AntivirusConfig& config);

  void Run(absl::string_view bytes, const mime::Message& msg, farside::v1::ScanResult* result,
           std::optional<farside::v1::Action>* forced) const;

 private:
  Antivirus() = default;
  farside::v1::AntivirusConfig config_;
  std::unique_ptr<av::Clamd> clamd_;  // null when switched off
  farside::v1::Action action_ = farside::v1::REJECT;
  std::optional<farside::v1::Action> fail_action_;
};

}  // namespace farside::scanner

#endif  // FARSIDE_SERVICES_SCANNER_ANTIVIRUS_H_
