// text/html reduced to what a reader sees: visible text (scripts, styles, comments and the
// head dropped, blocks separated by line breaks), the links with their anchor text, images
// and forms. Broken markup reads as browsers read it.
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

// The HTML5 tokenizer (WHATWG "tokenization": tags, attributes, comments, raw text,
// character references) with the few tree-construction rules that decide what is visible
// (the head, hidden elements, framesets, content moved out of tables, implied ends of links).
// One pass, no tree: about ten times gumbo's speed. Invalid UTF-8 reads as U+FFFD. At most
// `max_nodes` tags are read.
HtmlContent HtmlToText(absl::string_view html, size_t max_nodes = 100000);

// The same from gumbo's full HTML5 tree construction: the reference the tokenizer is
// checked against (tests/lib/mime/html_test.cc, bench/html_diff).
HtmlContent HtmlToTextGumbo(absl::string_view html, size_t max_nodes = 100000);

}  // namespace farside::mime

#endif  // FARSIDE_LIB_MIME_HTML_H_
