// A first, minimal view of a message: where the header ends and the body begins, and
// header lookup with unfolding. The full MIME model builds on it.
#ifndef FARSIDE_LIB_MIME_RAW_MESSAGE_H_
#define FARSIDE_LIB_MIME_RAW_MESSAGE_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace farside::mime {

class RawMessage {
 public:
  // Does not copy: `bytes` must outlive the view. Takes CRLF and bare LF line ends alike.
  explicit RawMessage(absl::string_view bytes);

  absl::string_view header_block() const { return header_; }
  absl::string_view body() const { return body_; }

  // The first header called `name` (case-insensitive), unfolded and trimmed; nullopt if none.
  std::optional<std::string> Header(absl::string_view name) const;

  // The Message-ID without angle brackets; empty if there is none.
  std::string MessageId() const;

 private:
  absl::string_view header_;
  absl::string_view body_;
};

}  // namespace farside::mime

#endif  // FARSIDE_LIB_MIME_RAW_MESSAGE_H_
