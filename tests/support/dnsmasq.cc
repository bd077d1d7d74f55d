// dnsmasq started and stopped for a test; readiness asked over real DNS.
#include "tests/support/dnsmasq.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/time/clock.h"
#include "lib/dns/resolver.h"

namespace farside::testing {

int BindUdp(int* port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

namespace {

// A port free for both UDP and TCP on loopback (dnsmasq binds both), or 0.
int FreeDnsPort() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    int port = 0;
    const int u = BindUdp(&port);
    if (u < 0) continue;
    const int t = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(t);
    close(u);
    if (ok) return port;
  }
  return 0;
}

}  // namespace

Dnsmasq::Dnsmasq(const std::vector<std::string>& extra) {
  // Another test may take the port between our check and dnsmasq's bind: then dnsmasq exits
  // at once, and we try another port.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = FreeDnsPort();
    std::vector<std::string> args = {"dnsmasq", "-k", "--port=" + std::to_string(port_),
                                     "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                                     "--no-hosts", "--user=root", "--pid-file="};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("dnsmasq", argv.data());
      _exit(127);
    }
    absl::SleepFor(absl::Milliseconds(200));
    if (waitpid(pid_, nullptr, WNOHANG) == 0) return;  // still running: it has its port
    pid_ = -1;
  }
}

void Dnsmasq::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool Dnsmasq::WaitReady(const std::string& name) const {
  dns::Resolver::Options o;
  o.servers = {server()};
  o.query_timeout = absl::Milliseconds(100);
  o.tries = 1;
  o.negative_ttl = absl::ZeroDuration();
  auto r = dns::Resolver::Create(o);
  if (!r.ok()) return false;
  for (int i = 0; i < 50; ++i) {
    auto a = (*r)->Lookup({{name, dns::Type::kA}}, absl::Now() + absl::Milliseconds(100));
    if (a[0].status == dns::Answer::Status::kOk) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

}  // namespace farside::testing
