// Sorted directory listing.
#include "lib/common/files.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace farside {

absl::StatusOr<std::vector<std::string>> ListFiles(const std::string& dir,
                                                   absl::string_view extension,
                                                   absl::string_view what) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat(what, " '", dir, "' does not exist"));
  }
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension().string() == extension) {
      files.push_back(e.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace farside
