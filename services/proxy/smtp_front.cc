// SMTP front end connections and the downstream client.
#include "services/proxy/smtp_front.h"

#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/common/log.h"
#include "lib/common/startup.h"
#include "lib/smtp/server_session.h"

namespace farside::proxy {
namespace {

constexpr absl::Duration kWriteTimeout = absl::Seconds(60);

smtp::Reply MakeReply(int code, const std::string& enhanced, const std::string& text) {
  smtp::Reply r;
  r.code = code;
  r.enhanced = enhanced;
  r.lines = absl::StrSplit(text, '\n');
  return r;
}

// Whether the header block has a field of this name.
bool HasHeader(absl::string_view message, absl::string_view name) {
  size_t end = message.find("\r\n\r\n");
  absl::string_view head = message.substr(0, end == absl::string_view::npos ? message.size() : end);
  size_t pos = 0;
  while (pos < head.size()) {
    absl::string_view line = head.substr(pos, head.find('\n', pos) - pos);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        absl::EqualsIgnoreCase(line.substr(0, name.size()), name)) {
      return true;
    }
    size_t eol = head.find('\n', pos);
    if (eol == absl::string_view::npos) break;
    pos = eol + 1;
  }
  return false;
}

std::string HostName() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf[0] ? buf : "localhost";
}

}  // namespace

absl::StatusOr<std::unique_ptr<Downstream>> Downstream::Open(const HostPort& to,
                                                             const std::string& helo,
                                                             absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<Conn>> c = Connect(to, timeout);
  if (!c.ok()) return c.status();
  std::unique_ptr<Downstream> d(new Downstream(std::move(*c), timeout));
  absl::StatusOr<smtp::Reply> greeting = d->ReadReply();
  if (!greeting.ok()) return greeting.status();
  if (greeting->code != 220) {
    return absl::UnavailableError(absl::StrCat("downstream ", to.ToString(), " greeted with ",
                                               smtp::FormatReply(*greeting)));
  }
  absl::StatusOr<smtp::Reply> ehlo = d->Command("EHLO " + helo);
  if (!ehlo.ok()) return ehlo.status();
  if (ehlo->code != 250) {
    ehlo = d->Command("HELO " + helo);
    if (!ehlo.ok()) return ehlo.status();
    if (ehlo->code != 250) {
      return absl::UnavailableError(absl::StrCat("downstream refused HELO: ", ehlo->Text()));
    }
  } else {
    for (size_t i = 1; i < ehlo->lines.size(); ++i) {
      std::vector<std::string> w = absl::StrSplit(ehlo->lines[i], ' ');
      d->extensions_.push_back(absl::AsciiStrToUpper(w[0]));
    }
  }
  return d;
}

bool Downstream::Supports(absl::string_view extension) const {
  for (const std::string& e : extensions_) {
    if (e == extension) return true;
  }
  return false;
}

absl::StatusOr<smtp::Reply> Downstream::ReadReply() {
  smtp::ReplyReader rr;
  std::string buf(16384, '\0');
  while (true) {
    while (std::optional<smtp::LineReader::Line> line = lines_.Next()) {
      absl::StatusOr<std::optional<smtp::Reply>> r = rr.Add(line->text);
      if (!r.ok()) return absl::UnavailableError(absl::StrCat("downstream: ", r.status().message()));
      if (r->has_value()) return **r;
    }
    absl::StatusOr<size_t> n = conn_->Read(buf.data(), buf.size(), timeout_);
    if (!n.ok()) return absl::UnavailableError(absl::StrCat("downstream: ", n.status().message()));
    if (*n == 0) return absl::UnavailableError("downstream closed the connection");
    lines_.Feed(absl::string_view(buf.data(), *n));
  }
}

absl::StatusOr<smtp::Reply> Downstream::Command(const std::string& line) {
  if (absl::Status w = conn_->Write(line + "\r\n", timeout_); !w.ok()) {
    return absl::UnavailableError(absl::StrCat("downstream: ", w.message()));
  }
  return ReadReply();
}

absl::StatusOr<smtp::Reply> Downstream::Data(absl::string_view message) {
  absl::StatusOr<smtp::Reply> go = Command("DATA");
  if (!go.ok() || go->code != 354) return go;
  if (absl::Status w = conn_->Write(smtp::DotStuff(message), timeout_); !w.ok()) {
    return absl::UnavailableError(absl::StrCat("downstream: ", w.message()));
  }
  return ReadReply();
}

void Downstream::Quit() {
  if (conn_->Write("QUIT\r\n", absl::Seconds(2)).ok()) {
    char b[512];
    (void)conn_->Read(b, sizeof b, absl::Seconds(2));
  }
}

std::vector<mime::HeaderEdit> ToHeaderEdits(const Decision& d) {
  std::vector<mime::HeaderEdit> out;
  for (const farside::v1::HeaderChange& c : d.changes) {
    mime::HeaderEdit e;
    e.name = c.name();
    e.value = c.value();
    e.index = c.index() < 0 ? 0 : static_cast<uint32_t>(c.index());
    switch (c.op()) {
      case farside::v1::HeaderChange::OP_REMOVE: e.op = mime::HeaderEdit::kDelete; break;
      case farside::v1::HeaderChange::OP_CHANGE: e.op = mime::HeaderEdit::kChange; break;
      case farside::v1::HeaderChange::OP_INSERT: e.op = mime::HeaderEdit::kInsert; break;
      default: e.op = mime::HeaderEdit::kAdd; break;
    }
    out.push_back(std::move(e));
  }
  return out;
}

absl::Status SmtpFront::Validate(const farside::v1::ProxyConfig& config) {
  const auto& s = config.smtp();
  if (s.downstream().empty()) return absl::OkStatus();  // the SMTP front end is off
  if (absl::StatusOr<HostPort> hp = ParseHostPort(s.downstream()); !hp.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("proxy.smtp.downstream: ", hp.status().message()));
  }
  if (s.tls_certificate().empty() != s.tls_key().empty()) {
    return absl::InvalidArgumentError("proxy.smtp: tls_certificate and tls_key go together");
  }
  return absl::OkStatus();
}

void SmtpFront::Serve(Conn& conn) {
  const farside::v1::ProxyConfig& cfg = verdicts_->config();
  const farside::v1::SmtpFrontConfig& sc = cfg.smtp();
  smtp::ServerOptions opts;
  opts.hostname = sc.hostname().empty() ? HostName() : sc.hostname();
  opts.max_size = sc.max_size() > 0 ? sc.max_size() : cfg.max_message_bytes();
  opts.max_command_line = sc.max_command_line();
  opts.max_data_line = sc.max_data_line();
  opts.max_recipients = sc.max_recipients();
  opts.max_errors = sc.max_errors();
  opts.tls_available = tls_ != nullptr;
  smtp::ServerSession session(opts);
  const HostPort downstream = *ParseHostPort(sc.downstream());
  const absl::Duration down_timeout = ToAbsl(sc.downstream_timeout());
  const absl::Duration cmd_timeout = ToAbsl(sc.command_timeout());
  const absl::Duration data_timeout = ToAbsl(sc.data_timeout());
  prometheus::Gauge* gauge = verdicts_->Connections("smtp");
  gauge->Increment();
  std::unique_ptr<Downstream> down;
  auto finish = [&](absl::string_view why) {
    if (down) down->Quit();
    gauge->Decrement();
    log::Debug("smtp connection ended", {{"peer", conn.peer_ip()}, {"reason", why}});
  };
  if (!conn.Write(session.Greeting(), kWriteTimeout).ok()) return finish("write failed");
  std::string buf(64 << 10, '\0');
  std::string out;
  while (true) {
    absl::StatusOr<size_t> n =
        conn.Read(buf.data(), buf.size(), session.in_transaction() ? data_timeout : cmd_timeout);
    if (!n.ok()) {
      (void)conn.Write(smtp::FormatReply(421, "4.4.2", opts.hostname + " Timeout, closing"),
                       absl::Seconds(2));
      return finish(n.status().message());
    }
    if (*n == 0) return finish("client closed");
    session.Feed(absl::string_view(buf.data(), *n));
    while (true) {
      out.clear();
      smtp::ServerSession::Event ev = session.Next(&out);
      // Replies are written as soon as they are known; a pipelining client reads them in order.
      if (!out.empty() && !conn.Write(out, kWriteTimeout).ok()) return finish("write failed");
      out.clear();
      using Ev = smtp::ServerSession::Event;
      if (ev == Ev::kNeedMore) break;
      if (ev == Ev::kClose) return finish("quit");
      if (ev == Ev::kStartTls) {
        // Commands pipelined after STARTTLS arrived in the clear and could be injected.
        if (session.buffered() > 0) return finish("input after STARTTLS before the handshake");
        if (absl::Status t = conn.StartTls(tls_, cmd_timeout); !t.ok()) return finish(t.message());
        session.TlsStarted();
        continue;
      }
      if (ev == Ev::kReset) {
        if (down && !down->Command("RSET").ok()) down.reset();
        continue;
      }
      const smtp::Envelope& env = session.envelope();
      if (ev == Ev::kMail) {
        if (!down) {
          absl::StatusOr<std::unique_ptr<Downstream>> d =
              Downstream::Open(downstream, opts.hostname, down_timeout);
          if (!d.ok()) {
            log::Warning("downstream unavailable", {{"downstream", downstream.ToString()},
                                                    {"error", std::string(d.status().message())}});
            session.Answer(MakeReply(451, "4.4.1", "Downstream server unavailable, try again later"), &out);
            if (!conn.Write(out, kWriteTimeout).ok()) return finish("write failed");
            continue;
          }
          down = std::move(*d);
        }
        std::string line = absl::StrCat("MAIL FROM:<", env.mail.address, ">");
        for (const auto& [k, v] : env.mail.params) {
          const bool pass = (k == "SIZE" && down->Supports("SIZE")) ||
                            (k == "BODY" && down->Supports("8BITMIME")) ||
                            (k == "SMTPUTF8" && down->Supports("SMTPUTF8")) ||
                            ((k == "RET" || k == "ENVID") && down->Supports("DSN"));
          if (pass) absl::StrAppend(&line, " ", k, v.empty() ? "" : "=", v);
        }
        absl::StatusOr<smtp::Reply> r = down->Command(line);
        if (!r.ok()) down.reset();
        session.Answer(r.ok() ? *r : MakeReply(451, "4.4.2", "Downstream server failed, try again later"), &out);
      } else if (ev == Ev::kRcpt) {
        absl::StatusOr<smtp::Reply> r = absl::UnavailableError("no downstream");
        if (down) {
          std::string line = absl::StrCat("RCPT TO:<", session.pending_rcpt(), ">");
          for (const auto& [k, v] : session.pending_rcpt_path().params) {
            if ((k == "NOTIFY" || k == "ORCPT") && down->Supports("DSN")) {
              absl::StrAppend(&line, " ", k, "=", v);
            }
          }
          r = down->Command(line);
          if (!r.ok()) down.reset();
        }
        session.Answer(r.ok() ? *r : MakeReply(451, "4.4.2", "Downstream server failed, try again later"), &out);
      } else if (ev == Ev::kMessage) {
        farside::v1::ScanRequest req;
        auto* e = req.mutable_envelope();
        e->set_client_ip(env.xforward_addr.empty() ? conn.peer_ip() : env.xforward_addr);
        e->set_client_hostname(env.xforward_name == "unknown" ? "" : env.xforward_name);
        e->set_helo(env.xforward_helo.empty() ? env.helo : env.xforward_helo);
        e->set_mail_from(env.mail_from);
        for (const std::string& r : env.rcpt_to) e->add_rcpt_to(r);
        e->set_queue_id(env.xforward_ident);
        e->set_mta_hostname(opts.hostname);
        const uint64_t size = session.message_size();
        const bool unscanned_present = HasHeader(session.message(), cfg.unscanned_header());
        req.set_message(std::move(session.message()));
        Decision d = verdicts_->Decide("smtp", &req, size, unscanned_present);
        smtp::Reply final_reply;
        if (d.kind == Decision::kReject || d.kind == Decision::kTempfail) {
          final_reply = MakeReply(static_cast<int>(d.reply.code()), d.reply.enhanced_code(), d.reply.text());
          if (down && !down->Command("RSET").ok()) down.reset();
        } else if (d.kind == Decision::kDiscard) {
          final_reply = MakeReply(250, "2.0.0", "Ok: discarded");
          if (down && !down->Command("RSET").ok()) down.reset();
        } else if (!down) {
          final_reply = MakeReply(451, "4.4.2", "Downstream server failed, try again later");
        } else {
          std::vector<mime::HeaderEdit> edits = ToHeaderEdits(d);
          // No quarantine store here: the mark tells the next hop to hold the message.
          if (d.kind == Decision::kQuarantine) edits.push_back({mime::HeaderEdit::kAdd, "X-Spam-Quarantine", "yes", 0});
          absl::StatusOr<smtp::Reply> r = down->Data(mime::ApplyHeaderEdits(req.message(), edits));
          if (!r.ok()) {
            down.reset();
            log::Warning("downstream failed during DATA", {{"error", std::string(r.status().message())}});
            final_reply = MakeReply(451, "4.4.2", "Downstream server failed, try again later");
          } else {
            final_reply = *r;  // what the downstream said is what the client hears
          }
        }
        session.Answer(final_reply, &out);
      }
      if (!out.empty() && !conn.Write(out, kWriteTimeout).ok()) return finish("write failed");
    }
  }
}

}  // namespace farside::proxy
