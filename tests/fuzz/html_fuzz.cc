// Fuzzes the HTML tokenizer with any bytes: it must not crash, leak or hang, and what it
// hands on (text, anchors, hrefs) must be valid UTF-8, whatever came in.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "lib/mime/charset.h"
#include "lib/mime/html.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view in(reinterpret_cast<const char*>(data), size);
  for (size_t limit : {size_t{100000}, size_t{8}}) {
    const farside::mime::HtmlContent h = farside::mime::HtmlToText(in, limit);
    bool ok = farside::mime::IsValidUtf8(h.text);
    for (const auto& l : h.links) ok = ok && farside::mime::IsValidUtf8(l.href) && farside::mime::IsValidUtf8(l.text);
    for (const auto& s : h.images) ok = ok && farside::mime::IsValidUtf8(s);
    if (!ok) std::abort();
  }
  return 0;
}
