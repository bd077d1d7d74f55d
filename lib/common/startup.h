// What every service's main() does first: load the YAML file named by --config, let flags
// override single settings, and set up logging; plus the proto Duration conversion mains need.
#ifndef FARSIDE_LIB_COMMON_STARTUP_H_
#define FARSIDE_LIB_COMMON_STARTUP_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "farside/v1/config.pb.h"
#include "google/protobuf/duration.pb.h"

namespace farside {

struct Override {
  std::string path;   // "scanner.listen"
  std::string value;  // from a flag; empty means the flag was not given
};

// Defaults, then the file (when `config_path` is set), then the overrides; then configures
// logging for `service` (and switches off Abseil's Mutex deadlock detection). Any mistake is an error naming the file, key or flag.
absl::StatusOr<farside::v1::Config> LoadServiceConfig(const std::string& service,
                                                      const std::string& config_path,
                                                      const std::vector<Override>& overrides);

// Prints "PROGRAM: message" on stderr and returns the exit code for a failed start (1).
int StartupFailed(const std::string& program, const absl::Status& status);

absl::Duration ToAbsl(const google::protobuf::Duration& d);

}  // namespace farside

#endif  // FARSIDE_LIB_COMMON_STARTUP_H_
