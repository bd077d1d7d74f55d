// The RFC 2047 decoder.
#include "lib/mime/encoded_word.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/mime/charset.h"
#include "lib/mime/transfer.h"

namespace farside::mime {
namespace {

struct Word {
  size_t end = 0;  // index just past "?="
  std::string charset;
  std::string bytes;  // decoded, still in `charset`
};

// Parses an encoded-word starting at s[i] == '='. Returns false if it is not one.
bool ParseWord(absl::string_view s, size_t i, Word* w) {
  if (i + 1 >= s.size() || s[i] != '=' || s[i + 1] != '?') return false;
  size_t cs_end = s.find('?', i + 2);
  if (cs_end == absl::string_view::npos || cs_end == i + 2) return false;
  if (cs_end + 2 >= s.size() || s[cs_end + 2] != '?') return false;
  char enc = absl::ascii_tolower(s[cs_end + 1]);
  if (enc != 'q' && enc != 'b') return false;
  size_t text_start = cs_end + 3;
  size_t text_end = s.find("?=", text_start);
  if (text_end == absl::string_view::npos) return false;
  absl::string_view charset = s.substr(i + 2, cs_end - i - 2);
  absl::string_view text = s.substr(text_start, text_end - text_start);
  // An encoded-word holds no white space (RFC 2047 2); one that does is not a word.
  for (char c : charset) {
    if (c == ' ' || c == '\t') return false;
  }
  if (enc == 'b') {
    w->bytes = DecodeBase64(text).bytes;
  } else {
    std::string q(text);
    for (char& c : q) {
      if (c == '_') c = ' ';
    }
    w->bytes = DecodeQuotedPrintable(q).bytes;
  }
  w->charset = std::string(charset);
  w->end = text_end + 2;
  return true;
}

bool AllBlank(absl::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

}  // namespace

DecodedHeader DecodeHeaderValue(absl::string_view value) {
  DecodedHeader out;
  out.text.reserve(value.size());
  size_t i = 0;
  size_t plain_start = 0;
  // Bytes of adjacent words in the same charset are joined before conversion, so a
  // multi-byte character split across two words comes out whole.
  std::string pending_bytes, pending_charset;
  auto flush_pending = [&] {
    if (pending_bytes.empty() && pending_charset.empty()) return;
    Converted c = ToUtf8(pending_bytes, pending_charset);
    if (!c.declared_ok && !IsAscii(pending_bytes)) out.charset_unknown = true;
    out.text += c.text;
    pending_bytes.clear();
    pending_charset.clear();
  };
  auto append_plain = [&](absl::string_view plain) {
    if (plain.empty()) return;
    if (!IsAscii(plain)) {
      out.had_8bit = true;
      out.text += ToUtf8(plain, "").text;
    } else {
      absl::StrAppend(&out.text, plain);
    }
  };
  bool last_was_word = false;
  while (i < value.size()) {
    size_t q = value.find("=?", i);
    if (q == absl::string_view::npos) break;
    Word w;
    if (!ParseWord(value, q, &w)) {
      out.had_broken_words = true;
      i = q + 2;
      continue;
    }
    absl::string_view between = value.substr(plain_start, q - plain_start);
    if (last_was_word && AllBlank(between)) {
      // Adjacent words: the white space between them is not part of the text.
      if (NormalizeCharset(w.charset) != NormalizeCharset(pending_charset)) flush_pending();
    } else {
      flush_pending();
      append_plain(between);
    }
    pending_charset = w.charset;
    pending_bytes += w.bytes;
    out.had_encoded_words = true;
    last_was_word = true;
    i = w.end;
    plain_start = w.end;
  }
  flush_pending();
  append_plain(value.substr(plain_start));
  return out;
}

}  // namespace farside::mime
