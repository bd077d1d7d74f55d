// Fuzzes the SMTP server session (what any client on our port may send) and the reply
// reader (what a downstream server may answer), fed in random splits; decisions alternate
// between accepting and refusing so every state is reached.
#include <cstddef>
#include <cstdint>
#include <string>

#include "lib/mime/header_edit.h"
#include "lib/smtp/codec.h"
#include "lib/smtp/server_session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using farside::smtp::ServerSession;
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 128;
  ++data;
  --size;
  farside::smtp::ServerOptions o;
  o.max_size = 4096;
  o.max_command_line = 512;
  o.max_data_line = 1000;
  o.max_recipients = 4;
  o.max_errors = 50;
  o.tls_available = true;
  ServerSession s(o);
  std::string out;
  int decision = 0;
  for (size_t off = 0; off < size; off += step) {
    std::string chunk(reinterpret_cast<const char*>(data + off), std::min(step, size - off));
    s.Feed(chunk);
    // The same bytes as a downstream server's replies.
    farside::smtp::ReplyReader rr;
    farside::smtp::LineReader lr(512);
    lr.Feed(chunk);
    while (auto l = lr.Next()) (void)rr.Add(l->text);
    while (true) {
      ServerSession::Event ev = s.Next(&out);
      if (ev == ServerSession::Event::kNeedMore) break;
      if (ev == ServerSession::Event::kClose) return 0;
      if (ev == ServerSession::Event::kStartTls) {
        s.TlsStarted();
        continue;
      }
      if (ev == ServerSession::Event::kReset) continue;
      if (ev == ServerSession::Event::kMessage) {
        std::string edited = farside::mime::ApplyHeaderEdits(
            s.message(), {{farside::mime::HeaderEdit::kDelete, "Subject", "", 0},
                          {farside::mime::HeaderEdit::kChange, "To", "x\ny", 2}});
        out += farside::smtp::DotStuff(edited);
      }
      farside::smtp::Reply r;
      r.code = (decision++ % 3 == 2) ? 550 : 250;
      r.lines = {"x"};
      s.Answer(r, &out);
    }
    if (out.size() > (1 << 20)) out.clear();
  }
  return 0;
}
