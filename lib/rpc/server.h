// Builds a gRPC server the way every Farside service runs one: standard health checking,
// server reflection, message size limits, and a drain that waits for calls in flight.
#ifndef FARSIDE_LIB_RPC_SERVER_H_
#define FARSIDE_LIB_RPC_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "lib/common/host_port.h"

namespace farside::rpc {

class Server {
 public:
  struct Options {
    HostPort listen;
    std::vector<grpc::Service*> services;  // not owned; must outlive the server
    // Full names of those services ("farside.v1.Scanner"), reported by grpc.health.v1 too.
    std::vector<std::string> health_names;
    int max_message_bytes = 64 << 20;
    int threads = 0;  // 0: gRPC's default
  };
  static absl::StatusOr<std::unique_ptr<Server>> Start(const Options& options);

  // Health as grpc.health.v1 reports it, for the whole server and each of its services.
  void SetServing(bool serving);
  // NOT_SERVING, then waits up to `deadline` for calls in flight before cancelling them.
  void Drain(absl::Duration deadline);
  int port() const { return port_; }

 private:
  Server(std::unique_ptr<grpc::Server> server, std::vector<std::string> names, int port)
      : server_(std::move(server)), names_(std::move(names)), port_(port) {}
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::string> names_;
  int port_;
};

}  // namespace farside::rpc

#endif  // FARSIDE_LIB_RPC_SERVER_H_
