// libFuzzer target for the SpamAssassin .cf importer: any text imports (or skips rules
// with reasons) without crashing, and what it imports compiles into a rule set.
#include <cstddef>
#include <cstdint>
#include <string>

#include "lib/rules/sa_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  farside::rules::SaImport imp = farside::rules::ImportSpamAssassin({{"fuzz.cf", text}}, 10000);
  auto set = farside::rules::RuleSet::FromRuleFiles({{"fuzz", imp.rules, true}}, 10000, nullptr,
                                                        farside::rules::LoadOptions{.prefilter = false, .cache_dir = ""});
  return set.ok() || !set.ok() ? 0 : 0;
}
