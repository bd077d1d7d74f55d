// `farside parse FILE [--json]`: the parsed message model for people and scripts. Needs no
// server; exits non-zero only when the file cannot be read.
#ifndef FARSIDE_TOOLS_FARSIDE_PARSE_COMMAND_H_
#define FARSIDE_TOOLS_FARSIDE_PARSE_COMMAND_H_

#include <string>

#include "lib/mime/message.h"

namespace farside::cli {

// One JSON object: subject, headers, parts (depth first, containers included), urls,
// emails, attachments, anomalies.
std::string MessageToJson(const mime::Message& msg);
// An indented, readable view of the same.
std::string MessageToText(const mime::Message& msg);

}  // namespace farside::cli

#endif  // FARSIDE_TOOLS_FARSIDE_PARSE_COMMAND_H_
