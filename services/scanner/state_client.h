// The scanner's side of the controller's batched State call. A scan asks once per message;
// records of finished scans wait here and ride along with the next call (or a flush), so
// writing them costs no round trip of their own.
#ifndef FARSIDE_SERVICES_SCANNER_STATE_CLIENT_H_
#define FARSIDE_SERVICES_SCANNER_STATE_CLIENT_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "farside/v1/state.pb.h"

namespace farside::scanner {

class StateClient {
 public:
  virtual ~StateClient() = default;
  // The batched call for one message, carrying the records that are waiting.
  virtual absl::StatusOr<farside::v1::ExchangeResponse> Exchange(
      const farside::v1::MessageQuery& query, absl::Duration timeout) = 0;
  // Queues a finished scan's record for the controller.
  virtual void Record(farside::v1::ScanRecord record) = 0;
};

}  // namespace farside::scanner

#endif  // FARSIDE_SERVICES_SCANNER_STATE_CLIENT_H_
