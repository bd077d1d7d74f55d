// Header changes applied to a raw message, with the milter's semantics, for front ends that
// rewrite the message themselves (the SMTP proxy) instead of asking an MTA to.
#ifndef FARSIDE_LIB_MIME_HEADER_EDIT_H_
#define FARSIDE_LIB_MIME_HEADER_EDIT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace farside::mime {

struct HeaderEdit {
  enum Op { kAdd, kInsert, kChange, kDelete };
  Op op = kAdd;
  std::string name;
  std::string value;  // without the leading space; a '\n' folds the field
  // kChange, kDelete: 1-based occurrence of the name (0: kChange the first, kDelete every
  // one); kInsert: position among all fields, 0 = top.
  uint32_t index = 0;
};

// The message with the edits applied in order. The body is untouched; added fields use
// CRLF. A kChange of an occurrence that does not exist adds the field, as Sendmail does.
std::string ApplyHeaderEdits(absl::string_view message, const std::vector<HeaderEdit>& edits);

}  // namespace farside::mime

#endif  // FARSIDE_LIB_MIME_HEADER_EDIT_H_
