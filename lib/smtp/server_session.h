// The server side of an SMTP session as a state machine: greeting, EHLO and its
// extensions, command order, MAIL/RCPT/DATA with limits, STARTTLS and XFORWARD. It answers
// what it can alone and hands the rest (MAIL, RCPT, the message, STARTTLS) to the caller
// as events, whose answers it then sends. No sockets.
#ifndef FARSIDE_LIB_SMTP_SERVER_SESSION_H_
#define FARSIDE_LIB_SMTP_SERVER_SESSION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/smtp/codec.h"

namespace farside::smtp {

struct ServerOptions {
  std::string hostname = "localhost";
  uint64_t max_size = 32 << 20;     // SIZE we announce and enforce
  size_t max_command_line = 2048;
  size_t max_data_line = 65536;
  uint32_t max_recipients = 1000;
  uint32_t max_errors = 20;         // bad commands before we hang up
  bool tls_available = false;       // announce STARTTLS (until TLS is on)
  bool xforward = true;             // accept XFORWARD from the MTA in front
};

// What the client told us.
struct Envelope {
  std::string helo;
  bool esmtp = false;
  std::string mail_from;
  PathArgument mail;               // with its parameters
  std::vector<std::string> rcpt_to;  // accepted recipients
  std::vector<std::string> rcpt_lines;  // the RCPT arguments of those, as sent
  // XFORWARD attributes from a Postfix in front (smtpd_proxy_filter).
  std::string xforward_addr, xforward_name, xforward_helo, xforward_ident;
};

class ServerSession {
 public:
  enum class Event {
    kNeedMore,   // feed more bytes
    kMail,       // decide MAIL (envelope().mail): call Answer
    kRcpt,       // decide RCPT (pending_rcpt()): call Answer
    kMessage,    // the message is complete (message()): call Answer with the final reply
    kStartTls,   // "220 Ready" is in the output: write it, start TLS, call TlsStarted
    kReset,      // the transaction ended without a message (RSET, or a new EHLO)
    kClose,      // write the output and close (QUIT, too many errors)
  };

  explicit ServerSession(ServerOptions options);

  // The 220 greeting.
  std::string Greeting() const;
  void Feed(absl::string_view bytes) { lines_.Feed(bytes); }
  // Handles buffered input, appending replies to *out, until an event.
  Event Next(std::string* out);
  // The reply to the pending kMail, kRcpt or kMessage event; a 2xx (or 354) accepts.
  void Answer(const Reply& reply, std::string* out);
  void TlsStarted();

  const Envelope& envelope() const { return env_; }
  const std::string& pending_rcpt() const { return pending_rcpt_; }
  const PathArgument& pending_rcpt_path() const { return pending_path_; }
  std::string& message() { return data_.message(); }
  uint64_t message_size() const { return data_.size(); }
  bool tls() const { return tls_; }
  bool in_transaction() const { return state_ >= State::kMail; }
  // Input bytes after STARTTLS that arrived in the clear: must be dropped (RFC 3207 §5).
  size_t buffered() const { return lines_.buffered(); }

 private:
  enum class State { kGreeted, kHelo, kMail, kRcpt, kData };
  enum class Pending { kNone, kMail, kRcpt, kMessage };
  Event Command(const LineReader::Line& line, std::string* out);
  void Error(int code, absl::string_view enhanced, absl::string_view text, std::string* out);
  void ResetTransaction();
  std::string EhloReply() const;

  ServerOptions o_;
  LineReader lines_;
  DataReader data_{0};
  State state_ = State::kGreeted;
  Pending pending_ = Pending::kNone;
  Envelope env_;
  std::string pending_rcpt_;
  PathArgument pending_path_;
  uint32_t errors_ = 0;
  bool tls_ = false;
};

}  // namespace farside::smtp

#endif  // FARSIDE_LIB_SMTP_SERVER_SESSION_H_
