// Lower-case names of contract enums as people and config write them ("reject",
// "no_action"), shared by the services and the CLI.
#ifndef FARSIDE_LIB_COMMON_NAMES_H_
#define FARSIDE_LIB_COMMON_NAMES_H_

#include <string>

#include "absl/strings/ascii.h"
#include "farside/v1/scanner.pb.h"

namespace farside {

inline std::string ActionName(farside::v1::Action action) {
  return absl::AsciiStrToLower(farside::v1::Action_Name(action));
}

}  // namespace farside

#endif  // FARSIDE_LIB_COMMON_NAMES_H_
