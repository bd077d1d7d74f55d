// SpamAssassin's body text, for the body rules imported from it: the text/plain and
// text/html parts joined, each paragraph on one line, each run of whitespace one space.
#ifndef FARSIDE_LIB_RULES_SA_BODY_H_
#define FARSIDE_LIB_RULES_SA_BODY_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "lib/mime/message.h"

namespace farside::rules {

// What SpamAssassin 4's body rules read (Message::get_rendered_body_text_array), without
// the Subject line that leads it there (the rule set reads the Subject as a text of its
// own). Every text/plain and text/html leaf, attachments too, rendered and cut at about
// `part_scan_size` bytes (CutForScan; 0: whole), one after another with a newline between;
// then a run of whitespace holding two or more newlines ends a paragraph and any other run
// becomes one space (Perl's Unicode \s: a no-break space or an em space as well). A line
// over 2,048 bytes is broken after its last space before that, or at it, as SpamAssassin
// breaks it into array entries (here a newline, so ^ and $ anchor there as they would).
std::string SaBodyText(const mime::Message& msg, size_t part_scan_size);

// The whitespace folding step alone, on UTF-8 text.
std::string FoldSaWhitespace(absl::string_view text);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_SA_BODY_H_
