// What an attachment really is, from its first bytes (a table of signatures, as file(1)
// would say), and the names inside zip archives (central directory, or the local headers of
// a truncated file), with the encryption flag.
#ifndef FARSIDE_LIB_MIME_FILETYPE_H_
#define FARSIDE_LIB_MIME_FILETYPE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace farside::mime {

// A media type such as "application/x-dosexec", "application/zip" or "image/png"; empty
// when no signature matches.
std::string DetectType(absl::string_view bytes);

struct ArchiveEntry {
  std::string name;
  bool encrypted = false;
  uint64_t size = 0;  // uncompressed, as the archive claims
};

struct ArchiveListing {
  std::vector<ArchiveEntry> entries;
  bool truncated = false;  // more entries than the limit, or a damaged directory
};

// Lists a zip archive's members (at most `max_entries`); empty for anything else.
ArchiveListing ListZip(absl::string_view bytes, size_t max_entries = 1000);

}  // namespace farside::mime

#endif  // FARSIDE_LIB_MIME_FILETYPE_H_
