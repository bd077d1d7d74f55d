// Fuzzes the DNS reply walker (what any server we query, or anyone spoofing it, may send).
#include <cstddef>
#include <cstdint>

#include "lib/dns/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)farside::dns::MinAnswerTtl(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
