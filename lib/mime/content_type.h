// Content-Type and Content-Disposition values (RFC 2045 5.1, RFC 2183) with their
// parameters, including RFC 2231 continuations and charsets, and RFC 2047 words inside
// quoted values (as mail readers accept them).
#ifndef FARSIDE_LIB_MIME_CONTENT_TYPE_H_
#define FARSIDE_LIB_MIME_CONTENT_TYPE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace farside::mime {

struct Param {
  std::string name;   // lower case
  std::string value;  // decoded, UTF-8
};

struct ParsedValue {
  std::string token;  // "text/plain" or "attachment", lower case; empty if missing
  std::vector<Param> params;
  bool malformed = false;  // a parameter that does not parse, an unbalanced quote, ...

  std::optional<std::string> Get(absl::string_view name) const;
};

// "text/html; charset=UTF-8; name*0*=utf-8''a%20b; name*1=.html"
ParsedValue ParseParameterizedValue(absl::string_view raw);

// The media type of a Content-Type value: "type/subtype" lower case, or empty when the
// value is not one (the caller then applies the default, RFC 2045 5.2).
std::string MediaType(const ParsedValue& v);

}  // namespace farside::mime

#endif  // FARSIDE_LIB_MIME_CONTENT_TYPE_H_
