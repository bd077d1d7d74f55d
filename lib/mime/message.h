// The parsed message every check reads: the MIME tree (multipart at any depth,
// message/rfc822 parsed recursively), each leaf decoded, text converted to UTF-8, and the
// anomalies met on the way. Parsing never fails; limits stop it from going deeper.
#ifndef FARSIDE_LIB_MIME_MESSAGE_H_
#define FARSIDE_LIB_MIME_MESSAGE_H_

#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "farside/v1/config.pb.h"
#include "lib/mime/address.h"
#include "lib/mime/content_type.h"
#include "lib/mime/filetype.h"
#include "lib/mime/header.h"
#include "lib/mime/html.h"
#include "lib/mime/urls.h"

namespace farside::mime {

// Anomaly names: stable, upper case, and turned into symbols by the scanner.
namespace anomaly {
inline constexpr char kBadHeaderLine[] = "MIME_BAD_HEADER_LINE";
inline constexpr char kEmptyHeaderName[] = "MIME_EMPTY_HEADER_NAME";
inline constexpr char k8bitHeader[] = "MIME_8BIT_HEADER";
inline constexpr char kBrokenEncodedWord[] = "MIME_BROKEN_ENCODED_WORD";
inline constexpr char kBadContentType[] = "MIME_BAD_CONTENT_TYPE";
inline constexpr char kBadParameters[] = "MIME_BAD_PARAMETERS";
inline constexpr char kNoBoundary[] = "MIME_MULTIPART_NO_BOUNDARY";
inline constexpr char kNoStartBoundary[] = "MIME_NO_START_BOUNDARY";
inline constexpr char kNoCloseBoundary[] = "MIME_NO_CLOSE_BOUNDARY";
inline constexpr char kNoMimeVersion[] = "MIME_MULTIPART_WITHOUT_MIME_VERSION";
inline constexpr char kBadBase64[] = "MIME_BAD_BASE64";
inline constexpr char kBadQuotedPrintable[] = "MIME_BAD_QUOTED_PRINTABLE";
inline constexpr char kUnknownEncoding[] = "MIME_UNKNOWN_TRANSFER_ENCODING";
inline constexpr char kEncodedMessage[] = "MIME_ENCODED_MESSAGE_PART";
inline constexpr char kCharsetMismatch[] = "MIME_CHARSET_MISMATCH";
inline constexpr char kMissingCharset[] = "MIME_MISSING_CHARSET";
inline constexpr char kTooManyHeaders[] = "MIME_LIMIT_HEADERS";
inline constexpr char kHeaderTooLong[] = "MIME_LIMIT_HEADER_LENGTH";
inline constexpr char kLineTooLong[] = "MIME_LIMIT_LINE_LENGTH";
inline constexpr char kTooDeep[] = "MIME_LIMIT_DEPTH";
inline constexpr char kTooManyParts[] = "MIME_LIMIT_PARTS";
inline constexpr char kDecodedTooBig[] = "MIME_LIMIT_DECODED_SIZE";
inline constexpr char kTimeLimit[] = "MIME_LIMIT_TIME";
inline constexpr char kMessageTooBig[] = "MIME_LIMIT_MESSAGE_SIZE";
}  // namespace anomaly

struct Part {
  int parent = -1;  // index into Message::parts(), -1 for the root
  int depth = 0;
  Headers headers;
  std::string content_type;  // "type/subtype", lower case, defaulted as RFC 2045 5.2 says
  ParsedValue content_type_params;
  std::string charset;       // declared, normalised; empty if none
  std::optional<std::string> filename;  // Content-Disposition filename, else Content-Type name
  std::string disposition;   // "attachment", "inline" or empty
  std::string transfer_encoding;  // lower case; empty means 7bit
  absl::string_view body;    // as transferred, before decoding
  std::vector<int> children;
  bool is_multipart = false;  // has parsed children from a boundary
  // Multiparts: what follows the close delimiter's line (RFC 2046 5.1.1's epilogue).
  absl::string_view epilogue;
  bool is_message = false;    // message/rfc822 with its inner message as the one child
  // Leaves only:
  std::string decoded;       // after the transfer decoding
  std::string text;          // text/* leaves: the content as UTF-8
  std::string text_charset;  // the charset the text was read with
  std::string detected_type;  // non-text leaves: the type its bytes show (may differ!)
  ArchiveListing archive;     // zip attachments: the members
  // text/html leaves: visible text, links, images, forms; built on first use (it costs
  // several times the rest of the parse), empty for other parts.
  const HtmlContent& Html() const;

  bool is_leaf() const { return children.empty(); }
  bool is_html() const { return content_type == "text/html" && !text.empty(); }
  bool is_text() const { return content_type.rfind("text/", 0) == 0; }
  mutable std::optional<HtmlContent> html_;  // cache for Html()

  // A part a person would call an attachment: a disposition of attachment, or a file name
  // on a part that is not the message's own text.
  bool is_attachment() const;
};

class Message {
 public:
  // `bytes` must outlive the Message: part bodies point into it.
  static Message Parse(absl::string_view bytes, const farside::v1::MimeLimits& limits);
  // The built-in limits (the config defaults).
  static const farside::v1::MimeLimits& DefaultLimits();

  const std::vector<Part>& parts() const { return parts_; }  // depth first, root first
  const Part& root() const { return parts_.front(); }
  const Headers& headers() const { return parts_.front().headers; }
  // The decoded Subject, or empty.
  std::string Subject() const;
  // The Message-ID without angle brackets, or empty.
  std::string MessageId() const;
  // Every address of every field called `name` (From, To, Cc, Reply-To, ...), in order.
  std::vector<Address> Addresses(absl::string_view name) const;
  // The Date field, if there is one that can be read.
  std::optional<DateTime> Date() const;
  // The Received fields as hops, newest (topmost) first; parsed on first use.
  const std::vector<ReceivedHop>& Received() const;
  // Anomaly names, sorted, each once.
  const std::set<std::string>& anomalies() const { return anomalies_; }
  size_t size() const { return size_; }
  // The bytes parsed (the message as received, up to max_message_bytes).
  absl::string_view raw() const { return raw_; }
  // URLs and e-mail addresses of the text parts and the HTML parts' links, images, forms
  // and visible text, each once; built on first use.
  const Extracted& Links() const;

 private:
  friend class Parser;
  std::vector<Part> parts_;
  std::set<std::string> anomalies_;
  std::deque<std::string> owned_;  // decoded bodies of encoded message/rfc822 parts
  size_t size_ = 0;
  absl::string_view raw_;
  size_t max_urls_ = 0;
  mutable std::optional<Extracted> links_;
  mutable std::optional<std::vector<ReceivedHop>> received_;
};

}  // namespace farside::mime

#endif  // FARSIDE_LIB_MIME_MESSAGE_H_
