// Fuzzes the HTML tokenizer with any bytes: it must not crash, leak or hang, and what it
// hands on (text, anchors, hrefs) must be valid UTF-8, whatever came in. SpamAssassin's HTML
// statistics (lib/rules/sa_html) read the same bytes; their counts must add up.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "lib/mime/charset.h"
#include "lib/mime/html.h"
#include "lib/rules/sa_html.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view in(reinterpret_cast<const char*>(data), size);
  for (size_t limit : {size_t{100000}, size_t{8}}) {
    const farside::mime::HtmlContent h = farside::mime::HtmlToText(in, limit);
    bool ok = farside::mime::IsValidUtf8(h.text);
    for (const auto& l : h.links) ok = ok && farside::mime::IsValidUtf8(l.href) && farside::mime::IsValidUtf8(l.text);
    for (const auto& s : h.images) ok = ok && farside::mime::IsValidUtf8(s);
    if (!ok) std::abort();
    const farside::rules::SaHtmlStats st = farside::rules::SaHtml(in, limit);
    ok = st.elements <= st.tags && st.closed_extra <= st.tags && st.elements_seen <= st.tags_seen &&
         st.tags_seen <= st.tags && st.length == size &&
         st.image_area >= 0;
    for (const auto& [tag, open] : st.inside) ok = ok && open >= 0;
    if (!ok) std::abort();
  }
  return 0;
}
