// Text to UTF-8: conversion from a declared charset (iconv), detection when the charset is
// missing or wrong (uchardet), and UTF-8 validation. Never fails: undecodable bytes become
// U+FFFD, and the caller learns whether the declared charset told the truth.
#ifndef FARSIDE_LIB_MIME_CHARSET_H_
#define FARSIDE_LIB_MIME_CHARSET_H_

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace farside::mime {

bool IsValidUtf8(absl::string_view s);
bool IsAscii(absl::string_view s);

// Lower-cased charset name with common aliases folded ("UTF8" -> "utf-8", "latin1" ->
// "iso-8859-1"); empty for an empty input.
std::string NormalizeCharset(absl::string_view name);

struct Converted {
  std::string text;        // UTF-8
  std::string charset;     // the charset actually used
  bool declared_ok = true; // false: the declared charset was unknown or did not fit the bytes
};

// Converts `bytes` to UTF-8. With an empty `declared`, or one that is unknown or fails on these
// bytes, the charset is detected; "us-ascii" that holds valid UTF-8 is read as UTF-8.
Converted ToUtf8(absl::string_view bytes, absl::string_view declared);

// Replaces invalid UTF-8 sequences by U+FFFD.
std::string SanitizeUtf8(absl::string_view s);

// The same for every string field of a protobuf message, recursively (bytes fields are left
// alone). Proto3 refuses to parse invalid UTF-8 in a string, so whatever crosses gRPC with
// text taken from mail (matched text, header values, addresses) goes through this first.
void SanitizeUtf8Fields(google::protobuf::Message* msg);

}  // namespace farside::mime

#endif  // FARSIDE_LIB_MIME_CHARSET_H_
