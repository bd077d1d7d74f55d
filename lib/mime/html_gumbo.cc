// HtmlToTextGumbo: the same reduction from gumbo's full HTML5 tree construction, kept as the
// reference the tokenizer is checked against (tests, bench/html_diff).
#include "lib/mime/html.h"

#include <gumbo.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace farside::mime {
namespace {

bool IsBlock(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_BR: case GUMBO_TAG_TR:
    case GUMBO_TAG_LI: case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3:
    case GUMBO_TAG_H4: case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_TABLE:
    case GUMBO_TAG_UL: case GUMBO_TAG_OL: case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_PRE:
    case GUMBO_TAG_HR: case GUMBO_TAG_TITLE: case GUMBO_TAG_BODY: case GUMBO_TAG_TD:
    case GUMBO_TAG_TH:
      return true;
    default:
      return false;
  }
}

bool IsInvisible(GumboTag t) {
  return t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE || t == GUMBO_TAG_HEAD ||
         t == GUMBO_TAG_NOSCRIPT || t == GUMBO_TAG_TEMPLATE;
}

const char* Attr(const GumboElement& e, const char* name) {
  const GumboAttribute* a = gumbo_get_attribute(&e.attributes, name);
  return a == nullptr ? nullptr : a->value;
}

// Appends text, collapsing runs of white space the way rendering does.
void AppendText(std::string* out, absl::string_view s) {
  for (char c : s) {
    bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
    if (space) {
      if (!out->empty() && out->back() != ' ' && out->back() != '\n') out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
}

void Newline(std::string* out) {
  while (!out->empty() && out->back() == ' ') out->pop_back();
  if (!out->empty() && out->back() != '\n') out->push_back('\n');
}

struct Walker {
  HtmlContent* out;
  size_t budget;

  void Walk(const GumboNode* node, std::string* anchor) {
    if (budget == 0) {
      out->truncated = true;
      return;
    }
    --budget;
    if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA ||
        node->type == GUMBO_NODE_WHITESPACE) {
      AppendText(&out->text, node->v.text.text);
      if (anchor != nullptr) AppendText(anchor, node->v.text.text);
      return;
    }
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_DOCUMENT &&
        node->type != GUMBO_NODE_TEMPLATE) {
      return;  // comments
    }
    const GumboVector* children = node->type == GUMBO_NODE_DOCUMENT
                                      ? &node->v.document.children
                                      : &node->v.element.children;
    if (node->type == GUMBO_NODE_ELEMENT) {
      const GumboElement& e = node->v.element;
      if (IsInvisible(e.tag)) return;
      if (e.tag == GUMBO_TAG_IMG) {
        if (const char* src = Attr(e, "src")) out->images.emplace_back(src);
        if (const char* alt = Attr(e, "alt"); alt != nullptr && anchor != nullptr) {
          AppendText(anchor, alt);
        }
      } else if (e.tag == GUMBO_TAG_FORM) {
        const char* action = Attr(e, "action");
        out->forms.emplace_back(action == nullptr ? "" : action);
      }
      if (IsBlock(e.tag)) Newline(&out->text);
      if (e.tag == GUMBO_TAG_A && anchor == nullptr) {
        if (const char* href = Attr(e, "href")) {
          std::string text;
          for (unsigned i = 0; i < children->length; ++i) {
            Walk(static_cast<const GumboNode*>(children->data[i]), &text);
          }
          out->links.push_back({href, std::string(absl::StripAsciiWhitespace(text))});
          return;
        }
      }
    }
    for (unsigned i = 0; i < children->length; ++i) {
      Walk(static_cast<const GumboNode*>(children->data[i]), anchor);
    }
    if (node->type == GUMBO_NODE_ELEMENT && IsBlock(node->v.element.tag)) Newline(&out->text);
  }
};

}  // namespace

HtmlContent HtmlToTextGumbo(absl::string_view html, size_t max_nodes) {
  HtmlContent out;
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 100;  // the error list is not used; do not let it grow
  GumboOutput* doc = gumbo_parse_with_options(&options, html.data(), html.size());
  Walker w{&out, max_nodes};
  w.Walk(doc->document, nullptr);
  gumbo_destroy_output(&options, doc);
  while (!out.text.empty() && (out.text.back() == ' ' || out.text.back() == '\n')) {
    out.text.pop_back();
  }
  return out;
}

}  // namespace farside::mime
