// libFuzzer target for the message parser: any bytes must parse, render, give Bayes tokens
// (each once, no more than the budget) and SpamAssassin's body text (no whitespace run left
// but a paragraph end's, no line over 2,049 bytes) and never crash, leak or hang. Run with files as
// arguments it replays them once each (the corpus check).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <unordered_set>

#include "lib/bayes/tokenizer.h"
#include "lib/mime/message.h"
#include "lib/rules/sa_body.h"
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
  const std::string body = farside::rules::SaBodyText(msg, 50000);
  if (body.find("  ") != std::string::npos || body.find("\t") != std::string::npos ||
      body.find("\xc2\xa0") != std::string::npos) {
    std::abort();
  }
  for (size_t at = 0, nl; at < body.size(); at = nl + 1) {
    nl = body.find('\n', at);
    if (nl == std::string::npos) nl = body.size();
    if (nl - at > 2049) std::abort();  // up to 2,048 bytes and the space it was broken after
  }
  return json.empty() ? -1 : 0;
}
