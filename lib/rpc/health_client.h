// A grpc.health.v1 client: asks a peer whether it is SERVING, within a deadline.
#ifndef FARSIDE_LIB_RPC_HEALTH_CLIENT_H_
#define FARSIDE_LIB_RPC_HEALTH_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace farside::rpc {

// The peer's status for `service` ("" = the whole server), or the call's error.
absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> CheckHealth(
    const std::shared_ptr<grpc::Channel>& channel, absl::Duration deadline,
    const std::string& service = "");

// A plaintext channel to host:port, as services talk to each other inside the cluster.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, int max_message_bytes);

}  // namespace farside::rpc

#endif  // FARSIDE_LIB_RPC_HEALTH_CLIENT_H_
