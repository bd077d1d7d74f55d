// Directory listing as rule and config loaders need it: the regular files with one
// extension, sorted by name (the order they are read in).
#ifndef FARSIDE_LIB_COMMON_FILES_H_
#define FARSIDE_LIB_COMMON_FILES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace farside {

// NotFound (naming `what` and the directory) when `dir` is not a directory.
absl::StatusOr<std::vector<std::string>> ListFiles(const std::string& dir,
                                                   absl::string_view extension,
                                                   absl::string_view what);

}  // namespace farside

#endif  // FARSIDE_LIB_COMMON_FILES_H_
