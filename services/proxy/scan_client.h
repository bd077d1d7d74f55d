// Asks the scanner pool for one message's verdict: round-robin over healthy scanners, one
// deadline for the whole message, and one retry on another scanner when a call fails.
#ifndef FARSIDE_SERVICES_PROXY_SCAN_CLIENT_H_
#define FARSIDE_SERVICES_PROXY_SCAN_CLIENT_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "farside/v1/scanner.pb.h"
#include "services/proxy/scanner_pool.h"

namespace farside::proxy {

class ScanClient {
 public:
  ScanClient(ScannerPool* pool, absl::Duration timeout) : pool_(pool), timeout_(timeout) {}

  // The verdict, or the last error when none could be had within the timeout.
  // `waiting` (may be empty) is called every `tick` while a call is in flight, so a milter
  // can tell the MTA to keep waiting.
  absl::StatusOr<farside::v1::ScanResult> Scan(const farside::v1::ScanRequest& request,
                                               const std::function<void()>& waiting = {},
                                               absl::Duration tick = absl::Seconds(5));

 private:
  ScannerPool* pool_;
  absl::Duration timeout_;
};

}  // namespace farside::proxy

#endif  // FARSIDE_SERVICES_PROXY_SCAN_CLIENT_H_
