// Sockets for the proxy's front ends: a connection with timeouts on every read and write
// (and STARTTLS), a client connect, and a listener that runs one thread per connection up
// to a limit and drains on stop.
#ifndef FARSIDE_SERVICES_PROXY_NET_H_
#define FARSIDE_SERVICES_PROXY_NET_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/common/host_port.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace farside::proxy {

class Conn {
 public:
  explicit Conn(int fd);  // takes the fd; makes it non-blocking
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Up to `n` bytes; 0 when the peer closed. DeadlineExceeded after `timeout` with nothing.
  absl::StatusOr<size_t> Read(char* buf, size_t n, absl::Duration timeout);
  absl::Status Write(absl::string_view data, absl::Duration timeout);
  // The server side of a TLS handshake on this connection.
  absl::Status StartTls(SSL_CTX* ctx, absl::Duration timeout);
  bool tls() const { return ssl_ != nullptr; }
  std::string TlsDescription() const;  // "TLSv1.3 TLS_AES_256_GCM_SHA384"
  // Wakes a thread blocked on this connection (used when draining).
  void Shutdown();

  int fd() const { return fd_; }
  const std::string& peer_ip() const { return peer_ip_; }
  uint16_t peer_port() const { return peer_port_; }

  // Until the socket is readable (or writable).
  absl::Status Wait(bool for_write, absl::Time deadline);

 private:
  int fd_;
  SSL* ssl_ = nullptr;
  std::string peer_ip_;
  uint16_t peer_port_ = 0;
};

absl::StatusOr<std::unique_ptr<Conn>> Connect(const HostPort& to, absl::Duration timeout);

// An SSL_CTX for a server with this certificate chain and key (PEM files).
absl::StatusOr<SSL_CTX*> MakeServerTlsContext(const std::string& cert, const std::string& key);

class Listener {
 public:
  using Handler = std::function<void(Conn&)>;
  // Binds and starts accepting. `name` is for logs ("milter", "smtp").
  static absl::StatusOr<std::unique_ptr<Listener>> Start(const HostPort& at, size_t max_connections,
                                                         Handler handler, std::string name);
  ~Listener();

  int port() const { return port_; }
  size_t active() const;
  // Stops accepting, waits up to `grace` for connections to end by themselves, then cuts
  // the rest off and waits for their threads.
  void Stop(absl::Duration grace);

 private:
  Listener() = default;
  void AcceptLoop();
  void Serve(int fd);

  std::string name_;
  int fd_ = -1;
  int port_ = 0;
  size_t max_ = 0;
  Handler handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  absl::flat_hash_set<Conn*> conns_;
  size_t active_ = 0;
};

}  // namespace farside::proxy

#endif  // FARSIDE_SERVICES_PROXY_NET_H_
