// The SMTP front end: a before-queue proxy (Postfix's smtpd_proxy_filter contract) or a
// front MX. MAIL and RCPT go to the downstream server in step, so its answers are the
// client's; the message is scanned at the end of DATA and handed downstream only when the
// verdict lets it pass, and the client's final reply is the downstream server's.
#ifndef FARSIDE_SERVICES_PROXY_SMTP_FRONT_H_
#define FARSIDE_SERVICES_PROXY_SMTP_FRONT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lib/common/host_port.h"
#include "lib/mime/header_edit.h"
#include "lib/smtp/codec.h"
#include "services/proxy/net.h"
#include "services/proxy/verdicts.h"

namespace farside::proxy {

// One SMTP client connection to the downstream server, one command and reply at a time.
class Downstream {
 public:
  static absl::StatusOr<std::unique_ptr<Downstream>> Open(const HostPort& to,
                                                          const std::string& helo,
                                                          absl::Duration timeout);
  absl::StatusOr<smtp::Reply> Command(const std::string& line);
  // DATA, then the message (dot-stuffed here), then its final reply.
  absl::StatusOr<smtp::Reply> Data(absl::string_view message);
  bool Supports(absl::string_view extension) const;
  void Quit();

 private:
  Downstream(std::unique_ptr<Conn> conn, absl::Duration timeout)
      : conn_(std::move(conn)), timeout_(timeout), lines_(8192) {}
  absl::StatusOr<smtp::Reply> ReadReply();
  std::unique_ptr<Conn> conn_;
  absl::Duration timeout_;
  smtp::LineReader lines_;
  std::vector<std::string> extensions_;
};

// The decision's header changes in lib/mime's terms.
std::vector<mime::HeaderEdit> ToHeaderEdits(const Decision& d);

class SmtpFront {
 public:
  // `tls` may be null (no STARTTLS); not owned.
  SmtpFront(Verdicts* verdicts, SSL_CTX* tls) : verdicts_(verdicts), tls_(tls) {}
  static absl::Status Validate(const farside::v1::ProxyConfig& config);
  void Serve(Conn& conn);

 private:
  Verdicts* verdicts_;
  SSL_CTX* tls_;
};

}  // namespace farside::proxy

#endif  // FARSIDE_SERVICES_PROXY_SMTP_FRONT_H_
