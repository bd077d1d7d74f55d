// A real clamd for tests: Debian's clamav-daemon binary with a tiny signature database made
// here (EICAR's test string), on a free loopback TCP port and a unix socket, stopped by PID.
#ifndef FARSIDE_TESTS_SUPPORT_CLAMD_H_
#define FARSIDE_TESTS_SUPPORT_CLAMD_H_

#include <sys/types.h>

#include <string>

namespace farside::testing {

// The EICAR anti-virus test file (68 bytes), which every scanner reports and none should fear.
std::string EicarTestFile();

class Clamd {
 public:
  // Starts clamd under `dir` (made if missing); ready() says whether it answered PING.
  explicit Clamd(const std::string& dir);
  ~Clamd() { Stop(); }
  Clamd(const Clamd&) = delete;
  Clamd& operator=(const Clamd&) = delete;

  bool ready() const { return ready_; }
  std::string tcp() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string unix_socket() const { return "unix:" + socket_; }
  int port() const { return port_; }
  void Stop();

 private:
  int port_ = 0;
  std::string socket_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace farside::testing

#endif  // FARSIDE_TESTS_SUPPORT_CLAMD_H_
