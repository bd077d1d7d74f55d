// civetweb behind the admin endpoints. Only GET and HEAD are served; no files, ever.
#include "lib/telemetry/admin_server.h"

#include <civetweb.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "prometheus/text_serializer.h"

namespace farside::telemetry {
namespace {

int Reply(mg_connection* conn, int code, absl::string_view content_type, absl::string_view body) {
  const mg_request_info* req = mg_get_request_info(conn);
  bool head = req != nullptr && std::strcmp(req->request_method, "HEAD") == 0;
  const char* reason = code == 200 ? "OK" : code == 503 ? "Service Unavailable"
                                                          : "Method Not Allowed";
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            code, reason, static_cast<int>(content_type.size()), content_type.data(),
            body.size());
  if (!head) mg_write(conn, body.data(), body.size());
  return code;
}

bool MethodOk(mg_connection* conn) {
  const mg_request_info* req = mg_get_request_info(conn);
  return req != nullptr &&
         (std::strcmp(req->request_method, "GET") == 0 ||
          std::strcmp(req->request_method, "HEAD") == 0);
}

// Connects to (and at once closes) the listening socket; a wildcard address is reached
// through loopback.
void WakeListener(const HostPort& listen) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  std::string host = listen.host;
  if (host.find(':') != std::string::npos) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(listen.port);
    if (host == "::" || inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) != 1) {
      a6->sin6_addr = in6addr_loopback;
    }
    len = sizeof(*a6);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(listen.port);
    if (host == "0.0.0.0" || inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1) {
      a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    len = sizeof(*a4);
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return;
  (void)connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  close(fd);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(Options options) {
  std::unique_ptr<AdminServer> server(new AdminServer(std::move(options)));
  std::string ports = server->options_.listen.ToString();
  std::string threads = std::to_string(server->options_.threads);
  const char* cfg[] = {"listening_ports", ports.c_str(), "num_threads", threads.c_str(),
                       "request_timeout_ms", "10000", "enable_keep_alive", "no",
                       nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  // civetweb's own log lines would go to stderr unstructured; errors reach us via mg_start2.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  mg_init_data init{&callbacks, server.get(), cfg};
  char err_text[256] = {0};
  unsigned err_code = 0;
  mg_error_data err{&err_code, err_text, sizeof(err_text)};
  server->ctx_ = mg_start2(&init, &err);
  if (server->ctx_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve HTTP on ", ports, ": ", err_text[0] ? err_text : "failed"));
  }
  mg_set_request_handler(server->ctx_, "/metrics$", &AdminServer::HandleMetrics, server.get());
  mg_set_request_handler(server->ctx_, "/healthz$", &AdminServer::HandleHealthz, server.get());
  mg_set_request_handler(server->ctx_, "/readyz$", &AdminServer::HandleReadyz, server.get());
  return server;
}

AdminServer::~AdminServer() {
  if (ctx_ == nullptr) return;
  // mg_stop waits until civetweb's accept loop next wakes from poll (up to two seconds);
  // a connection to our own port wakes it at once, so a SIGTERM'd pod exits promptly.
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    mg_stop(ctx_);
    stopped.store(true);
  });
  while (!stopped.load()) {
    WakeListener(options_.listen);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stopper.join();
}

void AdminServer::SetDraining() { draining_.store(true); }

int AdminServer::HandleMetrics(mg_connection* conn, void* self) {
  if (!MethodOk(conn)) return Reply(conn, 405, "text/plain", "GET only\n");
  auto* s = static_cast<AdminServer*>(self);
  std::string body = prometheus::TextSerializer().Serialize(s->options_.registry->Collect());
  return Reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8", body);
}

int AdminServer::HandleHealthz(mg_connection* conn, void* self) {
  if (!MethodOk(conn)) return Reply(conn, 405, "text/plain", "GET only\n");
  auto* s = static_cast<AdminServer*>(self);
  if (s->draining_.load()) return Reply(conn, 503, "text/plain", "draining\n");
  return Reply(conn, 200, "text/plain", "ok\n");
}

int AdminServer::HandleReadyz(mg_connection* conn, void* self) {
  if (!MethodOk(conn)) return Reply(conn, 405, "text/plain", "GET only\n");
  auto* s = static_cast<AdminServer*>(self);
  if (s->draining_.load()) return Reply(conn, 503, "text/plain", "not ready: draining\n");
  absl::Status st = s->options_.ready ? s->options_.ready() : absl::OkStatus();
  if (!st.ok()) {
    return Reply(conn, 503, "text/plain", absl::StrCat("not ready: ", st.message(), "\n"));
  }
  return Reply(conn, 200, "text/plain", "ready\n");
}

}  // namespace farside::telemetry
