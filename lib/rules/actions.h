// From score to action: thresholds per action, the highest threshold reached wins; and the
// SMTP replies that go with refusing actions.
#ifndef FARSIDE_LIB_RULES_ACTIONS_H_
#define FARSIDE_LIB_RULES_ACTIONS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "farside/v1/config.pb.h"
#include "farside/v1/scanner.pb.h"

namespace farside::rules {

farside::v1::ActionThresholds ThresholdsFromConfig(const farside::v1::ActionsConfig& config);

// The action whose threshold is the highest one `score` reaches; NO_ACTION if none.
// On equal thresholds the harsher action wins.
farside::v1::Action ActionForScore(double score, const farside::v1::ActionThresholds& t);

// Parses "550 5.7.1 Message rejected" (the enhanced code is optional).
absl::StatusOr<farside::v1::SmtpReply> ParseSmtpReply(absl::string_view text);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_ACTIONS_H_
