// Fuzzes the milter session with whatever an MTA (or an attacker on its port) might send:
// frames are fed in random splits, and every complete message gets a verdict with edits.
#include <cstddef>
#include <cstdint>
#include <string>

#include "lib/milter/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using farside::milter::Session;
  farside::milter::SessionLimits limits;
  limits.max_frame_bytes = 1 << 16;
  limits.max_message_bytes = 1 << 16;
  limits.max_recipients = 8;
  Session s(limits);
  // The first byte picks the split size; a valid negotiation often comes first so the
  // fuzzer reaches the later states.
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 64;
  ++data;
  --size;
  if (size > 0 && data[0] & 1) {
    s.Feed(farside::milter::EncodeOptionNegotiation(6, 0x1ff, data[0] & 2 ? 0x1fffff : 0));
  }
  std::string out;
  farside::milter::Verdict v;
  v.edits = {{farside::milter::HeaderEdit::kDelete, "Subject", "", 0},
             {farside::milter::HeaderEdit::kAdd, "X-Spam-Score", "1", 0}};
  for (size_t off = 0; off < size; off += step) {
    s.Feed(std::string(reinterpret_cast<const char*>(data + off), std::min(step, size - off)));
    while (true) {
      auto ev = s.Next(&out);
      if (!ev.ok() || *ev == Session::Event::kClosed) return 0;
      if (*ev == Session::Event::kNeedMore) break;
      out += s.Finish(v);
    }
    if (out.size() > (1 << 20)) out.clear();
  }
  return 0;
}
