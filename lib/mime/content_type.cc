// Parameter parsing with RFC 2231 reassembly.
#include "lib/mime/content_type.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/mime/charset.h"
#include "lib/mime/encoded_word.h"

namespace farside::mime {
namespace {

bool IsTSpecial(char c) {
  return c == '(' || c == ')' || c == '<' || c == '>' || c == '@' || c == ',' || c == ';' ||
         c == ':' || c == '\\' || c == '"' || c == '/' || c == '[' || c == ']' || c == '?' ||
         c == '=';
}

void SkipCfws(absl::string_view s, size_t* i) {
  while (*i < s.size()) {
    char c = s[*i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++*i;
    } else if (c == '(') {  // comment, possibly nested
      int depth = 0;
      while (*i < s.size()) {
        char d = s[*i];
        if (d == '\\') {
          ++*i;
        } else if (d == '(') {
          ++depth;
        } else if (d == ')' && --depth == 0) {
          ++*i;
          break;
        }
        ++*i;
      }
    } else {
      break;
    }
  }
}

std::string PercentDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && absl::ascii_isxdigit(s[i + 1]) &&
        absl::ascii_isxdigit(s[i + 2])) {
      int v = 0;
      (void)absl::SimpleHexAtoi(s.substr(i + 1, 2), &v);
      out.push_back(static_cast<char>(v));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct RawParam {
  std::string name;
  int section = -1;    // RFC 2231 continuation number, -1 if none
  bool extended = false;  // name*=: charset'lang'percent-encoded
  std::string value;
  bool quoted = false;
};

}  // namespace

std::optional<std::string> ParsedValue::Get(absl::string_view name) const {
  for (const Param& p : params) {
    if (p.name == name) return p.value;
  }
  return std::nullopt;
}

ParsedValue ParseParameterizedValue(absl::string_view s) {
  ParsedValue out;
  size_t i = 0;
  SkipCfws(s, &i);
  size_t start = i;
  while (i < s.size() && s[i] != ';') ++i;
  std::string token(absl::StripAsciiWhitespace(s.substr(start, i - start)));
  // Comments may trail the token ("text/plain (plain text)").
  if (size_t paren = token.find('('); paren != std::string::npos) {
    token = std::string(absl::StripAsciiWhitespace(token.substr(0, paren)));
  }
  out.token = absl::AsciiStrToLower(token);

  std::vector<RawParam> raw;
  while (i < s.size()) {
    if (s[i] == ';') ++i;
    SkipCfws(s, &i);
    if (i >= s.size()) break;
    size_t ns = i;
    while (i < s.size() && s[i] != '=' && s[i] != ';' && s[i] != ' ' && s[i] != '\t') ++i;
    std::string name = absl::AsciiStrToLower(s.substr(ns, i - ns));
    SkipCfws(s, &i);
    if (i >= s.size() || s[i] != '=') {
      if (!name.empty()) out.malformed = true;
      while (i < s.size() && s[i] != ';') ++i;
      continue;
    }
    ++i;  // '='
    SkipCfws(s, &i);
    RawParam p;
    if (i < s.size() && s[i] == '"') {
      p.quoted = true;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i];
        if (c == '\\' && i + 1 < s.size()) {
          p.value.push_back(s[i + 1]);
          i += 2;
          continue;
        }
        if (c == '"') {
          closed = true;
          ++i;
          break;
        }
        p.value.push_back(c);
        ++i;
      }
      if (!closed) out.malformed = true;
      while (i < s.size() && s[i] != ';') ++i;  // junk after the quotes
    } else {
      size_t vs = i;
      // Unquoted values should be tokens; real mail puts spaces and specials in them, so
      // take everything up to the next ';'.
      while (i < s.size() && s[i] != ';') ++i;
      p.value = std::string(absl::StripAsciiWhitespace(s.substr(vs, i - vs)));
    }
    // RFC 2231: name* (extended), name*N (a section), name*N* (an extended section).
    if (size_t star = name.find('*'); star != std::string::npos) {
      std::string rest = name.substr(star + 1);
      name.resize(star);
      if (rest.empty() || rest.back() == '*') {
        p.extended = true;
        if (!rest.empty()) rest.pop_back();
      }
      if (!rest.empty()) {
        int n;
        if (absl::SimpleAtoi(rest, &n) && n >= 0 && n < 1000) {
          p.section = n;
        } else {
          out.malformed = true;
        }
      }
    }
    if (name.empty()) {
      out.malformed = true;
      continue;
    }
    p.name = name;
    raw.push_back(std::move(p));
  }

  // Reassemble: plain parameters as they are, RFC 2231 ones joined by section number.
  std::map<std::string, std::vector<const RawParam*>> sections;
  std::vector<std::string> order;
  for (const RawParam& p : raw) {
    if (p.section < 0 && !p.extended) {
      if (!out.Get(p.name)) {
        std::string v = p.value;
        if (v.find("=?") != std::string::npos || !IsAscii(v)) v = DecodeHeaderValue(v).text;
        out.params.push_back({p.name, std::move(v)});
      }
      continue;
    }
    if (!sections.count(p.name)) order.push_back(p.name);
    sections[p.name].push_back(&p);
  }
  for (const std::string& name : order) {
    auto& parts = sections[name];
    std::stable_sort(parts.begin(), parts.end(), [](const RawParam* a, const RawParam* b) {
      return std::max(a->section, 0) < std::max(b->section, 0);
    });
    std::string charset, bytes;
    for (size_t k = 0; k < parts.size(); ++k) {
      const RawParam* p = parts[k];
      absl::string_view v = p->value;
      if (p->extended && k == 0) {
        // charset'language'value
        size_t q1 = v.find('\'');
        size_t q2 = q1 == absl::string_view::npos ? q1 : v.find('\'', q1 + 1);
        if (q2 != absl::string_view::npos) {
          charset = std::string(v.substr(0, q1));
          v = v.substr(q2 + 1);
        } else {
          out.malformed = true;
        }
      }
      absl::StrAppend(&bytes, p->extended ? PercentDecode(v) : std::string(v));
    }
    std::string value = ToUtf8(bytes, charset).text;
    // A plain parameter of the same name loses to the RFC 2231 one (RFC 2231 says the
    // extended form is the more precise).
    auto it = std::find_if(out.params.begin(), out.params.end(),
                           [&](const Param& p) { return p.name == name; });
    if (it != out.params.end()) {
      it->value = std::move(value);
    } else {
      out.params.push_back({name, std::move(value)});
    }
  }
  return out;
}

std::string MediaType(const ParsedValue& v) {
  size_t slash = v.token.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == v.token.size()) return "";
  absl::string_view type = absl::string_view(v.token).substr(0, slash);
  absl::string_view sub = absl::string_view(v.token).substr(slash + 1);
  for (absl::string_view part : {type, sub}) {
    for (char c : part) {
      if (static_cast<unsigned char>(c) <= 32 || static_cast<unsigned char>(c) >= 127 ||
          IsTSpecial(c)) {
        return "";
      }
    }
  }
  return v.token;
}

}  // namespace farside::mime
