// SpamAssassin's eval: calls in Farside's terms, for the .cf importer: the native check
// behind each eval Farside has one for, and the scanner's block lists behind check_rbl,
// check_rbl_sub and check_uridnsbl.
#ifndef FARSIDE_LIB_RULES_SA_EVALS_H_
#define FARSIDE_LIB_RULES_SA_EVALS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "farside/v1/config.pb.h"

namespace farside::rules {

// An eval call's name and arguments, each unquoted ('x', "x" or bare, separated by commas);
// false if it is not NAME(ARGS).
bool SplitCall(absl::string_view call, std::string* name, std::vector<std::string>* args);

// The native check behind a SpamAssassin eval ("check_for_shifted_date(-6,6)" gives
// "date_shift(-6,6)"), or "" when Farside has none.
std::string NativeCheck(absl::string_view call);

// Adds the block list a block-list rule asks to `lists` (keyed by SpamAssassin's set, or
// "uri:ZONE"), with the rule's code in it; the reason when it cannot. `dns` is
// {"rbl", set, zone[, subtest]}, {"sub", set, subtest} or {"uri", rule}; `uri_lists` holds
// the urirhssub/urirhsbl directives by rule: {directive, zone, type, subtest}.
std::string AddBlockList(const std::vector<std::string>& dns, const std::string& rule, double score,
                         const std::map<std::string, std::vector<std::string>>& uri_lists,
                         std::map<std::string, farside::v1::DnsblList>* lists);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_SA_EVALS_H_
