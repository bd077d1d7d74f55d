// GTUBE, the Generic Test for Unsolicited Bulk Email: a fixed string that lets an
// administrator test the whole chain. Besides the standard string (reject) we honour the
// variants that differ in the first letter: Y = add_header, Z = rewrite_subject, A = no action.
#ifndef FARSIDE_LIB_RULES_GTUBE_H_
#define FARSIDE_LIB_RULES_GTUBE_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "farside/v1/scanner.pb.h"

namespace farside::rules {

struct GtubeMatch {
  farside::v1::Action forced_action;
  absl::string_view matched;  // the string found, pointing into the searched text
};

// Searches a message body for a GTUBE string; the first one found wins.
std::optional<GtubeMatch> FindGtube(absl::string_view body);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_GTUBE_H_
