// RFC 2047 encoded-words in header values ("=?utf-8?q?caf=C3=A9?="), decoded to UTF-8.
#ifndef FARSIDE_LIB_MIME_ENCODED_WORD_H_
#define FARSIDE_LIB_MIME_ENCODED_WORD_H_

#include <string>

#include "absl/strings/string_view.h"

namespace farside::mime {

struct DecodedHeader {
  std::string text;  // UTF-8
  bool had_encoded_words = false;
  bool had_broken_words = false;   // something that starts like a word but does not parse
  bool had_8bit = false;           // raw 8-bit bytes outside encoded-words
  bool charset_unknown = false;
};

// Decodes the encoded-words of an unfolded header value. White space between two adjacent
// encoded-words is dropped (RFC 2047 6.2); words glued to other text are decoded too, as
// spam uses them that way and mail readers show them decoded. Raw 8-bit text is read as
// UTF-8 when valid, else by detection. A broken word stays as written.
DecodedHeader DecodeHeaderValue(absl::string_view value);

}  // namespace farside::mime

#endif  // FARSIDE_LIB_MIME_ENCODED_WORD_H_
