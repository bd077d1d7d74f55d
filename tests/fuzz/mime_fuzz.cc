// libFuzzer target for the message parser: any bytes must parse, render, give Bayes tokens
// (each once, no more than the budget) and never crash, leak or hang. Run with files as
// arguments it replays them once each (the corpus check).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <unordered_set>

#include "lib/bayes/tokenizer.h"
#include "lib/mime/message.h"
#include "tools/farside/parse_command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  farside::mime::Message msg =
      farside::mime::Message::Parse(bytes, farside::mime::Message::DefaultLimits());
  // Rendering walks every field the parser filled in.
  std::string json = farside::cli::MessageToJson(msg);
  // A small budget as well as the default, so the cut-off is reached too.
  for (size_t budget : {size_t{3000}, size_t{40}}) {
    farside::bayes::TokenizerOptions o;
    o.max_tokens = budget;
    const std::vector<uint64_t> tokens = farside::bayes::Tokenize(msg, o);
    const std::unordered_set<uint64_t> unique(tokens.begin(), tokens.end());
    if (unique.size() != tokens.size() || tokens.size() > budget) std::abort();
  }
  return json.empty() ? -1 : 0;
}
