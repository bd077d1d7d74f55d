// Content-Transfer-Encoding decoders (RFC 2045 section 6), tolerant the way real mail needs:
// they decode what can be decoded, count what could not, and never fail.
#ifndef FARSIDE_LIB_MIME_TRANSFER_H_
#define FARSIDE_LIB_MIME_TRANSFER_H_

#include <string>

#include "absl/strings/string_view.h"

namespace farside::mime {

struct Decoded {
  std::string bytes;
  size_t errors = 0;  // characters outside the alphabet, bad padding, broken escapes
};

// Base64: characters outside the alphabet are skipped (and counted, but line breaks and
// spaces are not errors); missing padding is tolerated; data after the padding is ignored.
Decoded DecodeBase64(absl::string_view in);

// Quoted-printable: =XX in either case, soft line breaks (=CRLF, =LF, with trailing blanks
// before the break), trailing white space on lines removed; a broken escape is kept as is.
Decoded DecodeQuotedPrintable(absl::string_view in);

}  // namespace farside::mime

#endif  // FARSIDE_LIB_MIME_TRANSFER_H_
