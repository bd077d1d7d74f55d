// Status conversion. gRPC's messages for connection failures are long; the first clause of
// the detail is kept, which is what a person needs to see.
#include "lib/rpc/status.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace farside::rpc {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view target) {
  if (status.ok()) return absl::OkStatus();
  std::string msg = status.error_message();
  // "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Failed to
  // connect to remote host: Connection refused" -> keep it, but on one line.
  for (char& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::string code = absl::AsciiStrToLower(CodeName(status.error_code()));
  std::string text =
      target.empty() ? absl::StrCat(code, ": ", msg) : absl::StrCat(target, ": ", code, ": ", msg);
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), text);
}

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

}  // namespace farside::rpc
