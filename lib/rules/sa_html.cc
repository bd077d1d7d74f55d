// SpamAssassin's HTML statistics over a tokenizer shaped like HTML::Parser's: start and end
// tags, comments, declarations and text, with script and style content taken as text to
// their end tags. Facts from SpamAssassin 4.0's HTML.pm: which tag names count as
// elements, which tags break words, when a tag counts as obfuscation.
#include "lib/rules/sa_html.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "lib/rules/regex.h"

namespace farside::rules {
namespace {

// HTML 4 strict and loose elements, and the non-standard ones SpamAssassin accepts.
const std::set<std::string, std::less<>>& Elements() {
  static const auto* const kSet = new std::set<std::string, std::less<>>{
      "a", "abbr", "acronym", "address", "area", "b", "base", "bdo", "big", "blockquote", "body",
      "br", "button", "caption", "cite", "code", "col", "colgroup", "dd", "del", "dfn", "div",
      "dl", "dt", "em", "fieldset", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr",
      "html", "i", "img", "input", "ins", "kbd", "label", "legend", "li", "link", "map", "meta",
      "noscript", "object", "ol", "optgroup", "option", "p", "param", "pre", "q", "samp",
      "script", "select", "small", "span", "strong", "style", "sub", "sup", "table", "tbody",
      "td", "textarea", "tfoot", "th", "thead", "title", "tr", "tt", "ul", "var", "applet",
      "basefont", "center", "dir", "font", "frame", "frameset", "iframe", "isindex", "menu",
      "noframes", "s", "strike", "u", "nobr", "x-sigsep", "x-tab"};
  return *kSet;
}
// Rendered though not valid.
bool Trick(absl::string_view t) {
  return t == "bgsound" || t == "embed" || t == "listing" || t == "plaintext" || t == "xmp";
}
// Tags that put white space into the rendered text (start and end tags alike).
bool Whitespace(absl::string_view t) {
  static const auto* const kSet = new std::set<std::string, std::less<>>{
      "br", "div", "li", "th", "td", "dt", "dd", "p", "hr", "blockquote", "pre", "embed",
      "listing", "plaintext", "xmp", "title", "h1", "h2", "h3", "h4", "h5", "h6"};
  return kSet->count(t) > 0;
}
// Office's namespaced tags (o:p, st1:place) count as elements.
bool Namespaced(absl::string_view t) {
  size_t colon = t.find(':');
  if (colon == absl::string_view::npos || colon + 1 == t.size()) return false;
  absl::string_view ns = t.substr(0, colon);
  if (ns != "o" && !(ns.size() >= 3 && ns.substr(0, 2) == "st" &&
                     std::all_of(ns.begin() + 2, ns.end(), [](char c) { return absl::ascii_isdigit(c); }))) {
    return false;
  }
  absl::string_view rest = t.substr(colon + 1);
  if (absl::EndsWith(rest, "/")) rest.remove_suffix(1);
  return !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
// Not white space and not ASCII punctuation (bytes past ASCII count as letters).
bool WordByte(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  if (IsSpace(c)) return false;
  return !((u >= 0x21 && u <= 0x2f) || (u >= 0x3a && u <= 0x40) || (u >= 0x5b && u <= 0x60) ||
           (u >= 0x7b && u <= 0x7e));
}

// "1", "80%": the pixels of an img dimension (percentages of an 800x600 screen); 0 for
// anything else.
double Dimension(absl::string_view v, double percent_of) {
  size_t digits = 0;
  while (digits < v.size() && absl::ascii_isdigit(static_cast<unsigned char>(v[digits]))) ++digits;
  if (digits == 0 || digits > 9) return 0;
  double n = 0;
  for (size_t i = 0; i < digits; ++i) n = n * 10 + (v[i] - '0');
  absl::string_view rest = v.substr(digits);
  if (rest.empty()) return n;
  if (rest == "%") return n * percent_of;
  return 0;
}

class Scanner {
 public:
  Scanner(absl::string_view html, size_t max_tags, SaHtmlStats* out)
      : p_(html.data()), end_(html.data() + html.size()), budget_(max_tags), st_(out) {}

  void Run() {
    while (p_ < end_) {
      const void* lt = std::memchr(p_, '<', end_ - p_);
      const char* q = lt == nullptr ? end_ : static_cast<const char*>(lt);
      if (q > p_) Text(absl::string_view(p_, q - p_));
      p_ = q;
      if (p_ == end_) break;
      if (!Markup()) break;
    }
  }

 private:
  int Inside(absl::string_view tag) const {
    auto it = st_->inside.find(std::string(tag));
    return it == st_->inside.end() ? 0 : it->second;
  }

  void Text(absl::string_view t) {
    if (Inside("script") > 0 || Inside("style") > 0) return;
    if (Inside("a") > 0 && !st_->anchors.empty()) st_->anchors.back().append(t.data(), t.size());
    if (Inside("title") > 0 && !st_->titles.empty()) st_->titles.back().append(t.data(), t.size());
    if (any_text_ && last_ends_word_ && WordByte(t.front())) ++st_->obfuscation;
    any_text_ = true;
    // A trailing no-break space (UTF-8 C2 A0) renders as a space.
    const bool nbsp = t.size() >= 2 && t[t.size() - 2] == '\xc2' && t.back() == '\xa0';
    last_ends_word_ = !nbsp && WordByte(t.back());
  }

  // At '<'. Returns false when the tag limit is reached.
  bool Markup() {
    const char* s = p_ + 1;
    if (s < end_ && *s == '!') {
      if (end_ - s >= 3 && s[1] == '-' && s[2] == '-') {
        absl::string_view rest(s + 3, end_ - s - 3);
        size_t close = rest.find("-->");
        const char* stop = close == absl::string_view::npos ? end_ : s + 3 + close + 3;
        st_->comments.emplace_back(p_, stop - p_);
        p_ = stop;
        return true;
      }
      const void* gt = std::memchr(s, '>', end_ - s);
      const char* stop = gt == nullptr ? end_ : static_cast<const char*>(gt) + 1;
      absl::string_view all(p_, stop - p_);
      if (s + 1 < end_ && s[1] == '[') {
        // A marked section (<![CDATA[...]]>, Office's <![if !mso]>): nothing to count.
      } else if (s + 1 < end_ && absl::ascii_isalpha(static_cast<unsigned char>(s[1]))) {
        if (absl::StartsWithIgnoreCase(all, "<!doctype")) {
          ++st_->elements;
          ++st_->tags;
          st_->inside["!doctype"] = 0;
        }
      } else {
        st_->comments.emplace_back(all);  // "<!>", "<! x>": bogus comments
      }
      p_ = stop;
      return true;
    }
    if (s < end_ && *s == '?') {
      const void* gt = std::memchr(s, '>', end_ - s);
      p_ = gt == nullptr ? end_ : static_cast<const char*>(gt) + 1;
      return true;
    }
    const bool end_tag = s < end_ && *s == '/';
    if (end_tag) ++s;
    if (s == end_ || !absl::ascii_isalpha(static_cast<unsigned char>(*s))) {
      Text("<");
      ++p_;
      return true;
    }
    if (budget_ == 0) return false;
    --budget_;
    std::string name;
    while (s < end_ && !IsSpace(*s) && *s != '>' && !(*s == '/' && s + 1 < end_ && s[1] == '>')) {
      name.push_back(absl::ascii_tolower(static_cast<unsigned char>(*s++)));
    }
    // Attributes to the closing '>', quotes respected.
    std::map<std::string, std::string> attrs;
    while (s < end_ && *s != '>') {
      if (IsSpace(*s) || *s == '/') {
        ++s;
        continue;
      }
      const char* a = s;
      while (s < end_ && !IsSpace(*s) && *s != '>' && *s != '=') ++s;
      std::string attr = absl::AsciiStrToLower(absl::string_view(a, s - a));
      while (s < end_ && IsSpace(*s)) ++s;
      std::string value;
      if (s < end_ && *s == '=') {
        ++s;
        while (s < end_ && IsSpace(*s)) ++s;
        if (s < end_ && (*s == '"' || *s == '\'')) {
          const void* close = std::memchr(s + 1, *s, end_ - s - 1);
          if (close == nullptr) break;
          value.assign(s + 1, static_cast<const char*>(close));
          s = static_cast<const char*>(close) + 1;
        } else {
          const char* v = s;
          while (s < end_ && !IsSpace(*s) && *s != '>') ++s;
          value.assign(v, s);
        }
      }
      if (!attrs.count(attr)) attrs.emplace(std::move(attr), std::move(value));
    }
    if (s >= end_) {
      // No '>': HTML::Parser gives the rest as text.
      Text(absl::string_view(p_, end_ - p_));
      p_ = end_;
      return true;
    }
    p_ = s + 1;
    Tag(name, attrs, end_tag ? -1 : 1);
    if (!end_tag && (name == "script" || name == "style")) RawText(name);
    return true;
  }

  // Script and style content runs to its end tag.
  void RawText(const std::string& name) {
    const std::string close = "</" + name;
    for (const char* q = p_; q < end_; ++q) {
      q = static_cast<const char*>(std::memchr(q, '<', end_ - q));
      if (q == nullptr) break;
      if (static_cast<size_t>(end_ - q) >= close.size() &&
          absl::EqualsIgnoreCase(absl::string_view(q, close.size()), close)) {
        p_ = q;
        return;
      }
    }
    p_ = end_;
    // An unclosed script or style ends with the document, as SpamAssassin closes them.
    st_->inside[name] = 0;
  }

  void Tag(const std::string& tag, const std::map<std::string, std::string>& attrs, int num) {
    const bool ns = Namespaced(tag);
    const bool element = Elements().count(tag) > 0;
    const bool seen = st_->inside.count(tag) > 0;
    if (element || ns) {
      ++st_->elements;
      if (!seen) ++st_->elements_seen;
    }
    ++st_->tags;
    if (!seen) ++st_->tags_seen;
    int& in = st_->inside[tag];
    in += num;
    if (in < 0) {
      in = 0;
      ++st_->closed_extra;
    }
    if (ns || !(element || Trick(tag))) return;
    if (Whitespace(tag)) {
      any_text_ = true;
      last_ends_word_ = false;
    }
    if (num < 0) return;
    auto attr = [&](const char* a) -> const std::string* {
      auto it = attrs.find(a);
      return it == attrs.end() ? nullptr : &it->second;
    };
    if (tag == "font") {
      static const Regex* const kFaces = new Regex(*Regex::Compile(
          "^\\s*[\"'.]?[a-z ][a-z -]*[a-z]\\d?[\"']?(?:,\\s*[\"']?[a-z][a-z -]*[a-z]\\d?[\"']?)*;?$", "i"));
      if (const std::string* face = attr("face"); face != nullptr && !kFaces->Find(*face, 10000)) {
        st_->font_face_bad = true;
      }
    }
    if (tag == "img") {
      if (Inside("a") > 0 && !st_->anchors.empty()) st_->anchors.back() += "<img>\n";
      const std::string* w = attr("width");
      const std::string* h = attr("height");
      if (w != nullptr && h != nullptr) {
        double width = Dimension(*w, 8), height = Dimension(*h, 6);
        if (width <= 0) width = 200;  // a guess, as SpamAssassin's
        if (height <= 0) height = 200;
        st_->image_area += width * height;
      }
    } else if (tag == "form") {
      const std::string* action = attr("action");
      if (action != nullptr && absl::StrContains(absl::AsciiStrToLower(*action), "mailto:")) st_->form_action_mailto = true;
    } else if (tag == "object" || tag == "embed") {
      st_->embeds = true;
    } else if (tag == "a") {
      st_->anchors.emplace_back();
    } else if (tag == "title") {
      st_->titles.emplace_back();
    }
  }

  const char* p_;
  const char* end_;
  size_t budget_;
  SaHtmlStats* st_;
  bool any_text_ = false;        // some text (or white space a tag renders) came before
  bool last_ends_word_ = false;  // ... and it ended inside a word
};

}  // namespace

std::optional<double> SaHtmlStats::Value(absl::string_view name) const {
  if (name == "length") return static_cast<double>(length);
  if (name == "image_area") return image_area;
  if (tags == 0) return std::nullopt;
  if (name == "closed_extra_ratio") return static_cast<double>(closed_extra) / tags;
  if (name == "bad_tag_ratio") return static_cast<double>(tags - elements) / tags;
  if (name == "obfuscation_ratio") return static_cast<double>(obfuscation) / tags;
  if (name == "non_element_ratio") {
    if (tags_seen == 0) return std::nullopt;
    return static_cast<double>(tags_seen - elements_seen) / tags_seen;
  }
  return std::nullopt;
}

const std::vector<std::string>* SaHtmlStats::Texts(absl::string_view name) const {
  if (name == "comment") return &comments;
  if (name == "title") return &titles;
  if (name == "anchor") return &anchors;
  return nullptr;
}

SaHtmlStats SaHtml(absl::string_view html, size_t max_tags) {
  SaHtmlStats st;
  st.length = html.size();
  Scanner(html, max_tags, &st).Run();
  return st;
}

}  // namespace farside::rules
