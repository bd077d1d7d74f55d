// Fuzzes DKIM verification and ARC validation on whole messages (signature fields are anyone's to write), with
// every key query answered by the same RSA key and a broken one in turn.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lib/arc/arc.h"
#include "lib/dkim/dkim.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  farside::dkim::Options o;
  o.now = 1700000000;
  const farside::dkim::Prepared p = farside::dkim::Prepare(in, o);
  std::vector<farside::dns::Answer> keys;
  for (size_t i = 0; i < p.key_queries.size(); ++i) {
    farside::dns::Answer a;
    a.status = farside::dns::Answer::Status::kOk;
    a.records = {i % 2 ? "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
                       : "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"};
    keys.push_back(a);
  }
  (void)farside::dkim::Verify(p, keys, o);
  (void)farside::dkim::ParseKey(in);
  const farside::arc::Prepared a = farside::arc::Prepare(in);
  (void)farside::arc::Validate(a, std::vector<farside::dns::Answer>(a.key_queries.size(), keys.empty() ? farside::dns::Answer{} : keys[0]));
  return 0;
}
