// Base64 and quoted-printable decoding.
#include "lib/mime/transfer.h"

#include <array>

namespace farside::mime {
namespace {

constexpr std::array<int8_t, 256> MakeBase64Table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  // The URL-safe alphabet turns up in the wild; accept it too.
  t['-'] = 62;
  t['_'] = 63;
  return t;
}
constexpr std::array<int8_t, 256> kB64 = MakeBase64Table();

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

Decoded DecodeBase64(absl::string_view in) {
  Decoded out;
  out.bytes.reserve(in.size() * 3 / 4 + 3);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    int8_t v = kB64[c];
    if (v < 0) {
      if (c == '=') {
        // Padding ends the data. Text after it (other than padding and white space) is
        // an anomaly worth counting.
        for (size_t k = i + 1; k < in.size(); ++k) {
          char d = in[k];
          if (d != '=' && d != '\r' && d != '\n' && !IsBlank(d)) {
            ++out.errors;
            break;
          }
        }
        break;
      }
      if (c != '\r' && c != '\n' && !IsBlank(static_cast<char>(c))) ++out.errors;
      continue;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.bytes.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // 6 leftover bits cannot make a byte: a truncated quantum.
  if (bits == 6) ++out.errors;
  return out;
}

Decoded DecodeQuotedPrintable(absl::string_view in) {
  Decoded out;
  out.bytes.reserve(in.size());
  size_t i = 0;
  const size_t n = in.size();
  while (i < n) {
    // Find the end of this line.
    size_t eol = in.find('\n', i);
    size_t line_end = eol == absl::string_view::npos ? n : eol;
    size_t content_end = line_end;
    if (content_end > i && in[content_end - 1] == '\r') --content_end;
    // Trailing white space is transport padding (RFC 2045 6.7 rule 3).
    while (content_end > i && IsBlank(in[content_end - 1])) --content_end;
    bool soft_break = false;
    for (size_t k = i; k < content_end; ++k) {
      char c = in[k];
      if (c != '=') {
        out.bytes.push_back(c);
        continue;
      }
      if (k + 1 == content_end) {  // "=" at the end of a line: soft line break
        soft_break = true;
        break;
      }
      const bool room = k + 2 < content_end;  // both hex digits are on this line
      int hi = room ? HexValue(in[k + 1]) : -1;
      int lo = room ? HexValue(in[k + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out.bytes.push_back(static_cast<char>(hi * 16 + lo));
        k += 2;
      } else {
        out.bytes.push_back('=');  // broken escape: keep it literally
        ++out.errors;
      }
    }
    if (eol == absl::string_view::npos) break;
    if (!soft_break) {
      // Keep the line break as it was written.
      if (line_end > i && in[line_end - 1] == '\r') {
        out.bytes += "\r\n";
      } else {
        out.bytes.push_back('\n');
      }
    }
    i = eol + 1;
  }
  return out;
}

}  // namespace farside::mime
