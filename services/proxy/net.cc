// Timed non-blocking socket I/O, OpenSSL for STARTTLS, and the thread-per-connection listener.
#include "services/proxy/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "lib/common/log.h"
#include "openssl/err.h"
#include "openssl/ssl.h"

namespace farside::proxy {
namespace {

std::string Errno(absl::string_view what) { return absl::StrCat(what, ": ", std::strerror(errno)); }

std::string SslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

void PeerOf(int fd, std::string* ip, uint16_t* port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return;
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    *port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    *port = ntohs(a->sin6_port);
  }
  *ip = buf;
}

}  // namespace

Conn::Conn(int fd) : fd_(fd) {
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  PeerOf(fd_, &peer_ip_, &peer_port_);
}

Conn::~Conn() {
  if (ssl_ != nullptr) {
    SSL_shutdown(ssl_);  // best effort close_notify; never waits
    SSL_free(ssl_);
  }
  close(fd_);
}

void Conn::Shutdown() { shutdown(fd_, SHUT_RDWR); }

absl::Status Conn::Wait(bool for_write, absl::Time deadline) {
  while (true) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError("timed out");
    pollfd p{fd_, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    int ms = static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
    int r = poll(&p, 1, ms);
    if (r > 0) return absl::OkStatus();
    if (r < 0 && errno != EINTR) return absl::UnavailableError(Errno("poll"));
  }
}

absl::StatusOr<size_t> Conn::Read(char* buf, size_t n, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (ssl_ != nullptr) {
      int r = SSL_read(ssl_, buf, static_cast<int>(n));
      if (r > 0) return static_cast<size_t>(r);
      int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_ZERO_RETURN) return 0;
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        absl::Status w = Wait(e == SSL_ERROR_WANT_WRITE, deadline);
        if (!w.ok()) return w;
        continue;
      }
      if (e == SSL_ERROR_SYSCALL && errno == 0) return 0;  // peer went away without notify
      return absl::UnavailableError(SslError());
    }
    ssize_t r = ::read(fd_, buf, n);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return absl::UnavailableError(Errno("read"));
    absl::Status w = Wait(false, deadline);
    if (!w.ok()) return w;
  }
}

absl::Status Conn::Write(absl::string_view data, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!data.empty()) {
    if (ssl_ != nullptr) {
      int r = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
      if (r > 0) {
        data.remove_prefix(static_cast<size_t>(r));
        continue;
      }
      int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        absl::Status w = Wait(e == SSL_ERROR_WANT_WRITE, deadline);
        if (!w.ok()) return w;
        continue;
      }
      return absl::UnavailableError(SslError());
    }
    ssize_t r = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (r >= 0) {
      data.remove_prefix(static_cast<size_t>(r));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return absl::UnavailableError(Errno("write"));
    absl::Status w = Wait(true, deadline);
    if (!w.ok()) return w;
  }
  return absl::OkStatus();
}

absl::Status Conn::StartTls(SSL_CTX* ctx, absl::Duration timeout) {
  ssl_ = SSL_new(ctx);
  if (ssl_ == nullptr) return absl::InternalError(SslError());
  SSL_set_fd(ssl_, fd_);
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int r = SSL_accept(ssl_);
    if (r == 1) return absl::OkStatus();
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      absl::Status w = Wait(e == SSL_ERROR_WANT_WRITE, deadline);
      if (!w.ok()) return w;
      continue;
    }
    return absl::UnavailableError(absl::StrCat("TLS handshake: ", SslError()));
  }
}

std::string Conn::TlsDescription() const {
  if (ssl_ == nullptr) return "";
  return absl::StrCat(SSL_get_version(ssl_), " ", SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_)));
}

absl::StatusOr<std::unique_ptr<Conn>> Connect(const HostPort& to, absl::Duration timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(to.port);
  if (int rc = getaddrinfo(to.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return absl::UnavailableError(absl::StrCat(to.ToString(), ": ", gai_strerror(rc)));
  }
  absl::Status last = absl::UnavailableError(absl::StrCat(to.ToString(), ": no address"));
  const absl::Time deadline = absl::Now() + timeout;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    auto conn = std::make_unique<Conn>(fd);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
      absl::Status w = conn->Wait(true, deadline);
      int err = 0;
      socklen_t len = sizeof err;
      if (w.ok()) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (w.ok() && err == 0) {
        freeaddrinfo(res);
        return conn;
      }
      last = absl::UnavailableError(absl::StrCat(
          "connect to ", to.ToString(), ": ", w.ok() ? std::strerror(err) : "timed out"));
    } else {
      last = absl::UnavailableError(Errno(absl::StrCat("connect to ", to.ToString())));
    }
  }
  freeaddrinfo(res);
  return last;
}

absl::StatusOr<SSL_CTX*> MakeServerTlsContext(const std::string& cert, const std::string& key) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError(SslError());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    std::string e = SslError();
    SSL_CTX_free(ctx);
    return absl::InvalidArgumentError(absl::StrCat("proxy.smtp.tls_certificate '", cert, "': ", e));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    std::string e = SslError();
    SSL_CTX_free(ctx);
    return absl::InvalidArgumentError(absl::StrCat("proxy.smtp.tls_key '", key, "': ", e));
  }
  return ctx;
}

absl::StatusOr<std::unique_ptr<Listener>> Listener::Start(const HostPort& at, size_t max_connections,
                                                          Handler handler, std::string name) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* res = nullptr;
  std::string port = std::to_string(at.port);
  if (int rc = getaddrinfo(at.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat(name, " listen ", at.ToString(), ": ", gai_strerror(rc)));
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 512) != 0) {
    std::string e = Errno(absl::StrCat(name, " listen ", at.ToString()));
    freeaddrinfo(res);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(e);
  }
  freeaddrinfo(res);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  std::unique_ptr<Listener> l(new Listener());
  l->name_ = std::move(name);
  l->fd_ = fd;
  l->port_ = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  l->max_ = max_connections == 0 ? 1 : max_connections;
  l->handler_ = std::move(handler);
  l->thread_ = std::thread([p = l.get()] { p->AcceptLoop(); });
  return l;
}

Listener::~Listener() { Stop(absl::ZeroDuration()); }

size_t Listener::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_;
}

void Listener::AcceptLoop() {
  while (!stop_.load()) {
    {
      // At the limit, leave new clients in the kernel's queue until a slot frees.
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return active_ < max_ || stop_; });
      if (active_ >= max_) continue;
    }
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++active_;
    }
    std::thread([this, c] { Serve(c); }).detach();
  }
}

void Listener::Serve(int fd) {
  {
    Conn conn(fd);
    {
      std::lock_guard<std::mutex> lock(mu_);
      conns_.insert(&conn);
    }
    handler_(conn);
    std::lock_guard<std::mutex> lock(mu_);
    conns_.erase(&conn);
  }
  std::lock_guard<std::mutex> lock(mu_);
  --active_;
  cv_.notify_all();
}

void Listener::Stop(absl::Duration grace) {
  if (!stop_.exchange(true)) {
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoNanoseconds(grace), [&] { return active_ == 0; });
  if (active_ > 0) {
    log::Warning("cutting off connections at the end of the drain",
                 {{"listener", name_}, {"connections", active_}});
    for (Conn* c : conns_) c->Shutdown();
    // Handlers see their reads fail and end; they never wait longer than one I/O timeout.
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return active_ == 0; });
  }
}

}  // namespace farside::proxy
