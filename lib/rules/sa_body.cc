// SpamAssassin's body text: paragraphs, whitespace folded (Message.pm's
// get_body_text_array_common and split_into_array_of_short_lines, read for behaviour).
#include "lib/rules/sa_body.h"

#include "lib/mime/charset.h"
#include "lib/rules/rule_set.h"

namespace farside::rules {

namespace {

// The length of the whitespace character at `at` (Perl's \s on Unicode text: ASCII's six,
// U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), or 0.
size_t SpaceAt(absl::string_view s, size_t at) {
  const auto b = [&](size_t k) { return at + k < s.size() ? static_cast<unsigned char>(s[at + k]) : 0; };
  switch (b(0)) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': return 1;
    case 0xC2: return b(1) == 0x85 || b(1) == 0xA0 ? 2 : 0;
    case 0xE1: return b(1) == 0x9A && b(2) == 0x80 ? 3 : 0;
    case 0xE2:
      if (b(1) == 0x80) return b(2) <= 0x8A || b(2) == 0xA8 || b(2) == 0xA9 || b(2) == 0xAF ? 3 : 0;
      return b(1) == 0x81 && b(2) == 0x9F ? 3 : 0;
    case 0xE3: return b(1) == 0x80 && b(2) == 0x80 ? 3 : 0;
    default: return 0;
  }
}

constexpr size_t kMaxLine = 2048;  // SpamAssassin's MAX_BODY_LINE_LENGTH

}  // namespace

std::string FoldSaWhitespace(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t w = SpaceAt(s, i);
    if (w == 0) {
      out.push_back(s[i++]);
      continue;
    }
    // s/\n+\s*\n+/\x00/ then s/\s+/ /: a run with two or more newlines is a paragraph end,
    // with one space before it for what precedes its first newline and one after it for
    // what follows its last; any other run is one space.
    const size_t start = i;
    size_t first_nl = absl::string_view::npos, last_nl = 0, newlines = 0;
    for (; i < s.size() && (w = SpaceAt(s, i)) != 0; i += w) {
      if (s[i] != '\n') continue;
      if (newlines++ == 0) first_nl = i;
      last_nl = i;
    }
    if (newlines < 2) {
      out.push_back(' ');
      continue;
    }
    if (first_nl > start) out.push_back(' ');
    out.push_back('\n');
    if (last_nl + 1 < i) out.push_back(' ');
  }
  return out;
}

std::string SaBodyText(const mime::Message& msg, size_t part_scan_size) {
  std::string joined;
  for (const mime::Part& p : msg.parts()) {
    if (!p.is_leaf()) continue;
    if (!joined.empty()) joined.push_back('\n');  // before every leaf once there is text
    if (p.content_type != "text/plain" && p.content_type != "text/html") continue;
    if (!p.is_html()) {
      // The parser leaves attachments undecoded; SpamAssassin reads text ones too.
      std::string converted;
      absl::string_view text = p.text;
      if (p.is_attachment()) text = converted = mime::ToUtf8(p.decoded, p.charset).text;
      const absl::string_view cut = CutForScan(text, part_scan_size, "\n ");
      joined.append(cut.data(), cut.size());
      continue;
    }
    // SpamAssassin's HTML renderer ends a line at each <br> and a paragraph at each <p>;
    // Farside's ends one line at either (mime/html.cc). Each of its lines is a paragraph
    // here, as each was a line of its own before the folding.
    for (char c : CutForScan(p.Html().text, part_scan_size, "\n ")) {
      joined.push_back(c);
      if (c == '\n') joined.push_back('\n');
    }
  }
  const std::string folded = FoldSaWhitespace(joined);
  // Lines over kMaxLine bytes are broken after their last space within it, else at it.
  std::string out;
  out.reserve(folded.size() + folded.size() / kMaxLine);
  absl::string_view rest = folded;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    absl::string_view line = rest.substr(0, nl == absl::string_view::npos ? rest.size() : nl + 1);
    rest.remove_prefix(line.size());
    while (line.size() > kMaxLine) {
      size_t space = line.rfind(' ', kMaxLine);
      const size_t len = space == absl::string_view::npos ? kMaxLine : space + 1;
      out.append(line.data(), len);
      out.push_back('\n');
      line.remove_prefix(len);
    }
    out.append(line.data(), line.size());
  }
  return out;
}

}  // namespace farside::rules
