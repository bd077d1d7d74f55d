// The per-message decision shared by the milter and SMTP front ends.
#include "services/proxy/verdicts.h"

#include "absl/strings/str_join.h"
#include "lib/common/log.h"
#include "lib/mime/charset.h"
#include "lib/common/startup.h"

namespace farside::proxy {

Verdicts::Verdicts(const farside::v1::ProxyConfig& config, ScanClient* client,
                   telemetry::ServiceMetrics* metrics)
    : config_(config), client_(client) {
  auto& reg = *metrics->registry();
  messages_ = &prometheus::BuildCounter()
                   .Name(metrics->Name("messages_total"))
                   .Help("Messages by front end and verdict (the scanner's action, or unscanned_*)")
                   .Register(reg);
  fail_policy_ = &prometheus::BuildCounter()
                      .Name(metrics->Name("fail_policy_total"))
                      .Help("Messages handled by the fail policy because no verdict could be had")
                      .Register(reg);
  protocol_errors_ = &prometheus::BuildCounter()
                          .Name(metrics->Name("protocol_errors_total"))
                          .Help("Connections dropped for malformed or out-of-place input")
                          .Register(reg);
  latency_ = &prometheus::BuildHistogram()
                  .Name(metrics->Name("scan_seconds"))
                  .Help("Time to a verdict through the scanner pool, retry included")
                  .Register(reg);
  connections_ = &prometheus::BuildGauge()
                      .Name(metrics->Name("connections"))
                      .Help("Connections being served, by front end")
                      .Register(reg);
}

void Verdicts::ProtocolError(absl::string_view front) {
  protocol_errors_->Add({{"front", std::string(front)}}).Increment();
}

prometheus::Gauge* Verdicts::Connections(absl::string_view front) {
  return &connections_->Add({{"front", std::string(front)}});
}

Decision Verdicts::Decide(absl::string_view front, farside::v1::ScanRequest* req,
                          uint64_t size, bool unscanned_present,
                          const std::function<void()>& waiting) {
  const std::string f(front);
  Decision d;
  if (size > config_.max_message_bytes()) {
    d = Oversize(size, config_, unscanned_present);
  } else {
    const farside::v1::ScanRequest& request = *req;
    SetDirection(config_, req->mutable_envelope());
    // Envelope text comes from the SMTP client; proto3 strings must be valid UTF-8.
    mime::SanitizeUtf8Fields(req->mutable_envelope());
    const absl::Time start = absl::Now();
    absl::StatusOr<farside::v1::ScanResult> result =
        client_->Scan(request, waiting, ToAbsl(config_.milter().progress_interval()));
    latency_->Add({{"front", f}}, telemetry::LatencyBuckets())
        .Observe(absl::ToDoubleSeconds(absl::Now() - start));
    if (result.ok()) {
      d = FromResult(*result, config_, unscanned_present);
      log::Info("verdict", {{"queue_id", req->envelope().queue_id()},
                            {"message_id", result->message_id()},
                            {"action", d.label},
                            {"score", result->score()},
                            {"scanner", result->scanner()},
                            {"front", f}});
    } else {
      d = FailPolicy(result.status(), config_, unscanned_present);
      fail_policy_->Add({{"front", f}, {"policy", d.label}}).Increment();
      log::Warning("no verdict; fail policy applies",
                   {{"queue_id", req->envelope().queue_id()},
                    {"policy", d.label},
                    {"error", std::string(result.status().message())},
                    {"front", f}});
    }
  }
  messages_->Add({{"front", f}, {"verdict", d.label}}).Increment();
  return d;
}

}  // namespace farside::proxy
