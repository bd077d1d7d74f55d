// Fuzzes the SPF evaluator with records anyone may publish: each input line is a TXT record,
// answered for names by their length, so includes and redirects reach other lines.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "lib/spf/spf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using farside::dns::Answer;
  const std::string in(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> lines = absl::StrSplit(in, '\n');
  farside::spf::LookupFn lookup = [&](const std::vector<farside::dns::Query>& qs) {
    std::vector<Answer> out;
    for (const auto& q : qs) {
      Answer a;
      a.status = Answer::Status::kOk;
      switch (q.type) {
        case farside::dns::Type::kTxt: a.records.push_back(lines[q.name.size() % lines.size()]); break;
        case farside::dns::Type::kA: a.records.push_back("192.0.2.1"); break;
        case farside::dns::Type::kAaaa: a.records.push_back("2001:db8::1"); break;
        case farside::dns::Type::kMx: a.records.push_back("mx." + q.name); break;
        case farside::dns::Type::kPtr: a.records.push_back("host.example.com"); break;
      }
      out.push_back(std::move(a));
    }
    return out;
  };
  for (const char* ip : {"192.0.2.1", "2001:db8::1"}) {
    farside::spf::Request r;
    r.ip = ip;
    r.mail_from = "user@example.com";
    r.helo = "mail.example.com";
    r.now = 1;
    (void)farside::spf::Check(r, lookup);
  }
  return 0;
}
