// SpamAssassin's HTML statistics, as its HTML.pm gathers them over HTML::Parser events: tag
// counts and balance, comments, titles, anchor texts, image area. The imported html_* evals
// read these; Farside's own rules read the HTML5 model in lib/mime/html.h instead.
#ifndef FARSIDE_LIB_RULES_SA_HTML_H_
#define FARSIDE_LIB_RULES_SA_HTML_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace farside::rules {

struct SaHtmlStats {
  // Per tag name seen: start tags minus end tags, held at 0 or more (an end tag with none
  // open counts in closed_extra instead).
  std::map<std::string, int> inside;
  int tags = 0, elements = 0;            // tags, and those HTML 4 defines (or <!doctype>)
  int tags_seen = 0, elements_seen = 0;  // the same, counting each name once
  int closed_extra = 0;
  int obfuscation = 0;    // a tag splitting a word: "V<b></b>iagra"
  double image_area = 0;  // <img> with width and height (800x600 for percentages)
  size_t length = 0;      // of the HTML source, in bytes
  std::vector<std::string> comments;  // each with its "<!" and ">"
  std::vector<std::string> titles, anchors;  // an image inside a link adds "<img>\n"
  bool embeds = false;                // <object> or <embed>
  bool form_action_mailto = false;
  bool font_face_bad = false;         // <font face> that names no plausible font list

  // The numbers html_range and html_eval name: length, closed_extra_ratio, bad_tag_ratio,
  // non_element_ratio, obfuscation_ratio, image_area. nullopt when SpamAssassin leaves
  // one undefined (no tags) or for another name.
  std::optional<double> Value(absl::string_view name) const;
  // comments, titles or anchors by SpamAssassin's name (comment, title, anchor).
  const std::vector<std::string>* Texts(absl::string_view name) const;
};

// One text/html part's statistics. At most `max_tags` tags are read.
SaHtmlStats SaHtml(absl::string_view html, size_t max_tags = 100000);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_SA_HTML_H_
