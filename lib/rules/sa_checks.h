// The checks ported from SpamAssassin's eval plugins (HeaderEval, MIMEEval, HTMLEval,
// ImageInfo, FromNameSpoof, VBounce, DKIM, Bayes and the URI lists), for RunCheck.
#ifndef FARSIDE_LIB_RULES_SA_CHECKS_H_
#define FARSIDE_LIB_RULES_SA_CHECKS_H_

#include <optional>
#include <string>

#include "lib/mime/message.h"
#include "lib/rules/checks.h"

namespace farside::rules {

// Runs one of those checks (RunCheck passes them here); nullopt for any other kind.
std::optional<std::string> RunSaCheck(const CheckSpec& c, const mime::Message& msg,
                                      const CheckData& data, CheckCache& cache);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_SA_CHECKS_H_
