// Greylisting in the scanner: which messages it applies to, their keys, and what the
// controller's memory of them means for the action. The controller only stores entries.
#ifndef FARSIDE_SERVICES_SCANNER_GREYLIST_H_
#define FARSIDE_SERVICES_SCANNER_GREYLIST_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "farside/v1/config.pb.h"
#include "farside/v1/scanner.pb.h"
#include "farside/v1/state.pb.h"
#include "lib/mime/message.h"
#include "lib/rules/lists.h"

namespace farside::scanner {

class Greylister {
 public:
  // Errors name the key ("scanner.greylist.allow: ...").
  static absl::StatusOr<std::unique_ptr<Greylister>> Create(const farside::v1::GreylistConfig& config);

  // The keys to ask the controller about, or nothing when greylisting is off or the
  // client or sender is on the allow list.
  std::optional<farside::v1::GreylistKeys> Keys(const mime::Message& msg,
                                                const farside::v1::Envelope& env) const;

  // Applied once the score and action are known. `keys` is what Keys() gave, `answer` the
  // controller's (nullptr when it did not answer). Changes the action, explains itself with
  // a symbol or a skipped check, and fills `update` with what the controller should
  // remember (left unset when nothing).
  void Apply(const std::optional<farside::v1::GreylistKeys>& keys,
             const farside::v1::GreylistAnswer* answer, const farside::v1::ActionThresholds& t,
             farside::v1::ScanResult* result, farside::v1::Action* action,
             farside::v1::GreylistUpdate* update) const;

 private:
  explicit Greylister(const farside::v1::GreylistConfig& config) : config_(config) {}

  farside::v1::GreylistConfig config_;
  absl::Duration delay_, expiry_, pass_ttl_;
  std::shared_ptr<const rules::ListSet::Entries> allow_ips_, allow_domains_, allow_addresses_;
};

// The client's network as "a.b.c.0/24" or "2001:db8::/64" for the given prefix lengths;
// "" for an address that does not parse.
std::string ClientNetwork(const std::string& ip, int v4_bits, int v6_bits);

}  // namespace farside::scanner

#endif  // FARSIDE_SERVICES_SCANNER_GREYLIST_H_
