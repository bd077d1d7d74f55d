// Milter connections: read, feed the session, scan at end of message, write the replies.
#include "services/proxy/milter_front.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/common/log.h"
#include "lib/common/startup.h"
#include "services/proxy/smtp_front.h"

namespace farside::proxy {
namespace {

constexpr absl::Duration kWriteTimeout = absl::Seconds(30);

farside::v1::ScanRequest Request(const milter::Transaction& tx) {
  farside::v1::ScanRequest req;
  auto* env = req.mutable_envelope();
  env->set_client_ip(tx.client_ip);
  // Postfix names an unverified client "unknown"; the contract wants empty then.
  if (tx.client_hostname != "unknown" && !absl::StartsWith(tx.client_hostname, "[")) {
    env->set_client_hostname(tx.client_hostname);
  }
  env->set_helo(tx.helo);
  env->set_mail_from(tx.mail_from);
  for (const std::string& r : tx.rcpt_to) env->add_rcpt_to(r);
  env->set_authenticated_user(tx.auth_user);
  env->set_queue_id(tx.queue_id);
  env->set_mta_hostname(tx.mta_hostname);
  req.set_message(tx.message);
  return req;
}

}  // namespace

milter::Verdict ToMilterVerdict(const Decision& d) {
  milter::Verdict v;
  switch (d.kind) {
    case Decision::kAccept: v.kind = milter::Verdict::kAccept; break;
    case Decision::kQuarantine: v.kind = milter::Verdict::kQuarantine; break;
    case Decision::kDiscard: v.kind = milter::Verdict::kDiscard; break;
    case Decision::kReject: v.kind = milter::Verdict::kReject; break;
    case Decision::kTempfail: v.kind = milter::Verdict::kTempfail; break;
  }
  if (d.reply.code() != 0) {
    v.code = absl::StrCat(d.reply.code());
    v.enhanced = d.reply.enhanced_code();
    v.text = d.reply.text();
  }
  v.quarantine_reason = "Farside: held as spam";
  v.edits = ToHeaderEdits(d);
  return v;
}

void MilterFront::Serve(Conn& conn) {
  const farside::v1::ProxyConfig& cfg = verdicts_->config();
  milter::Session session({.max_frame_bytes = cfg.milter().max_frame_bytes(),
                           .max_message_bytes = cfg.max_message_bytes(),
                           .max_recipients = cfg.smtp().max_recipients()});
  const absl::Duration idle = ToAbsl(cfg.milter().idle_timeout());
  prometheus::Gauge* gauge = verdicts_->Connections("milter");
  gauge->Increment();
  std::string buf(64 << 10, '\0');
  std::string out;
  auto done = [&](absl::string_view why, bool error) {
    gauge->Decrement();
    if (error) {
      verdicts_->ProtocolError("milter");
      log::Warning("milter connection dropped", {{"peer", conn.peer_ip()}, {"reason", why}});
    }
  };
  while (true) {
    absl::StatusOr<size_t> n = conn.Read(buf.data(), buf.size(), idle);
    if (!n.ok() || *n == 0) return done(n.ok() ? "closed" : n.status().message(), false);
    session.Feed(absl::string_view(buf.data(), *n));
    while (true) {
      out.clear();
      absl::StatusOr<milter::Session::Event> ev = session.Next(&out);
      if (!out.empty() && !conn.Write(out, kWriteTimeout).ok()) return done("write failed", false);
      if (!ev.ok()) return done(ev.status().message(), true);
      if (*ev == milter::Session::Event::kNeedMore) break;
      if (*ev == milter::Session::Event::kClosed) return done("quit", false);
      const milter::Transaction& tx = session.transaction();
      bool unscanned_present = false;
      for (const std::string& h : tx.header_names) {
        unscanned_present |= absl::EqualsIgnoreCase(h, cfg.unscanned_header());
      }
      // Progress replies keep Postfix waiting past milter_content_timeout on a slow scan.
      bool write_failed = false;
      farside::v1::ScanRequest req = Request(tx);
      Decision d = verdicts_->Decide("milter", &req, tx.size, unscanned_present, [&] {
        write_failed |= !conn.Write(milter::Session::Progress(), kWriteTimeout).ok();
      });
      if (write_failed) return done("write failed", false);
      if (!conn.Write(session.Finish(ToMilterVerdict(d)), kWriteTimeout).ok()) {
        return done("write failed", false);
      }
    }
  }
}

}  // namespace farside::proxy
