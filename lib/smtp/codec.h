// SMTP's wire format (RFC 5321), both sides: lines with limits, commands and their
// paths and parameters, the DATA phase with dot-stuffing, and replies. Pure: no sockets.
#ifndef FARSIDE_LIB_SMTP_CODEC_H_
#define FARSIDE_LIB_SMTP_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace farside::smtp {

// Cuts a byte stream into lines at LF. A line longer than the limit is returned cut at the
// limit with too_long set (the rest of it is skipped), so a huge line costs no memory.
class LineReader {
 public:
  explicit LineReader(size_t max_line) : max_(max_line) {}
  struct Line {
    std::string text;      // without the line end
    bool too_long = false;
    bool bare_lf = false;  // ended by LF alone, not CRLF
  };
  void Feed(absl::string_view bytes);
  std::optional<Line> Next();
  void set_max_line(size_t max_line) { max_ = max_line; }
  // Bytes fed but not yet returned as lines.
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  size_t max_;
  std::string buf_;
  size_t pos_ = 0;
  bool skipping_ = false;  // inside the rest of an over-long line
};

struct Command {
  enum Verb { kHelo, kEhlo, kMail, kRcpt, kData, kRset, kNoop, kQuit, kVrfy, kHelp, kStartTls,
              kXforward, kUnknown };
  Verb verb = kUnknown;
  std::string name;  // the verb as sent, upper-cased
  std::string arg;   // the rest, after one space
};
Command ParseCommand(absl::string_view line);

// The argument of MAIL FROM: / RCPT TO: ("<a@b> SIZE=10 BODY=8BITMIME").
struct PathArgument {
  std::string address;  // without brackets; "" for the null sender
  std::vector<std::pair<std::string, std::string>> params;  // names upper-cased
  std::string Param(absl::string_view name) const;
  bool HasParam(absl::string_view name) const;
};
// `prefix` is "FROM:" or "TO:". InvalidArgument with the text for a 501 reply.
absl::StatusOr<PathArgument> ParsePath(absl::string_view arg, absl::string_view prefix,
                                       bool allow_null);

// One reply, possibly multi-line.
struct Reply {
  int code = 0;
  std::string enhanced;             // "5.7.1" when the first line carries one
  std::vector<std::string> lines;   // text of each line, code and enhanced code removed
  std::string Text() const;         // lines joined with '\n'
};
// "250-..." lines; a '\n' in text makes continuation lines.
std::string FormatReply(int code, absl::string_view enhanced, absl::string_view text);
std::string FormatReply(const Reply& r);

// Assembles replies from a server's lines; InvalidArgument for a line that is not a reply.
class ReplyReader {
 public:
  absl::StatusOr<std::optional<Reply>> Add(absl::string_view line);

 private:
  Reply partial_;
};

// The message body of DATA, un-stuffed, with limits. Lines go in as LineReader gives them.
class DataReader {
 public:
  DataReader(uint64_t max_bytes) : max_(max_bytes) {}
  // True at the terminating "." line (CRLF-ended only: a bare-LF "." does not end it).
  bool Add(const LineReader::Line& line);
  std::string& message() { return message_; }
  uint64_t size() const { return size_; }
  bool too_big() const { return size_ > max_; }
  bool line_too_long() const { return line_too_long_; }
  bool bare_lf() const { return bare_lf_; }

 private:
  uint64_t max_;
  uint64_t size_ = 0;
  std::string message_;
  bool line_too_long_ = false;
  bool bare_lf_ = false;
};

// The message as DATA content: CRLF line ends, leading dots doubled, ".\r\n" at the end.
std::string DotStuff(absl::string_view message);

}  // namespace farside::smtp

#endif  // FARSIDE_LIB_SMTP_CODEC_H_
