// text/html reduced to what a reader sees: visible text (scripts, styles and comments
// dropped, blocks separated by line breaks), the links with their anchor text, images and
// forms. Parsed with an HTML5 parser (gumbo), so broken markup reads as browsers read it.
#ifndef FARSIDE_LIB_MIME_HTML_H_
#define FARSIDE_LIB_MIME_HTML_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace farside::mime {

struct HtmlLink {
  std::string href;
  std::string text;  // the anchor text as shown
};

struct HtmlContent {
  std::string text;
  std::vector<HtmlLink> links;
  std::vector<std::string> images;  // img src
  std::vector<std::string> forms;   // form action
  bool truncated = false;           // the node limit was reached
};

// `html` must be UTF-8. At most `max_nodes` elements are visited.
HtmlContent HtmlToText(absl::string_view html, size_t max_nodes = 100000);

}  // namespace farside::mime

#endif  // FARSIDE_LIB_MIME_HTML_H_
