// What the MTA is asked to change in a delivered message: the X-Spam-* headers and the
// Subject prefix, from the result's action and score.
#ifndef FARSIDE_SERVICES_SCANNER_VERDICT_H_
#define FARSIDE_SERVICES_SCANNER_VERDICT_H_

#include "farside/v1/config.pb.h"
#include "farside/v1/scanner.pb.h"
#include "lib/mime/message.h"

namespace farside::scanner {

// Appends header changes to `result` (its action, score and symbols must be final).
void AddHeaderChanges(const farside::v1::HeadersConfig& config, const mime::Message& msg,
                      farside::v1::ScanResult* result);

}  // namespace farside::scanner

#endif  // FARSIDE_SERVICES_SCANNER_VERDICT_H_
