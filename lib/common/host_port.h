// HOST:PORT addresses as flags and config write them ("127.0.0.1:11433", "[::1]:11433",
// "scanner.farside.svc:11433").
#ifndef FARSIDE_LIB_COMMON_HOST_PORT_H_
#define FARSIDE_LIB_COMMON_HOST_PORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace farside {

struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;
  // Back to "host:port", bracketing IPv6 literals.
  std::string ToString() const;
};

// Parses HOST:PORT; the port is required and must be 1-65535.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text);

}  // namespace farside

#endif  // FARSIDE_LIB_COMMON_HOST_PORT_H_
