// The gRPC adapter for farside.v1.State: converts at the edge, counts calls, and leaves the
// work to StateStore.
#ifndef FARSIDE_SERVICES_CONTROLLER_STATE_SERVICE_H_
#define FARSIDE_SERVICES_CONTROLLER_STATE_SERVICE_H_

#include "farside/v1/state.grpc.pb.h"
#include "lib/telemetry/metrics.h"
#include "services/controller/state_store.h"

namespace farside::controller {

class StateService final : public farside::v1::State::Service {
 public:
  StateService(StateStore* store, telemetry::ServiceMetrics* metrics);

  grpc::Status Exchange(grpc::ServerContext*, const farside::v1::ExchangeRequest* req,
                        farside::v1::ExchangeResponse* resp) override;
  grpc::Status Learn(grpc::ServerContext*, const farside::v1::LearnRequest* req,
                     farside::v1::LearnResponse* resp) override;
  grpc::Status Stats(grpc::ServerContext*, const farside::v1::StatsRequest* req,
                     farside::v1::StatsResponse* resp) override;
  grpc::Status History(grpc::ServerContext*, const farside::v1::HistoryRequest* req,
                       farside::v1::HistoryResponse* resp) override;

 private:
  StateStore* store_;
  telemetry::ServiceMetrics* metrics_;
  prometheus::Counter* records_;
};

}  // namespace farside::controller

#endif  // FARSIDE_SERVICES_CONTROLLER_STATE_SERVICE_H_
