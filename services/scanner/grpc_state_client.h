// StateClient over gRPC to the controller, with a bounded queue of pending records and a
// flusher thread that sends them when no scan has carried them for a while.
#ifndef FARSIDE_SERVICES_SCANNER_GRPC_STATE_CLIENT_H_
#define FARSIDE_SERVICES_SCANNER_GRPC_STATE_CLIENT_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "farside/v1/state.grpc.pb.h"
#include "lib/telemetry/metrics.h"
#include "services/scanner/state_client.h"

namespace farside::scanner {

class GrpcStateClient : public StateClient {
 public:
  struct Options {
    std::string target;             // host:port of the controller
    absl::Duration flush_interval;  // longest a record waits for a scan's call
    size_t max_pending = 10000;     // beyond this the oldest records are dropped
    absl::Duration flush_timeout = absl::Seconds(1);
  };
  GrpcStateClient(Options options, telemetry::ServiceMetrics* metrics);
  ~GrpcStateClient() override;

  absl::StatusOr<farside::v1::ExchangeResponse> Exchange(const farside::v1::MessageQuery& query,
                                                         absl::Duration timeout) override;
  void Record(farside::v1::ScanRecord record) override;

  // Stops the flusher and tries once, within `timeout`, to send what is still waiting.
  void Close(absl::Duration timeout);
  size_t pending() const;

 private:
  absl::StatusOr<farside::v1::ExchangeResponse> Send(const farside::v1::MessageQuery* query,
                                                     absl::Duration timeout);
  void FlushLoop();

  Options options_;
  std::unique_ptr<farside::v1::State::Stub> stub_;
  std::atomic<bool> reachable_{true};  // the last call got through
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<farside::v1::ScanRecord> pending_;
  absl::Time last_send_ = absl::InfinitePast();
  bool stopping_ = false;
  bool urgent_ = false;  // a record waiting should not wait for the interval
  std::thread flusher_;

  prometheus::Family<prometheus::Counter>* calls_;
  prometheus::Counter* dropped_;
  prometheus::Histogram* latency_;
};

}  // namespace farside::scanner

#endif  // FARSIDE_SERVICES_SCANNER_GRPC_STATE_CLIENT_H_
