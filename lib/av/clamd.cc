// zINSTREAM framing and replies, and the socket exchange with clamd.
#include "lib/av/clamd.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace farside::av {
namespace {

void PutLength(std::string* out, uint32_t n) {
  const uint32_t be = htonl(n);
  out->append(reinterpret_cast<const char*>(&be), 4);
}

int MsLeft(absl::Time deadline) {
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return ms <= 0 ? 0 : static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

// Waits for `events` on `fd` until the deadline; false on timeout or error.
bool Wait(int fd, short events, absl::Time deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = poll(&p, 1, MsLeft(deadline));
    if (n < 0 && errno == EINTR) continue;
    return n > 0;
  }
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

std::string FrameInstream(absl::string_view data, size_t chunk) {
  std::string out("zINSTREAM", 9);
  out.push_back('\0');
  out.reserve(out.size() + data.size() + (data.size() / chunk + 2) * 4);
  for (size_t i = 0; i < data.size(); i += chunk) {
    const absl::string_view c = data.substr(i, chunk);
    PutLength(&out, static_cast<uint32_t>(c.size()));
    out.append(c.data(), c.size());
  }
  PutLength(&out, 0);
  return out;
}

absl::StatusOr<Verdict> ParseReply(absl::string_view reply) {
  while (!reply.empty() && (reply.back() == '\0' || reply.back() == '\n')) reply.remove_suffix(1);
  // "stream: ..." for INSTREAM; a session would put "N: " first, which we do not use.
  absl::string_view r = reply;
  if (const size_t colon = r.find(": "); colon != absl::string_view::npos) r = r.substr(colon + 2);
  Verdict v;
  if (r == "OK") return v;
  if (absl::ConsumeSuffix(&r, " FOUND")) {
    v.infected = true;
    v.virus = std::string(r);
    return v;
  }
  if (absl::EndsWith(r, " ERROR")) return absl::InternalError(absl::StrCat("clamd: ", reply));
  return absl::InternalError(absl::StrCat("clamd: unexpected reply '", reply.substr(0, 200), "'"));
}

absl::StatusOr<std::unique_ptr<Clamd>> Clamd::Create(const std::string& address) {
  std::unique_ptr<Clamd> c(new Clamd());
  c->address_ = address;
  if (absl::StartsWith(address, "unix:")) {
    c->unix_path_ = address.substr(5);
    if (c->unix_path_.empty() || c->unix_path_.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return absl::InvalidArgumentError(absl::StrCat("clamd address '", address, "': bad socket path"));
    }
    return c;
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &c->port_) || c->port_ <= 0 ||
      c->port_ > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("clamd address '", address, "': want host:port or unix:/path"));
  }
  c->host_ = address.substr(0, colon);
  if (c->host_.size() > 2 && c->host_.front() == '[' && c->host_.back() == ']') c->host_ = c->host_.substr(1, c->host_.size() - 2);
  return c;
}

absl::StatusOr<std::string> Clamd::Exchange(const std::string& request, absl::Time deadline) const {
  Fd s;
  int rc = -1;
  if (!unix_path_.empty()) {
    s.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, unix_path_.data(), unix_path_.size());
    rc = connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_storage ss{};
    socklen_t len = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, host_.c_str(), &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      v4->sin_port = htons(static_cast<uint16_t>(port_));
      len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host_.c_str(), &v6->sin6_addr) == 1) {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(static_cast<uint16_t>(port_));
      len = sizeof *v6;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("clamd host '", host_, "' is not an IP address"));
    }
    s.fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    rc = connect(s.fd, reinterpret_cast<sockaddr*>(&ss), len);
  }
  if (s.fd < 0) return absl::InternalError(absl::StrCat("clamd: socket: ", strerror(errno)));
  if (rc != 0 && errno != EINPROGRESS) {
    return absl::UnavailableError(absl::StrCat("clamd at ", address_, ": ", strerror(errno)));
  }
  if (rc != 0) {
    if (!Wait(s.fd, POLLOUT, deadline)) return absl::DeadlineExceededError(absl::StrCat("clamd at ", address_, ": connect timed out"));
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) return absl::UnavailableError(absl::StrCat("clamd at ", address_, ": ", strerror(err)));
  }
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(s.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!Wait(s.fd, POLLOUT, deadline)) return absl::DeadlineExceededError("clamd: sending timed out");
      continue;
    }
    // clamd closes early when a stream passes its StreamMaxLength; its reply says so.
    break;
  }
  std::string reply;
  char buf[4096];
  for (;;) {
    if (!reply.empty() && reply.back() == '\0') break;  // z-commands end their reply with NUL
    if (!Wait(s.fd, POLLIN, deadline)) return absl::DeadlineExceededError("clamd: no verdict in time");
    const ssize_t n = recv(s.fd, buf, sizeof buf, 0);
    if (n > 0) {
      reply.append(buf, static_cast<size_t>(n));
      if (reply.size() > 65536) return absl::InternalError("clamd: reply too long");
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    break;  // closed
  }
  if (reply.empty()) return absl::UnavailableError(absl::StrCat("clamd at ", address_, " closed without a reply"));
  return reply;
}

absl::StatusOr<Verdict> Clamd::Scan(absl::string_view data, absl::Time deadline) const {
  absl::StatusOr<std::string> r = Exchange(FrameInstream(data), deadline);
  if (!r.ok()) return r.status();
  return ParseReply(*r);
}

absl::Status Clamd::Ping(absl::Time deadline) const {
  absl::StatusOr<std::string> r = Exchange(std::string("zPING\0", 6), deadline);
  if (!r.ok()) return r.status();
  std::string s = *r;
  while (!s.empty() && (s.back() == '\0' || s.back() == '\n')) s.pop_back();
  if (s != "PONG") return absl::InternalError(absl::StrCat("clamd: PING answered '", s, "'"));
  return absl::OkStatus();
}

}  // namespace farside::av
