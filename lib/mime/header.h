// Header fields (RFC 5322 section 2.2): a block of "Name: value" lines with folding, kept in
// order with repeats, each value available raw (unfolded) and decoded (RFC 2047, UTF-8).
#ifndef FARSIDE_LIB_MIME_HEADER_H_
#define FARSIDE_LIB_MIME_HEADER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace farside::mime {

struct HeaderField {
  std::string name;   // as written
  std::string raw;    // unfolded (CRLF before white space removed), leading blanks stripped
  std::string value;  // raw with encoded-words decoded, as UTF-8
};

struct HeaderBlockInfo {
  size_t body_offset = 0;       // where the body starts in the parsed text
  bool bad_line = false;        // a line that is neither a field nor a continuation ended it
  bool had_8bit = false;        // raw 8-bit bytes in some field
  bool broken_encoded_word = false;
  bool bad_charset = false;
  bool too_many = false;        // more fields than the limit; the rest were skipped
  bool line_too_long = false;
  bool empty_name = false;
};

class Headers {
 public:
  // Parses the header block at the start of `text`: up to the first empty line, or up to a
  // line that is not a field (which then starts the body, as mail readers treat it).
  static Headers Parse(absl::string_view text, size_t max_fields, size_t max_field_bytes,
                       HeaderBlockInfo* info);

  const std::vector<HeaderField>& fields() const { return fields_; }
  // First field called `name` (case-insensitive), or nullptr.
  const HeaderField* Find(absl::string_view name) const;
  std::vector<const HeaderField*> FindAll(absl::string_view name) const;

 private:
  std::vector<HeaderField> fields_;
};

}  // namespace farside::mime

#endif  // FARSIDE_LIB_MIME_HEADER_H_
