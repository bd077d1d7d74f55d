// libFuzzer target for the message parser: any bytes must parse, render and never crash,
// leak or hang. Run with files as arguments it replays them once each (the corpus check).
#include <cstddef>
#include <cstdint>
#include <string>

#include "lib/mime/message.h"
#include "tools/farside/parse_command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  farside::mime::Message msg =
      farside::mime::Message::Parse(bytes, farside::mime::Message::DefaultLimits());
  // Rendering walks every field the parser filled in.
  std::string json = farside::cli::MessageToJson(msg);
  return json.empty() ? -1 : 0;
}
