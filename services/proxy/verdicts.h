// One message through the scanner pool: size limit, direction, the scan call, the mapping
// of its result (or of its failure, through the fail policy), and the proxy's metrics.
#ifndef FARSIDE_SERVICES_PROXY_VERDICTS_H_
#define FARSIDE_SERVICES_PROXY_VERDICTS_H_

#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "farside/v1/config.pb.h"
#include "farside/v1/scanner.pb.h"
#include "lib/telemetry/metrics.h"
#include "services/proxy/decision.h"
#include "services/proxy/scan_client.h"

namespace farside::proxy {

class Verdicts {
 public:
  Verdicts(const farside::v1::ProxyConfig& config, ScanClient* client,
           telemetry::ServiceMetrics* metrics);

  // `front` is "milter" or "smtp". `request` holds the envelope and the message (empty when
  // `size` is over the limit and the front end did not keep it); its direction is set here.
  Decision Decide(absl::string_view front, farside::v1::ScanRequest* request, uint64_t size,
                  bool unscanned_present, const std::function<void()>& waiting = {});

  // Counts a connection dropped for a protocol error.
  void ProtocolError(absl::string_view front);
  prometheus::Gauge* Connections(absl::string_view front);
  const farside::v1::ProxyConfig& config() const { return config_; }

 private:
  const farside::v1::ProxyConfig& config_;
  ScanClient* client_;
  prometheus::Family<prometheus::Counter>* messages_;
  prometheus::Family<prometheus::Counter>* fail_policy_;
  prometheus::Family<prometheus::Counter>* protocol_errors_;
  prometheus::Family<prometheus::Histogram>* latency_;
  prometheus::Family<prometheus::Gauge>* connections_;
};

}  // namespace farside::proxy

#endif  // FARSIDE_SERVICES_PROXY_VERDICTS_H_
