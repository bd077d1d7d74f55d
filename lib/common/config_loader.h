// Loads configuration from YAML into protobuf messages by reflection. Defaults come from each
// field's default_value option; unknown keys, wrong types and bad values are errors that name
// the file, line and key path ("farside.yaml:7:5: scanner.actions.rejct: unknown key").
#ifndef FARSIDE_LIB_COMMON_CONFIG_LOADER_H_
#define FARSIDE_LIB_COMMON_CONFIG_LOADER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "farside/v1/config.pb.h"
#include "google/protobuf/message.h"

namespace farside::config {

// Sets every field that declares a default, through all singular message fields.
void ApplyDefaults(google::protobuf::Message* msg);

// Overlays the YAML document `yaml` on `msg`. `source` names the document in errors.
// A key set to null clears that field (an optional threshold is switched off that way).
absl::Status MergeYaml(absl::string_view yaml, absl::string_view source,
                       google::protobuf::Message* msg);

// Sets the field at a dotted path from a scalar as a flag would give it ("scanner.listen",
// "127.0.0.1:1"); a repeated field takes a comma-separated list and replaces what was there.
absl::Status SetPath(google::protobuf::Message* msg, absl::string_view path,
                     absl::string_view value);

// The defaults, overlaid with the file at `path` when it is not empty. A missing or
// unreadable file is an error, never a silent fallback to the defaults.
absl::StatusOr<farside::v1::Config> LoadConfig(absl::string_view path);

// Reads a whole file; NotFound when it does not exist.
absl::StatusOr<std::string> ReadFile(absl::string_view path);

}  // namespace farside::config

#endif  // FARSIDE_LIB_COMMON_CONFIG_LOADER_H_
