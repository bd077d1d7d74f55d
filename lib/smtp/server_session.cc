// The SMTP server state machine.
#include "lib/smtp/server_session.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace farside::smtp {

ServerSession::ServerSession(ServerOptions options)
    : o_(std::move(options)), lines_(o_.max_command_line) {}

std::string ServerSession::Greeting() const {
  return FormatReply(220, "", absl::StrCat(o_.hostname, " ESMTP Farside"));
}

std::string ServerSession::EhloReply() const {
  std::string text = absl::StrCat(o_.hostname, "\nPIPELINING\nSIZE ", o_.max_size,
                                  "\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES");
  if (o_.tls_available && !tls_) text += "\nSTARTTLS";
  if (o_.xforward) text += "\nXFORWARD NAME ADDR PROTO HELO IDENT SOURCE";
  return FormatReply(250, "", text);
}

void ServerSession::Error(int code, absl::string_view enhanced, absl::string_view text,
                          std::string* out) {
  ++errors_;
  *out += FormatReply(code, enhanced, text);
}

void ServerSession::ResetTransaction() {
  env_.mail_from.clear();
  env_.mail = PathArgument();
  env_.rcpt_to.clear();
  env_.rcpt_lines.clear();
  data_ = DataReader(0);
  if (state_ > State::kHelo) state_ = State::kHelo;
}

void ServerSession::TlsStarted() {
  // RFC 3207: everything known before TLS is forgotten; the client starts with EHLO.
  tls_ = true;
  env_ = Envelope();
  data_ = DataReader(0);
  state_ = State::kGreeted;
}

ServerSession::Event ServerSession::Next(std::string* out) {
  while (pending_ == Pending::kNone) {
    if (errors_ >= o_.max_errors) {
      *out += FormatReply(421, "4.7.0", absl::StrCat(o_.hostname, " Too many errors, closing"));
      return Event::kClose;
    }
    std::optional<LineReader::Line> line = lines_.Next();
    if (!line.has_value()) return Event::kNeedMore;
    if (state_ == State::kData) {
      if (!data_.Add(*line)) continue;
      lines_.set_max_line(o_.max_command_line);
      // Refusals that need no scan and no downstream.
      if (data_.too_big()) {
        *out += FormatReply(552, "5.3.4", "Message is bigger than the size limit");
      } else if (data_.bare_lf()) {
        *out += FormatReply(554, "5.6.0", "Message has a line ending in a bare LF");
      } else if (data_.line_too_long()) {
        *out += FormatReply(554, "5.6.0", absl::StrCat("Message has a line longer than ",
                                                      o_.max_data_line, " bytes"));
      } else {
        pending_ = Pending::kMessage;
        return Event::kMessage;
      }
      ResetTransaction();
      return Event::kReset;
    }
    Event e = Command(*line, out);
    if (e != Event::kNeedMore) return e;
  }
  return Event::kNeedMore;  // an answer is still owed: the caller must call Answer first
}

ServerSession::Event ServerSession::Command(const LineReader::Line& line, std::string* out) {
  if (line.too_long) {
    Error(500, "5.5.2", "Line too long", out);
    return Event::kNeedMore;
  }
  if (line.bare_lf) {
    Error(500, "5.5.2", "Command line ends in a bare LF; use CRLF", out);
    return Event::kNeedMore;
  }
  smtp::Command c = ParseCommand(line.text);
  switch (c.verb) {
    case Command::kEhlo:
    case Command::kHelo: {
      std::string name(absl::StripAsciiWhitespace(c.arg));
      if (name.empty()) {
        Error(501, "5.5.4", absl::StrCat("Syntax: ", c.name, " hostname"), out);
        return Event::kNeedMore;
      }
      const bool had_transaction = state_ >= State::kMail;
      ResetTransaction();
      env_.helo = name;
      env_.esmtp = c.verb == Command::kEhlo;
      state_ = State::kHelo;
      *out += env_.esmtp ? EhloReply() : FormatReply(250, "", o_.hostname);
      return had_transaction ? Event::kReset : Event::kNeedMore;
    }
    case Command::kStartTls:
      if (!o_.tls_available || tls_) {
        Error(502, "5.5.1", tls_ ? "TLS is already on" : "STARTTLS is not offered", out);
        return Event::kNeedMore;
      }
      if (!c.arg.empty()) {
        Error(501, "5.5.4", "Syntax: STARTTLS", out);
        return Event::kNeedMore;
      }
      if (state_ >= State::kMail) {
        Error(503, "5.5.1", "STARTTLS inside a transaction", out);
        return Event::kNeedMore;
      }
      *out += FormatReply(220, "2.0.0", "Ready to start TLS");
      return Event::kStartTls;
    case Command::kMail: {
      if (state_ == State::kGreeted) {
        Error(503, "5.5.1", "Say EHLO first", out);
        return Event::kNeedMore;
      }
      if (state_ >= State::kMail) {
        Error(503, "5.5.1", "Sender already given", out);
        return Event::kNeedMore;
      }
      absl::StatusOr<PathArgument> p = ParsePath(c.arg, "FROM:", true);
      if (!p.ok()) {
        Error(501, "5.5.4", p.status().message(), out);
        return Event::kNeedMore;
      }
      uint64_t size = 0;
      if (p->HasParam("SIZE") && absl::SimpleAtoi(p->Param("SIZE"), &size) && size > o_.max_size) {
        *out += FormatReply(552, "5.3.4", "Message size exceeds the fixed limit");
        return Event::kNeedMore;
      }
      env_.mail = *p;
      env_.mail_from = p->address;
      pending_ = Pending::kMail;
      return Event::kMail;
    }
    case Command::kRcpt: {
      if (state_ < State::kMail) {
        Error(503, "5.5.1", "Need MAIL before RCPT", out);
        return Event::kNeedMore;
      }
      absl::StatusOr<PathArgument> p = ParsePath(c.arg, "TO:", false);
      if (!p.ok()) {
        Error(501, "5.5.4", p.status().message(), out);
        return Event::kNeedMore;
      }
      if (env_.rcpt_to.size() >= o_.max_recipients) {
        *out += FormatReply(452, "4.5.3", "Too many recipients");
        return Event::kNeedMore;
      }
      pending_rcpt_ = p->address;
      pending_path_ = *p;
      pending_ = Pending::kRcpt;
      return Event::kRcpt;
    }
    case Command::kData:
      if (state_ != State::kRcpt) {
        Error(503, "5.5.1", state_ == State::kMail ? "Need RCPT before DATA" : "Need MAIL first", out);
        return Event::kNeedMore;
      }
      if (!c.arg.empty()) {
        Error(501, "5.5.4", "Syntax: DATA", out);
        return Event::kNeedMore;
      }
      // The final answer comes after the scan and the downstream server's own answer.
      *out += FormatReply(354, "", "End data with <CR><LF>.<CR><LF>");
      data_ = DataReader(o_.max_size);
      lines_.set_max_line(o_.max_data_line);
      state_ = State::kData;
      return Event::kNeedMore;
    case Command::kRset: {
      const bool had = state_ >= State::kMail;
      ResetTransaction();
      *out += FormatReply(250, "2.0.0", "Ok");
      return had ? Event::kReset : Event::kNeedMore;
    }
    case Command::kNoop:
      *out += FormatReply(250, "2.0.0", "Ok");
      return Event::kNeedMore;
    case Command::kVrfy:
      *out += FormatReply(252, "2.5.2", "Cannot VRFY user, but will accept the message");
      return Event::kNeedMore;
    case Command::kHelp:
      *out += FormatReply(214, "2.0.0", "See RFC 5321");
      return Event::kNeedMore;
    case Command::kXforward:
      if (!o_.xforward) break;
      for (absl::string_view kv : absl::StrSplit(c.arg, ' ', absl::SkipWhitespace())) {
        size_t eq = kv.find('=');
        if (eq == absl::string_view::npos) continue;
        std::string k = absl::AsciiStrToUpper(kv.substr(0, eq));
        std::string v(kv.substr(eq + 1));
        if (v == "[UNAVAILABLE]" || v == "[TEMPUNAVAIL]") v.clear();
        if (k == "ADDR") env_.xforward_addr = absl::StartsWithIgnoreCase(v, "IPV6:") ? v.substr(5) : v;
        else if (k == "NAME") env_.xforward_name = v;
        else if (k == "HELO") env_.xforward_helo = v;
        else if (k == "IDENT") env_.xforward_ident = v;
      }
      *out += FormatReply(250, "2.0.0", "Ok");
      return Event::kNeedMore;
    case Command::kQuit:
      *out += FormatReply(221, "2.0.0", "Bye");
      return Event::kClose;
    case Command::kUnknown:
      break;
  }
  Error(500, "5.5.2", "Command not recognized", out);
  return Event::kNeedMore;
}

void ServerSession::Answer(const Reply& reply, std::string* out) {
  const bool ok = reply.code >= 200 && reply.code < 400;
  *out += FormatReply(reply);
  switch (pending_) {
    case Pending::kMail:
      if (ok) state_ = State::kMail;
      else env_.mail = PathArgument();
      break;
    case Pending::kRcpt:
      if (ok) {
        env_.rcpt_to.push_back(pending_rcpt_);
        state_ = State::kRcpt;
      }
      break;
    case Pending::kMessage:
      ResetTransaction();
      break;
    case Pending::kNone:
      break;
  }
  pending_ = Pending::kNone;
}

}  // namespace farside::smtp
