// Header/body split and header lookup over raw bytes.
#include "lib/mime/raw_message.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace farside::mime {
namespace {

// The next line of `text` from `pos` without its line end; advances pos past it.
absl::string_view NextLine(absl::string_view text, size_t& pos) {
  size_t end = text.find('\n', pos);
  absl::string_view line;
  if (end == absl::string_view::npos) {
    line = text.substr(pos);
    pos = text.size();
  } else {
    line = text.substr(pos, end - pos);
    pos = end + 1;
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// A header field line: a name of printable ASCII other than ':' and space, then ':'.
bool IsFieldLine(absl::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] != ':') {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c <= 32 || c >= 127) return false;
    ++i;
  }
  return i > 0 && i < line.size();
}

}  // namespace

RawMessage::RawMessage(absl::string_view bytes) {
  // The header ends at the first empty line. A line that is neither a field nor a
  // continuation also ends it, and belongs to the body (as mail parsers treat it).
  size_t pos = 0;
  bool first = true;
  while (pos < bytes.size()) {
    size_t start = pos;
    absl::string_view line = NextLine(bytes, pos);
    if (line.empty()) {
      header_ = bytes.substr(0, start);
      body_ = bytes.substr(pos);
      return;
    }
    bool continuation = !first && (line[0] == ' ' || line[0] == '\t');
    if (!continuation && !IsFieldLine(line)) {
      header_ = bytes.substr(0, start);
      body_ = bytes.substr(start);
      return;
    }
    first = false;
  }
  header_ = bytes;
}

std::optional<std::string> RawMessage::Header(absl::string_view name) const {
  size_t pos = 0;
  while (pos < header_.size()) {
    absl::string_view line = NextLine(header_, pos);
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos || line.empty() || line[0] == ' ' || line[0] == '\t') {
      continue;
    }
    if (!absl::EqualsIgnoreCase(absl::StripTrailingAsciiWhitespace(line.substr(0, colon)), name)) {
      continue;
    }
    std::string value(line.substr(colon + 1));
    // Continuation lines start with white space (RFC 5322 folding).
    while (pos < header_.size() && (header_[pos] == ' ' || header_[pos] == '\t')) {
      absl::string_view cont = NextLine(header_, pos);
      value.append(" ");
      absl::StrAppend(&value, absl::StripLeadingAsciiWhitespace(cont));
    }
    return std::string(absl::StripAsciiWhitespace(value));
  }
  return std::nullopt;
}

std::string RawMessage::MessageId() const {
  std::optional<std::string> v = Header("Message-ID");
  if (!v) return "";
  absl::string_view id = *v;
  size_t open = id.find('<');
  size_t close = id.find('>', open == absl::string_view::npos ? 0 : open);
  if (open != absl::string_view::npos && close != absl::string_view::npos) {
    return std::string(id.substr(open + 1, close - open - 1));
  }
  return std::string(absl::StripAsciiWhitespace(id));
}

}  // namespace farside::mime
