// libFuzzer target for the composite expression parser: any text parses or is refused with
// an error, and evaluation never crashes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "lib/rules/expression.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<farside::rules::Expression> e = farside::rules::Expression::Parse(text);
  if (e.ok()) {
    double v = e->Evaluate([](const std::string& s) { return static_cast<double>(s.size() % 3); });
    (void)v;
  }
  return 0;
}
