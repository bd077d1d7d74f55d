// civetweb behind the admin endpoints. Only GET and HEAD are served; no files, ever.
#include "lib/telemetry/admin_server.h"

#include <civetweb.h>

#include <cstring>

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
  if (ctx_ != nullptr) mg_stop(ctx_);
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
