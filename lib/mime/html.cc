// HtmlToText: one pass of the HTML5 tokenizer, the visible text and links collected as the
// tokens go by, with the tree-construction rules that change what a reader sees.
#include "lib/mime/html.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "lib/mime/charset.h"

namespace farside::mime {
namespace {

struct Entity {
  std::string_view name;
  std::string_view text;
};
constexpr Entity kEntities[] = {
#include "lib/mime/html_entities.inc"
};
// The legacy names (those valid without ';') are at most this long.
constexpr size_t kMaxLegacyName = 6;
constexpr size_t kMaxEntityName = 32;

const std::string_view* FindEntity(std::string_view name) {
  const Entity* e = std::lower_bound(std::begin(kEntities), std::end(kEntities), name,
                                     [](const Entity& a, std::string_view n) { return a.name < n; });
  return e != std::end(kEntities) && e->name == name ? &e->text : nullptr;
}

void AppendUtf8(std::string* out, uint32_t c) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// The standard's replacements for numeric references to C1 controls: what windows-1252
// shows for those bytes (0 where the code point is kept).
constexpr uint16_t kC1[32] = {0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                              0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
                              0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                              0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
inline bool IsAlpha(char c) { return absl::ascii_isalpha(static_cast<unsigned char>(c)); }
inline bool IsAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }

// Decodes the character reference at s[0] == '&'. On success appends it, moves s past it
// and returns true; otherwise the '&' is plain text. In attribute values a legacy name
// without ';' followed by '=' or a letter or digit stays as written (the standard's rule
// for query strings such as "?a=1&copy=2").
bool DecodeReference(const char*& s, const char* end, bool in_attribute, std::string* out) {
  const char* n = s + 1;
  if (n < end && *n == '#') {
    ++n;
    const bool hex = n < end && (*n == 'x' || *n == 'X');
    if (hex) ++n;
    uint32_t value = 0;
    const char* digits = n;
    for (; n < end; ++n) {
      const unsigned char c = static_cast<unsigned char>(*n);
      uint32_t d;
      if (absl::ascii_isdigit(c)) {
        d = c - '0';
      } else if (hex && absl::ascii_isxdigit(c)) {
        d = (c | 0x20) - 'a' + 10;
      } else {
        break;
      }
      value = std::min<uint32_t>(value * (hex ? 16 : 10) + d, 0x110000);  // saturates
    }
    if (n == digits) return false;
    if (n < end && *n == ';') ++n;
    if (value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
      value = 0xFFFD;
    } else if (value >= 0x80 && value <= 0x9F && kC1[value - 0x80] != 0) {
      value = kC1[value - 0x80];
    }
    AppendUtf8(out, value);
    s = n;
    return true;
  }
  size_t run = 0;
  while (n + run < end && run <= kMaxEntityName && IsAlnum(n[run])) ++run;
  if (run == 0) return false;
  if (run <= kMaxEntityName && n + run < end && n[run] == ';') {
    if (const std::string_view* text = FindEntity(std::string_view(n, run + 1))) {
      out->append(text->data(), text->size());
      s = n + run + 1;
      return true;
    }
  }
  for (size_t len = std::min(run, kMaxLegacyName); len >= 2; --len) {
    const std::string_view* text = FindEntity(std::string_view(n, len));
    if (text == nullptr) continue;
    if (in_attribute && n + len < end && (n[len] == '=' || IsAlnum(n[len]))) return false;
    out->append(text->data(), text->size());
    s = n + len;
    return true;
  }
  return false;
}

std::string Decode(absl::string_view raw, bool in_attribute) {
  // Most values have nothing to decode or replace.
  if (std::none_of(raw.begin(), raw.end(), [](char c) {
        const unsigned char u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7F || u == 0xC2 || c == '&';
      })) {
    return std::string(raw);
  }
  std::string out;
  out.reserve(raw.size());
  const char* s = raw.data();
  const char* end = s + raw.size();
  while (s < end) {
    if (*s == '&' && DecodeReference(s, end, in_attribute, &out)) continue;
    const unsigned char c = static_cast<unsigned char>(*s);
    if (c == '\r') {  // the input stream's CR LF and CR are LF
      out.push_back('\n');
      if (s + 1 < end && s[1] == '\n') ++s;
    } else if ((c < 0x20 && !IsSpace(*s)) || c == 0x7F) {
      out.append("\xEF\xBF\xBD");
    } else if (c == 0xC2 && s + 1 < end && static_cast<unsigned char>(s[1]) >= 0x80 &&
               static_cast<unsigned char>(s[1]) <= 0x9F) {
      out.append("\xEF\xBF\xBD");
      ++s;
    } else {
      out.push_back(*s);
    }
    ++s;
  }
  return out;
}

std::string DecodeAttribute(absl::string_view raw) { return Decode(raw, /*in_attribute=*/true); }

// Appends text, collapsing runs of white space the way rendering does. Control characters
// (C0 other than white space, DEL, C1) are parse errors that read as U+FFFD; NUL is dropped.
void AppendText(std::string* out, absl::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    // Runs of ordinary bytes go in at once.
    size_t j = i;
    while (j < s.size() && static_cast<unsigned char>(s[j]) > 0x20 && s[j] != 0x7F &&
           s[j] != '\xC2') {
      ++j;
    }
    if (j > i) {
      out->append(s.data() + i, j - i);
      i = j;
      if (i == s.size()) break;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (IsSpace(static_cast<char>(c))) {
      if (!out->empty() && out->back() != ' ' && out->back() != '\n') out->push_back(' ');
    } else if (c >= 0x20 && c != 0x7F && c != 0xC2) {
      out->push_back(static_cast<char>(c));
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      out->append("\xEF\xBF\xBD");
      ++i;
    } else if (c == 0xC2) {
      out->push_back(static_cast<char>(c));
    } else if (c != 0) {
      out->append("\xEF\xBF\xBD");
    }
  }
}

void Newline(std::string* out) {
  while (!out->empty() && out->back() == ' ') out->pop_back();
  if (!out->empty() && out->back() != '\n') out->push_back('\n');
}

enum class Tag : uint8_t {
  kOther, kA, kImg, kForm, kHtml, kHead, kBody, kHeadOnly, kBlock, kBr, kTitle, kTextarea,
  kScript, kStyle, kXmp, kIframe, kNoembed, kNoframes, kPlaintext, kNoscript, kTemplate, kSvg, kMath,
  kCell, kRow, kSection, kTable, kFrameset,
};

Tag Classify(absl::string_view lower) {
  static const auto* kTags = new absl::flat_hash_map<absl::string_view, Tag>{
      {"a", Tag::kA}, {"img", Tag::kImg}, {"image", Tag::kImg}, {"form", Tag::kForm},
      {"html", Tag::kHtml}, {"head", Tag::kHead}, {"body", Tag::kBody},
      {"base", Tag::kHeadOnly}, {"basefont", Tag::kHeadOnly}, {"bgsound", Tag::kHeadOnly},
      {"link", Tag::kHeadOnly}, {"meta", Tag::kHeadOnly},
      {"p", Tag::kBlock}, {"div", Tag::kBlock}, {"li", Tag::kBlock}, {"h1", Tag::kBlock},
      {"h2", Tag::kBlock}, {"h3", Tag::kBlock}, {"h4", Tag::kBlock}, {"h5", Tag::kBlock},
      {"h6", Tag::kBlock}, {"ul", Tag::kBlock}, {"ol", Tag::kBlock},
      {"blockquote", Tag::kBlock}, {"pre", Tag::kBlock}, {"hr", Tag::kBlock},
      {"br", Tag::kBr}, {"title", Tag::kTitle}, {"textarea", Tag::kTextarea},
      {"script", Tag::kScript}, {"style", Tag::kStyle}, {"xmp", Tag::kXmp},
      {"iframe", Tag::kIframe}, {"noembed", Tag::kNoembed},
      {"noframes", Tag::kNoframes}, {"plaintext", Tag::kPlaintext},
      {"noscript", Tag::kNoscript}, {"template", Tag::kTemplate}, {"svg", Tag::kSvg},
      {"math", Tag::kMath}, {"td", Tag::kCell}, {"th", Tag::kCell}, {"caption", Tag::kCell},
      {"tr", Tag::kRow}, {"tbody", Tag::kSection},
      {"thead", Tag::kSection}, {"tfoot", Tag::kSection}, {"table", Tag::kTable}, {"frameset", Tag::kFrameset},
  };
  auto it = kTags->find(lower);
  return it == kTags->end() ? Tag::kOther : it->second;
}

struct Token {
  Tag tag = Tag::kOther;
  bool end = false;
  bool self_closing = false;
  // The attributes anything here reads (raw, first occurrence wins, as the standard says).
  absl::string_view href, src, alt, action;
  bool has_href = false, has_src = false, has_alt = false, has_action = false;
};

class Reducer {
 public:
  Reducer(absl::string_view html, size_t max_tags, HtmlContent* out)
      : p_(html.data()), end_(html.data() + html.size()), budget_(max_tags), out_(out) {}

  void Run() {
    while (p_ < end_) {
      const char* q = p_;
      while (q < end_ && *q != '<' && *q != '&') ++q;
      Text(absl::string_view(p_, q - p_));
      p_ = q;
      if (p_ == end_) break;
      if (*p_ == '&') {
        scratch_.clear();
        if (DecodeReference(p_, end_, /*in_attribute=*/false, &scratch_)) {
          Text(scratch_);
        } else {
          Text("&");
          ++p_;
        }
        continue;
      }
      if (!Markup()) {
        out_->truncated = true;
        break;
      }
    }
    CloseLink();
    while (!tables_.empty()) PopTable();
    std::string& t = out_->text;
    while (!t.empty() && (t.back() == ' ' || t.back() == '\n')) t.pop_back();
  }

 private:
  bool Visible() const { return hidden_ == 0 && !in_head_; }

  static bool AllSpace(absl::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return IsSpace(c) || c == '\0'; });
  }

  // `noframes` is the content of a noframes element, the only text a frameset shows.
  void Text(absl::string_view s, bool noframes = false) {
    if (s.empty() || hidden_ > 0 || (frameset_ && !noframes)) return;
    if (in_head_) {
      // White space stays in the head; anything else starts the body.
      if (AllSpace(s)) return;
      in_head_ = false;
    }
    if (!body_content_ && !AllSpace(s)) body_content_ = true;
    AppendText(&Sink()->text, s);
    if (link_open_) AppendText(&anchor_, s);
  }

  // Where content goes now: the document, or, inside a table but outside its cells, the
  // "foster parent" place before that table, where HTML5 tree construction moves it.
  HtmlContent* Sink() {
    return !tables_.empty() && !tables_.back().cell_open ? &tables_.back().foster : out_;
  }

  void CloseLink() {
    if (!link_open_) return;
    HtmlContent* sink = link_table_ > 0 && link_table_ == tables_.size() && link_fostered_
                            ? &tables_.back().foster
                            : out_;
    sink->links.push_back({std::move(href_), std::string(absl::StripAsciiWhitespace(anchor_))});
    link_open_ = false;
    href_.clear();
    anchor_.clear();
  }

  struct Table {
    size_t text_start, links_start, images_start, forms_start;  // where its content begins
    bool cell_open = false;  // inside td, th or caption
    HtmlContent foster;      // content found outside its cells, to go before it
  };

  void PushTable() {
    if (!tables_.empty() && !tables_.back().cell_open) PopTable();  // <table> in a table ends it
    if (tables_.size() >= kMaxTables) {
      // Deeper tables are taken as cells of the last one: no more foster places.
      tables_.back().cell_open = true;
      ++untracked_tables_;
      return;
    }
    Newline(&out_->text);
    tables_.push_back({out_->text.size(), out_->links.size(), out_->images.size(),
                       out_->forms.size(), false, {}});
  }

  void PopTable() {
    if (untracked_tables_ > 0) {
      --untracked_tables_;
      return;
    }
    if (link_open_ && link_table_ == tables_.size()) CloseLink();
    Table t = std::move(tables_.back());
    tables_.pop_back();
    HtmlContent& f = t.foster;
    while (!f.text.empty() && (f.text.back() == ' ' || f.text.back() == '\n')) f.text.pop_back();
    if (!f.text.empty()) {
      if (t.text_start < out_->text.size() && out_->text[t.text_start] != '\n') f.text.push_back('\n');
      out_->text.insert(t.text_start, f.text);
    }
    auto splice = [](auto* into, size_t at, auto& from) {
      into->insert(into->begin() + static_cast<std::ptrdiff_t>(at), std::make_move_iterator(from.begin()),
                   std::make_move_iterator(from.end()));
    };
    splice(&out_->links, t.links_start, f.links);
    splice(&out_->images, t.images_start, f.images);
    splice(&out_->forms, t.forms_start, f.forms);
    Newline(&out_->text);
  }

  // At '<'. Returns false when the tag limit is reached.
  bool Markup() {
    const char* s = p_ + 1;
    if (s == end_) {
      Text("<");
      p_ = end_;
      return true;
    }
    if (IsAlpha(*s)) return TagToken(s, /*end_tag=*/false);
    if (*s == '/') {
      ++s;
      if (s < end_ && IsAlpha(*s)) return TagToken(s, /*end_tag=*/true);
      if (s < end_ && *s == '>') {
        p_ = s + 1;  // "</>" is dropped
      } else if (s == end_) {
        Text("</");
        p_ = end_;
      } else {
        SkipPast(s, '>');  // a bogus comment
      }
      return true;
    }
    if (*s == '!') {
      ++s;
      if (end_ - s >= 2 && s[0] == '-' && s[1] == '-') {
        Comment(s + 2);
      } else if (foreign_ > 0 && end_ - s >= 7 && std::memcmp(s, "[CDATA[", 7) == 0) {
        const char* body = s + 7;
        absl::string_view rest(body, end_ - body);
        size_t close = rest.find("]]>");
        Text(rest.substr(0, close));
        p_ = close == absl::string_view::npos ? end_ : body + close + 3;
      } else {
        SkipPast(s, '>');  // DOCTYPE, or a bogus comment
      }
      return true;
    }
    if (*s == '?') {
      SkipPast(s, '>');
      return true;
    }
    Text("<");
    p_ = s;
    return true;
  }

  void SkipPast(const char* s, char c) {
    const void* hit = std::memchr(s, c, end_ - s);
    p_ = hit == nullptr ? end_ : static_cast<const char*>(hit) + 1;
  }

  // After "<!--": to "-->" (or "--!>"); "<!-->" and "<!--->" are empty comments.
  void Comment(const char* s) {
    if (s < end_ && *s == '>') {
      p_ = s + 1;
      return;
    }
    if (end_ - s >= 2 && s[0] == '-' && s[1] == '>') {
      p_ = s + 2;
      return;
    }
    absl::string_view rest(s, end_ - s);
    for (size_t at = 0;;) {
      size_t dash = rest.find("--", at);
      if (dash == absl::string_view::npos) {
        p_ = end_;
        return;
      }
      const char* d = s + dash + 2;
      if (d < end_ && *d == '>') {
        p_ = d + 1;
        return;
      }
      if (end_ - d >= 2 && d[0] == '!' && d[1] == '>') {
        p_ = d + 2;
        return;
      }
      at = dash + 1;
    }
  }

  // s is at the tag name's first letter. A tag cut off by the end of the input is dropped,
  // as the standard says.
  bool TagToken(const char* s, bool end_tag) {
    if (budget_ == 0) return false;
    --budget_;
    Token tok;
    tok.end = end_tag;
    char name[16];
    size_t len = 0;
    bool long_name = false;
    for (; s < end_ && !IsSpace(*s) && *s != '/' && *s != '>'; ++s) {
      if (len < sizeof(name)) {
        name[len++] = absl::ascii_tolower(static_cast<unsigned char>(*s));
      } else {
        long_name = true;
      }
    }
    if (!long_name) tok.tag = Classify(absl::string_view(name, len));
    s = Attributes(s, &tok);
    if (s == nullptr) {
      p_ = end_;
      return true;
    }
    p_ = s;
    if (end_tag) {
      EndTag(tok);
    } else {
      StartTag(tok);
    }
    return true;
  }

  // Reads attributes to the tag's '>'; returns the position after it, or nullptr at the end.
  const char* Attributes(const char* s, Token* tok) {
    for (;;) {
      while (s < end_ && (IsSpace(*s) || *s == '/')) {
        if (*s == '/' && s + 1 < end_ && s[1] == '>') tok->self_closing = true;
        ++s;
      }
      if (s == end_) return nullptr;
      if (*s == '>') return s + 1;
      const char* name = s++;  // a leading '=' belongs to the name
      while (s < end_ && !IsSpace(*s) && *s != '/' && *s != '>' && *s != '=') ++s;
      absl::string_view attr(name, s - name);
      while (s < end_ && IsSpace(*s)) ++s;
      absl::string_view value;
      if (s < end_ && *s == '=') {
        ++s;
        while (s < end_ && IsSpace(*s)) ++s;
        if (s == end_) return nullptr;
        if (*s == '"' || *s == '\'') {
          const void* close = std::memchr(s + 1, *s, end_ - s - 1);
          if (close == nullptr) return nullptr;
          value = absl::string_view(s + 1, static_cast<const char*>(close) - s - 1);
          s = static_cast<const char*>(close) + 1;
        } else {
          const char* v = s;
          while (s < end_ && !IsSpace(*s) && *s != '>') ++s;
          value = absl::string_view(v, s - v);
        }
      }
      Keep(attr, value, tok);
    }
  }

  static void Keep(absl::string_view attr, absl::string_view value, Token* tok) {
    auto take = [&](const char* want, absl::string_view* slot, bool* has) {
      if (!*has && absl::EqualsIgnoreCase(attr, want)) {
        *slot = value;
        *has = true;
      }
    };
    switch (tok->tag) {
      case Tag::kA: take("href", &tok->href, &tok->has_href); break;
      case Tag::kImg:
        take("src", &tok->src, &tok->has_src);
        take("alt", &tok->alt, &tok->has_alt);
        break;
      case Tag::kForm: take("action", &tok->action, &tok->has_action); break;
      default: break;
    }
  }

  void StartTag(const Token& tok) {
    if (in_head_) {
      switch (tok.tag) {
        case Tag::kHtml: case Tag::kHead: case Tag::kHeadOnly: case Tag::kTitle:
        case Tag::kNoscript: case Tag::kNoframes: case Tag::kStyle: case Tag::kScript:
        case Tag::kTemplate:
          break;
        default:
          in_head_ = false;  // anything else starts the body
      }
    }
    const bool visible = Visible();
    switch (tok.tag) {
      case Tag::kScript: case Tag::kStyle:
        RawText(tok.tag, /*keep=*/false, /*decode=*/false);
        return;
      case Tag::kTitle: case Tag::kTextarea:
        if (visible && tok.tag == Tag::kTitle) Newline(&Sink()->text);
        RawText(tok.tag, visible, /*decode=*/true);
        return;
      case Tag::kXmp: case Tag::kIframe: case Tag::kNoembed: case Tag::kNoframes:
        RawText(tok.tag, visible || (frameset_ && tok.tag == Tag::kNoframes && hidden_ == 0),
                /*decode=*/false);
        return;
      case Tag::kFrameset:
        if (!body_content_) frameset_ = true;  // a frameset replaces a body not yet begun
        return;
      case Tag::kPlaintext:
        if (visible) Text(absl::string_view(p_, end_ - p_));
        p_ = end_;
        return;
      case Tag::kNoscript: case Tag::kTemplate:
        ++hidden_;
        return;
      case Tag::kSvg: case Tag::kMath:
        if (!tok.self_closing) ++foreign_;
        return;
      default:
        break;
    }
    if (!visible || frameset_) return;
    if (tok.tag != Tag::kHtml && tok.tag != Tag::kBody) body_content_ = true;
    switch (tok.tag) {
      case Tag::kA:
        CloseLink();  // an <a> inside a link ends it
        if (tok.has_href) {
          link_open_ = true;
          link_table_ = tables_.size();
          link_fostered_ = Sink() != out_;
          href_ = DecodeAttribute(tok.href);
        }
        break;
      case Tag::kImg:
        if (tok.has_src) Sink()->images.push_back(DecodeAttribute(tok.src));
        if (tok.has_alt && link_open_) AppendText(&anchor_, DecodeAttribute(tok.alt));
        break;
      case Tag::kForm:
        out_->forms.push_back(tok.has_action ? DecodeAttribute(tok.action) : std::string());
        break;
      case Tag::kBlock: case Tag::kBr: case Tag::kBody:
        Newline(&Sink()->text);
        break;
      case Tag::kCell:
        if (tables_.empty()) break;  // a stray cell outside a table is ignored
        CellBoundary();
        Newline(&out_->text);
        tables_.back().cell_open = true;
        break;
      case Tag::kRow: case Tag::kSection:
        if (tables_.empty()) break;
        CellBoundary();
        Newline(&out_->text);
        break;
      case Tag::kTable:
        if (link_open_ && link_table_ == tables_.size() && !tables_.empty()) CloseLink();
        PushTable();
        break;
      default:
        break;
    }
  }

  void EndTag(const Token& tok) {
    if (in_head_) {
      // </body>, </html> and </br> end the head; other end tags there are ignored.
      if (tok.tag != Tag::kBody && tok.tag != Tag::kHtml && tok.tag != Tag::kBr) return;
      in_head_ = false;
    }
    switch (tok.tag) {
      case Tag::kNoscript: case Tag::kTemplate:
        if (hidden_ > 0) --hidden_;
        return;
      case Tag::kSvg: case Tag::kMath:
        if (foreign_ > 0) --foreign_;
        return;
      default:
        break;
    }
    if (!Visible() || frameset_) return;
    switch (tok.tag) {
      case Tag::kA:
        CloseLink();
        break;
      case Tag::kBlock: case Tag::kBr: case Tag::kTitle:
        Newline(&Sink()->text);
        break;
      case Tag::kCell: case Tag::kRow: case Tag::kSection:
        if (tables_.empty()) break;
        CellBoundary();
        break;
      case Tag::kTable:
        if (tables_.empty()) break;  // a stray </table> is ignored
        CellBoundary();
        PopTable();
        break;
      default:
        break;
    }
  }

  // The end of a table cell (or the start of the next) ends a link opened inside it or
  // in the table's foster place.
  void CellBoundary() {
    if (link_open_ && link_table_ == tables_.size()) CloseLink();
    if (tables_.back().cell_open) Newline(&out_->text);
    tables_.back().cell_open = false;
  }

  // The content of script, style, title, textarea, xmp, iframe, noembed and noframes runs
  // to the matching end tag; only title and textarea decode references.
  void RawText(Tag tag, bool keep, bool decode) {
    const char* close = FindEndTag(tag);
    absl::string_view content(p_, (close == nullptr ? end_ : close) - p_);
    if (keep) {
      if (decode) {
        Text(Decode(content, /*in_attribute=*/false));
      } else {
        Text(content, /*noframes=*/tag == Tag::kNoframes);
      }
    }
    if (close == nullptr) {
      p_ = end_;
      return;
    }
    const char* s = close + 2;
    while (s < end_ && IsAlpha(*s)) ++s;
    Token tok;
    tok.end = true;
    tok.tag = tag;
    s = Attributes(s, &tok);
    p_ = s == nullptr ? end_ : s;
    if (s != nullptr && keep) EndTag(tok);
  }

  // The "</name" that ends the raw text of `tag`: followed by white space, '/' or '>'.
  const char* FindEndTag(Tag tag) {
    absl::string_view name;
    switch (tag) {
      case Tag::kScript: name = "script"; break;
      case Tag::kStyle: name = "style"; break;
      case Tag::kTitle: name = "title"; break;
      case Tag::kTextarea: name = "textarea"; break;
      case Tag::kXmp: name = "xmp"; break;
      case Tag::kIframe: name = "iframe"; break;
      case Tag::kNoembed: name = "noembed"; break;
      default: name = "noframes"; break;
    }
    const char* s = p_;
    while (s < end_) {
      const void* lt = std::memchr(s, '<', end_ - s);
      if (lt == nullptr) return nullptr;
      s = static_cast<const char*>(lt);
      if (s + 1 < end_ && s[1] == '/') {
        const char* n = s + 2;
        const char* e = n;
        while (e < end_ && IsAlpha(*e)) ++e;
        absl::string_view got(n, e - n);
        if (absl::EqualsIgnoreCase(got, name) && e < end_ && (IsSpace(*e) || *e == '/' || *e == '>')) return s;
      }
      ++s;
    }
    return nullptr;
  }

  const char* p_;
  const char* end_;
  size_t budget_;
  HtmlContent* out_;
  bool in_head_ = true;  // nothing of the body seen yet
  int hidden_ = 0;       // open noscript and template elements
  int foreign_ = 0;      // open svg and math elements
  bool frameset_ = false;      // a frameset document: only noframes text shows
  bool body_content_ = false;  // an element of the body has been seen
  static constexpr size_t kMaxTables = 64;
  std::vector<Table> tables_;  // the open tables, outermost first
  size_t untracked_tables_ = 0;
  bool link_open_ = false;
  size_t link_table_ = 0;       // tables_.size() when the link opened
  bool link_fostered_ = false;  // it opened in a table's foster place
  std::string href_;
  std::string anchor_;
  std::string scratch_;
};

}  // namespace

HtmlContent HtmlToText(absl::string_view html, size_t max_nodes) {
  HtmlContent out;
  // Invalid bytes read as U+FFFD, as a browser's decoder reads them.
  std::string valid;
  if (!IsValidUtf8(html)) {
    valid = SanitizeUtf8(html);
    html = valid;
  }
  Reducer(html, max_nodes, &out).Run();
  return out;
}

}  // namespace farside::mime
