// A real dnsmasq for tests: started on a free loopback port with the records a test gives
// (--host-record, --txt-record, ...), answering only for them (--no-resolv), stopped by PID.
#ifndef FARSIDE_TESTS_SUPPORT_DNSMASQ_H_
#define FARSIDE_TESTS_SUPPORT_DNSMASQ_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace farside::testing {

// A UDP socket bound to a free loopback port; `port` says which. -1 on failure.
int BindUdp(int* port);

class Dnsmasq {
 public:
  explicit Dnsmasq(const std::vector<std::string>& extra);
  ~Dnsmasq() { Stop(); }
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  void Stop();
  int port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  // Waits (up to 5 s) until an A query for `name` is answered; false if it never is.
  bool WaitReady(const std::string& name) const;

 private:
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace farside::testing

#endif  // FARSIDE_TESTS_SUPPORT_DNSMASQ_H_
