// JSON string quoting for the places that write JSON by hand (log lines, `farside parse`),
// where a protobuf message would not give the shape wanted.
#ifndef FARSIDE_LIB_COMMON_JSON_H_
#define FARSIDE_LIB_COMMON_JSON_H_

#include <string>

#include "absl/strings/string_view.h"

namespace farside {

// Appends `s` as a quoted JSON string. `s` should be UTF-8; bytes are copied as they are,
// control characters escaped.
void AppendJsonString(std::string* out, absl::string_view s);

}  // namespace farside

#endif  // FARSIDE_LIB_COMMON_JSON_H_
