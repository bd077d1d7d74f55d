// The gRPC server builder behind server.h.
#include "lib/rpc/server.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"

namespace farside::rpc {

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const Options& options) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  std::string addr = options.listen.ToString();
  builder.AddListeningPort(addr, grpc::InsecureServerCredentials(), &port);
  // gRPC binds with SO_REUSEPORT by default: a second server on the same port would then
  // share it silently. A port in use must be an error instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  if (options.threads > 0) {
    grpc::ResourceQuota quota("farside");
    quota.SetMaxThreads(options.threads + 1);
    builder.SetResourceQuota(quota);
  }
  for (grpc::Service* s : options.services) builder.RegisterService(s);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve gRPC on ", addr, " (address in use or not local?)"));
  }
  return std::unique_ptr<Server>(new Server(std::move(server), options.health_names, port));
}

void Server::SetServing(bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus("", serving);
  for (const std::string& name : names_) health->SetServingStatus(name, serving);
}

void Server::Drain(absl::Duration deadline) {
  SetServing(false);
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(deadline));
  server_->Wait();
}

}  // namespace farside::rpc
