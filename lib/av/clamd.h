// ClamAV's clamd: the zINSTREAM codec (pure: bytes in, frames and verdicts out) and a small
// blocking client over TCP or a unix socket, bounded by a deadline at every step.
#ifndef FARSIDE_LIB_AV_CLAMD_H_
#define FARSIDE_LIB_AV_CLAMD_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace farside::av {

// "zINSTREAM\0", then each chunk as a 4-byte big-endian length and its bytes, then a zero
// length.
std::string FrameInstream(absl::string_view data, size_t chunk = 65536);

struct Verdict {
  bool infected = false;
  std::string virus;  // "Eicar-Signature" (clamd's name for it), when infected
};
// clamd's reply ("stream: OK", "stream: NAME FOUND", "... ERROR"), with or without the NUL
// that z-commands end with. A clamd error ("INSTREAM size limit exceeded") is an error.
absl::StatusOr<Verdict> ParseReply(absl::string_view reply);

class Clamd {
 public:
  // "host:port" or "unix:/path".
  static absl::StatusOr<std::unique_ptr<Clamd>> Create(const std::string& address);
  // Streams `data` and reads the verdict. Unavailable when clamd cannot be reached,
  // DeadlineExceeded when it does not finish in time.
  absl::StatusOr<Verdict> Scan(absl::string_view data, absl::Time deadline) const;
  absl::Status Ping(absl::Time deadline) const;  // zPING -> PONG
  const std::string& address() const { return address_; }

 private:
  Clamd() = default;
  absl::StatusOr<std::string> Exchange(const std::string& request, absl::Time deadline) const;
  std::string address_;
  std::string unix_path_;
  std::string host_;
  int port_ = 0;
};

}  // namespace farside::av

#endif  // FARSIDE_LIB_AV_CLAMD_H_
