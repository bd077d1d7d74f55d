// absl::Status <-> grpc::Status, converted once at the gRPC edge, and one readable line for
// a failed call (no stack of gRPC internals for a user to read).
#ifndef FARSIDE_LIB_RPC_STATUS_H_
#define FARSIDE_LIB_RPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace farside::rpc {

grpc::Status ToGrpc(const absl::Status& status);

// `target` names the peer in the message: "scanner 127.0.0.1:11433: unavailable (...)".
absl::Status FromGrpc(const grpc::Status& status, absl::string_view target = "");

// Upper-case code name as gRPC spells it ("UNAVAILABLE"), for metrics labels.
std::string CodeName(grpc::StatusCode code);

}  // namespace farside::rpc

#endif  // FARSIDE_LIB_RPC_STATUS_H_
