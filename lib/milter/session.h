// One milter connection's state machine: option negotiation, macros, the envelope and the
// message of each transaction, and the end-of-message replies for a verdict. No sockets:
// the caller feeds bytes in and writes out what it is handed.
#ifndef FARSIDE_LIB_MILTER_SESSION_H_
#define FARSIDE_LIB_MILTER_SESSION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/milter/codec.h"
#include "lib/mime/header_edit.h"

namespace farside::milter {

struct SessionLimits {
  uint32_t max_frame_bytes = 2 << 20;
  // A message bigger than this is not kept (its size still counts): it passes unscanned.
  uint64_t max_message_bytes = 32 << 20;
  uint32_t max_recipients = 1000;  // more are counted, not kept
};

// What the MTA told us about one message.
struct Transaction {
  std::string client_ip;        // empty for a unix socket or unknown family
  std::string client_hostname;  // as the MTA verified it; "[1.2.3.4]" style when unknown
  std::string helo;
  std::string mail_from;  // without angle brackets
  std::vector<std::string> rcpt_to;
  uint32_t rcpt_count = 0;
  std::string queue_id;      // macro i
  std::string auth_user;     // macro {auth_authen}
  std::string mta_hostname;  // macro j
  std::string message;       // header fields (CRLF), a blank line, the body
  uint64_t size = 0;         // bytes as received, even when not kept
  bool oversize = false;
  std::vector<std::string> header_names;  // in order, for the indexes of header changes
};

// Header changes use lib/mime's type, which the SMTP front end applies itself.
using HeaderEdit = mime::HeaderEdit;

struct Verdict {
  enum Kind { kAccept, kReject, kTempfail, kDiscard, kQuarantine };
  Kind kind = kAccept;
  // For kReject and kTempfail: "550", "5.7.1", text. An empty code leaves the text to the MTA.
  std::string code;
  std::string enhanced;
  std::string text;
  std::vector<HeaderEdit> edits;  // applied to accepted and quarantined mail
  std::string quarantine_reason;
};

class Session {
 public:
  enum class Event {
    kNeedMore,  // feed more bytes
    kMessage,   // a message is complete: scan transaction(), then call Finish
    kClosed,    // the MTA said QUIT
  };

  explicit Session(SessionLimits limits) : limits_(limits), reader_(limits.max_frame_bytes) {}

  void Feed(absl::string_view bytes) { reader_.Feed(bytes); }
  // Handles buffered frames, appending replies to *out, until an event. An error (a bad
  // frame, a command out of place) means the connection has to be dropped; the MTA then
  // applies its own default action (Postfix: milter_default_action).
  absl::StatusOr<Event> Next(std::string* out);

  const Transaction& transaction() const { return tx_; }
  // The replies that end a message for `verdict`; header changes the MTA did not allow in
  // negotiation are left out and counted in dropped_edits(). Resets for the next message.
  std::string Finish(const Verdict& verdict);
  // "Still working", which the MTA takes as a reason to wait longer (at end of message).
  static std::string Progress() { return EncodeFrame(kProgress, ""); }

  bool negotiated() const { return negotiated_; }
  uint32_t actions() const { return actions_; }
  uint32_t steps() const { return steps_; }
  size_t dropped_edits() const { return dropped_edits_; }
  // A macro's latest value ("" when the MTA did not send it).
  std::string Macro(absl::string_view name) const;

 private:
  void Negotiate(const Message& m, std::string* out);
  void ApplyMacros(const Message& m);
  void AddHeader(const Message& m);
  void AddBody(absl::string_view chunk);
  void ResetMessage();
  void Ack(uint32_t no_reply_step, std::string* out) const;

  SessionLimits limits_;
  FrameReader reader_;
  bool negotiated_ = false;
  bool in_eom_ = false;
  bool in_body_ = false;
  uint32_t actions_ = 0;
  uint32_t steps_ = 0;
  size_t dropped_edits_ = 0;
  absl::flat_hash_map<char, absl::flat_hash_map<std::string, std::string>> macros_;  // by stage
  // Per connection, kept across messages.
  std::string client_ip_, client_hostname_, helo_;
  Transaction tx_;
};

// Strips one pair of angle brackets and surrounding space: "<a@b>" -> "a@b", "<>" -> "".
std::string StripBrackets(absl::string_view address);

}  // namespace farside::milter

#endif  // FARSIDE_LIB_MILTER_SESSION_H_
