// The gRPC server helper on a real loopback port: health follows SetServing, and Drain lets a
// call in flight finish within the deadline but cancels one that outlasts it.
#include "lib/rpc/server.h"

#include <future>
#include <thread>

#include "absl/time/clock.h"
#include "farside/v1/scanner.grpc.pb.h"
#include "gtest/gtest.h"
#include "lib/rpc/health_client.h"

namespace farside::rpc {
namespace {

using grpc::health::v1::HealthCheckResponse;

// A Scanner whose Scan takes a set time: the only way to have work in flight on demand.
class SlowScanner final : public farside::v1::Scanner::Service {
 public:
  explicit SlowScanner(absl::Duration d) : delay_(d) {}
  grpc::Status Scan(grpc::ServerContext* ctx, const farside::v1::ScanRequest*,
                    farside::v1::ScanResult* resp) override {
    absl::Time end = absl::Now() + delay_;
    while (absl::Now() < end) {
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      absl::SleepFor(absl::Milliseconds(5));
    }
    resp->set_action(farside::v1::REJECT);
    return grpc::Status::OK;
  }

 private:
  absl::Duration delay_;
};

std::unique_ptr<Server> StartOn0(grpc::Service* svc) {
  auto s = Server::Start({.listen = {"127.0.0.1", 0},
                          .services = {svc},
                          .health_names = {farside::v1::Scanner::service_full_name()}});
  // Port 0 is refused by HostPort parsing but fine for the builder: the OS picks one.
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

grpc::Status CallScan(int port, farside::v1::ScanResult* out) {
  auto stub =
      farside::v1::Scanner::NewStub(MakeChannel("127.0.0.1:" + std::to_string(port), 1 << 20));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  farside::v1::ScanRequest req;
  req.set_message("x");
  return stub->Scan(&ctx, req, out);
}

TEST(RpcServer, HealthFollowsSetServing) {
  SlowScanner svc(absl::ZeroDuration());
  auto server = StartOn0(&svc);
  ASSERT_NE(server, nullptr);
  auto ch = MakeChannel("127.0.0.1:" + std::to_string(server->port()), 1 << 20);
  server->SetServing(true);
  EXPECT_EQ(*CheckHealth(ch, absl::Seconds(2)), HealthCheckResponse::SERVING);
  EXPECT_EQ(*CheckHealth(ch, absl::Seconds(2), "farside.v1.Scanner"), HealthCheckResponse::SERVING);
  server->SetServing(false);
  EXPECT_EQ(*CheckHealth(ch, absl::Seconds(2)), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(*CheckHealth(ch, absl::Seconds(2), "farside.v1.Scanner"),
            HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(CheckHealth(ch, absl::Seconds(2), "no.such.Service").ok());
}

TEST(RpcServer, APortInUseIsAnErrorNotASharedPort) {
  SlowScanner svc(absl::ZeroDuration());
  auto first = StartOn0(&svc);
  ASSERT_NE(first, nullptr);
  SlowScanner svc2(absl::ZeroDuration());
  auto second = Server::Start({.listen = {"127.0.0.1", static_cast<uint16_t>(first->port())},
                               .services = {&svc2},
                               .health_names = {}});
  EXPECT_FALSE(second.ok()) << "SO_REUSEPORT would let two servers share the port";
}

TEST(RpcServer, DrainLetsACallInFlightFinish) {
  SlowScanner svc(absl::Milliseconds(600));
  auto server = StartOn0(&svc);
  ASSERT_NE(server, nullptr);
  int port = server->port();
  farside::v1::ScanResult result;
  auto call = std::async(std::launch::async, [&] { return CallScan(port, &result); });
  absl::SleepFor(absl::Milliseconds(200));  // the call is now inside Scan
  absl::Time start = absl::Now();
  server->Drain(absl::Seconds(5));
  grpc::Status st = call.get();
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(result.action(), farside::v1::REJECT);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3)) << "drain waits for the call, not the deadline";
}

TEST(RpcServer, DrainCancelsWhatOutlastsTheDeadline) {
  SlowScanner svc(absl::Seconds(30));
  auto server = StartOn0(&svc);
  ASSERT_NE(server, nullptr);
  int port = server->port();
  farside::v1::ScanResult result;
  auto call = std::async(std::launch::async, [&] { return CallScan(port, &result); });
  absl::SleepFor(absl::Milliseconds(200));
  absl::Time start = absl::Now();
  server->Drain(absl::Milliseconds(300));
  grpc::Status st = call.get();
  EXPECT_FALSE(st.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace farside::rpc
