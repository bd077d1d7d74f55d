// The milter wire protocol (version 6, as Postfix and Sendmail speak it): frames, the
// commands an MTA sends and the replies a filter sends back. Pure: bytes in, values out.
#ifndef FARSIDE_LIB_MILTER_CODEC_H_
#define FARSIDE_LIB_MILTER_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace farside::milter {

inline constexpr uint32_t kProtocolVersion = 6;

// Commands from the MTA (SMFIC_*).
enum Command : char {
  kAbort = 'A',
  kBody = 'B',
  kConnect = 'C',
  kMacro = 'D',
  kEndOfMessage = 'E',
  kHelo = 'H',
  kQuitNewConnection = 'K',
  kHeader = 'L',
  kMail = 'M',
  kEndOfHeaders = 'N',
  kOptionNegotiation = 'O',
  kQuit = 'Q',
  kRcpt = 'R',
  kData = 'T',
  kUnknown = 'U',
};

// Replies from the filter (SMFIR_*).
enum Reply : char {
  kAddRecipient = '+',
  kDeleteRecipient = '-',
  kAccept = 'a',
  kReplaceBody = 'b',
  kContinue = 'c',
  kDiscard = 'd',
  kChangeFrom = 'e',
  kAddHeader = 'h',
  kInsertHeader = 'i',
  kChangeHeader = 'm',
  kProgress = 'p',
  kQuarantine = 'q',
  kReject = 'r',
  kSkip = 's',
  kTempfail = 't',
  kReplyCode = 'y',
};

// What a filter may do to a message (SMFIF_*), offered by the MTA and chosen by the filter.
namespace actions {
inline constexpr uint32_t kAddHeaders = 0x01;
inline constexpr uint32_t kChangeBody = 0x02;
inline constexpr uint32_t kAddRecipients = 0x04;
inline constexpr uint32_t kDeleteRecipients = 0x08;
inline constexpr uint32_t kChangeHeaders = 0x10;
inline constexpr uint32_t kQuarantine = 0x20;
inline constexpr uint32_t kChangeFrom = 0x40;
inline constexpr uint32_t kAddRecipientsWithArgs = 0x80;
inline constexpr uint32_t kSetMacroList = 0x100;
}  // namespace actions

// Protocol steps a filter can switch off or answer without a reply (SMFIP_*).
namespace steps {
inline constexpr uint32_t kNoConnect = 0x1;
inline constexpr uint32_t kNoHelo = 0x2;
inline constexpr uint32_t kNoMail = 0x4;
inline constexpr uint32_t kNoRcpt = 0x8;
inline constexpr uint32_t kNoBody = 0x10;
inline constexpr uint32_t kNoHeaders = 0x20;
inline constexpr uint32_t kNoEndOfHeaders = 0x40;
inline constexpr uint32_t kNoReplyHeader = 0x80;
inline constexpr uint32_t kNoUnknown = 0x100;
inline constexpr uint32_t kNoData = 0x200;
inline constexpr uint32_t kSkip = 0x400;  // the MTA understands SMFIR_SKIP
inline constexpr uint32_t kRcptRejected = 0x800;
inline constexpr uint32_t kNoReplyConnect = 0x1000;
inline constexpr uint32_t kNoReplyHelo = 0x2000;
inline constexpr uint32_t kNoReplyMail = 0x4000;
inline constexpr uint32_t kNoReplyRcpt = 0x8000;
inline constexpr uint32_t kNoReplyData = 0x10000;
inline constexpr uint32_t kNoReplyUnknown = 0x20000;
inline constexpr uint32_t kNoReplyEndOfHeaders = 0x40000;
inline constexpr uint32_t kNoReplyBody = 0x80000;
inline constexpr uint32_t kHeaderLeadingSpace = 0x100000;
}  // namespace steps

// One frame: a command or reply code and its data.
struct Frame {
  char code = 0;
  std::string data;
};

// Cuts a byte stream into frames. A frame is a 4-byte big-endian length (code included),
// the code and the data.
class FrameReader {
 public:
  explicit FrameReader(uint32_t max_frame_bytes) : max_(max_frame_bytes) {}
  void Feed(absl::string_view bytes);
  // The next whole frame; nullopt while more bytes are needed. ResourceExhausted for a
  // length over the limit and InvalidArgument for a zero length: the stream cannot be
  // resynchronised after either, so the connection has to close.
  absl::StatusOr<std::optional<Frame>> Next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  uint32_t max_;
  std::string buf_;
  size_t pos_ = 0;
};

// A command as the MTA sent it; which fields are set depends on `code`.
struct Message {
  char code = 0;
  // kOptionNegotiation
  uint32_t version = 0;
  uint32_t actions = 0;
  uint32_t steps = 0;
  // kMacro: the command the macros belong to, and name/value pairs ("j", "{daemon_name}").
  char macro_for = 0;
  std::vector<std::pair<std::string, std::string>> macros;
  // kConnect: family is '4', '6', 'L' (unix socket) or 'U' (unknown; no port or address).
  std::string hostname;
  char family = 0;
  uint16_t port = 0;
  std::string address;
  // kHelo and kUnknown: the HELO name or the whole unknown command.
  std::string text;
  // kMail and kRcpt: the address as given ("<a@b>") then the ESMTP parameters.
  std::vector<std::string> args;
  // kHeader
  std::string name;
  std::string value;
  // kBody: one chunk
  std::string body;
};

// InvalidArgument, naming the command, for data that does not fit its command's layout or
// an unknown command code.
absl::StatusOr<Message> Parse(const Frame& frame);

// Encoding, for the filter's side (and for tests and load tools, the MTA's).
std::string EncodeFrame(char code, absl::string_view data);
std::string EncodeOptionNegotiation(uint32_t version, uint32_t actions, uint32_t steps);
// "550 5.7.1 text": SMFIR_REPLYCODE; a multi-line text is sent as the MTA expects.
std::string EncodeReplyCode(absl::string_view code, absl::string_view enhanced,
                            absl::string_view text);
std::string EncodeAddHeader(absl::string_view name, absl::string_view value);
// index: 1-based occurrence of the field; an empty value deletes that occurrence.
std::string EncodeChangeHeader(uint32_t index, absl::string_view name, absl::string_view value);
// index: position among all header fields, 0 = top.
std::string EncodeInsertHeader(uint32_t index, absl::string_view name, absl::string_view value);
std::string EncodeQuarantine(absl::string_view reason);

// The MTA's side of a few commands (tests, fuzz seeds, the load generator).
std::string EncodeMacros(char for_command, const std::vector<std::pair<std::string, std::string>>& m);
std::string EncodeConnect(absl::string_view hostname, char family, uint16_t port,
                          absl::string_view address);
std::string EncodeStrings(char code, const std::vector<std::string>& parts);

}  // namespace farside::milter

#endif  // FARSIDE_LIB_MILTER_CODEC_H_
