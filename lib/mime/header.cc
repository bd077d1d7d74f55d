// The header block parser.
#include "lib/mime/header.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/mime/encoded_word.h"

namespace farside::mime {
namespace {

// The line at pos without its terminator; sets *next to the start of the next line.
absl::string_view LineAt(absl::string_view text, size_t pos, size_t* next) {
  size_t eol = text.find('\n', pos);
  absl::string_view line;
  if (eol == absl::string_view::npos) {
    line = text.substr(pos);
    *next = text.size();
  } else {
    line = text.substr(pos, eol - pos);
    *next = eol + 1;
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Field name: printable ASCII except ':' (RFC 5322 2.2), then ':'; the obsolete syntax
// allows white space before the colon (RFC 5322 4.5.1: "From  :"). Returns the colon's
// index, or npos if the line is not a field; *name_end is where the name stops.
size_t FieldColon(absl::string_view line, size_t* name_end) {
  size_t i = 0;
  while (i < line.size()) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c == ':' || c <= 32 || c >= 127) break;
    ++i;
  }
  *name_end = i;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (i < line.size() && line[i] == ':') return i;
  return absl::string_view::npos;
}

}  // namespace

Headers Headers::Parse(absl::string_view text, size_t max_fields, size_t max_field_bytes,
                       HeaderBlockInfo* info) {
  Headers h;
  size_t pos = 0;
  // An mbox "From " line before the first field is an envelope line, not a field (but
  // "From  : x" is the obsolete form of a From field).
  if (absl::StartsWith(text, "From ")) {
    size_t next = 0, name_end = 0;
    if (FieldColon(LineAt(text, 0, &next), &name_end) == absl::string_view::npos) pos = next;
  }
  HeaderField* current = nullptr;
  bool skipping = false;  // the current field is being dropped (empty name, over a limit)
  while (pos < text.size()) {
    size_t next;
    absl::string_view line = LineAt(text, pos, &next);
    if (line.empty()) {
      pos = next;
      break;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      if (current == nullptr && !skipping) {
        // White space before any field: treat it like a line that is no field.
        info->bad_line = true;
        break;
      }
      if (current != nullptr) {
        if (current->raw.size() + line.size() > max_field_bytes) {
          info->line_too_long = true;
        } else {
          // Unfolding removes the line break only; the white space stays (RFC 5322 2.2.3).
          absl::StrAppend(&current->raw, line);
        }
      }
      pos = next;
      continue;
    }
    size_t name_end = 0;
    size_t colon = FieldColon(line, &name_end);
    if (colon == absl::string_view::npos) {
      info->bad_line = true;
      break;
    }
    pos = next;
    current = nullptr;
    skipping = true;
    if (name_end == 0) {
      info->empty_name = true;
      continue;
    }
    if (h.fields_.size() >= max_fields) {
      info->too_many = true;
      continue;
    }
    skipping = false;
    HeaderField f;
    f.name = std::string(line.substr(0, name_end));
    absl::string_view value = absl::StripLeadingAsciiWhitespace(line.substr(colon + 1));
    if (value.size() > max_field_bytes) {
      info->line_too_long = true;
      value = value.substr(0, max_field_bytes);
    }
    f.raw = std::string(value);
    h.fields_.push_back(std::move(f));
    current = &h.fields_.back();
  }
  info->body_offset = pos;
  for (HeaderField& f : h.fields_) {
    DecodedHeader d = DecodeHeaderValue(f.raw);
    f.value = std::move(d.text);
    info->had_8bit |= d.had_8bit;
    info->broken_encoded_word |= d.had_broken_words;
    info->bad_charset |= d.charset_unknown;
  }
  return h;
}

const HeaderField* Headers::Find(absl::string_view name) const {
  for (const HeaderField& f : fields_) {
    if (absl::EqualsIgnoreCase(f.name, name)) return &f;
  }
  return nullptr;
}

std::vector<const HeaderField*> Headers::FindAll(absl::string_view name) const {
  std::vector<const HeaderField*> out;
  for (const HeaderField& f : fields_) {
    if (absl::EqualsIgnoreCase(f.name, name)) out.push_back(&f);
  }
  return out;
}

}  // namespace farside::mime
