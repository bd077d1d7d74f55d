// The MIME tree parser: a recursive descent over byte ranges, splitting multiparts at
// their delimiter lines (RFC 2046 5.1.1) and decoding leaves.
#include "lib/mime/message.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "lib/common/config_loader.h"
#include "lib/mime/charset.h"
#include "lib/mime/transfer.h"

namespace farside::mime {

class Parser {
 public:
  Parser(Message* msg, const farside::v1::MimeLimits& limits)
      : msg_(msg),
        limits_(limits),
        deadline_(absl::Now() + absl::Nanoseconds(google::protobuf::util::TimeUtil::DurationToNanoseconds(
                                    limits.max_parse_time()))) {}

  void Entity(absl::string_view text, int parent, int depth, absl::string_view default_type);
  void CheckLineLengths(absl::string_view text);

 private:
  void Note(const char* name) { msg_->anomalies_.insert(name); }
  bool OutOfTime() {
    if (absl::Now() <= deadline_) return false;
    Note(anomaly::kTimeLimit);
    return true;
  }
  void Multipart(int index, const std::string& boundary, int depth);
  void Leaf(int index);

  Message* msg_;
  const farside::v1::MimeLimits& limits_;
  absl::Time deadline_;
  uint64_t decoded_total_ = 0;
};

namespace {

// Whether `line` (without its line end) is the delimiter "--boundary" or the close
// delimiter "--boundary--", either possibly followed by blanks (transport padding).
int DelimiterKind(absl::string_view line, absl::string_view boundary) {
  if (line.size() < boundary.size() + 2 || line[0] != '-' || line[1] != '-') return 0;
  if (line.substr(2, boundary.size()) != boundary) return 0;
  absl::string_view rest = line.substr(2 + boundary.size());
  int kind = 1;
  if (absl::StartsWith(rest, "--")) {
    kind = 2;
    rest.remove_prefix(2);
  }
  for (char c : rest) {
    if (c != ' ' && c != '\t') return 0;
  }
  return kind;
}

}  // namespace

const HtmlContent& Part::Html() const {
  if (!html_.has_value()) html_ = is_html() ? HtmlToText(text) : HtmlContent();
  return *html_;
}

bool Part::is_attachment() const {
  if (disposition == "attachment") return true;
  if (!filename.has_value() || filename->empty()) return false;
  return !(disposition == "inline" && is_text());
}

void Parser::CheckLineLengths(absl::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    size_t end = eol == absl::string_view::npos ? text.size() : eol;
    if (end - pos > limits_.max_line_bytes()) {
      Note(anomaly::kLineTooLong);
      return;
    }
    pos = end + 1;
  }
}

void Parser::Entity(absl::string_view text, int parent, int depth,
                    absl::string_view default_type) {
  std::vector<Part>& parts = msg_->parts_;
  if (parts.size() >= limits_.max_parts()) {
    Note(anomaly::kTooManyParts);
    return;
  }
  const int index = static_cast<int>(parts.size());
  parts.emplace_back();
  if (parent >= 0) parts[parent].children.push_back(index);
  Part& p = parts.back();
  p.parent = parent;
  p.depth = depth;

  HeaderBlockInfo info;
  p.headers = Headers::Parse(text, limits_.max_headers(), limits_.max_header_line_bytes(), &info);
  if (info.bad_line) Note(anomaly::kBadHeaderLine);
  if (info.empty_name) Note(anomaly::kEmptyHeaderName);
  if (info.had_8bit) Note(anomaly::k8bitHeader);
  if (info.broken_encoded_word) Note(anomaly::kBrokenEncodedWord);
  if (info.too_many) Note(anomaly::kTooManyHeaders);
  if (info.line_too_long) Note(anomaly::kHeaderTooLong);
  p.body = text.substr(info.body_offset);

  if (const HeaderField* ct = p.headers.Find("Content-Type")) {
    p.content_type_params = ParseParameterizedValue(ct->raw);
    p.content_type = MediaType(p.content_type_params);
    if (p.content_type.empty()) {
      // RFC 2045 5.2: a syntactically invalid Content-Type means text/plain.
      Note(anomaly::kBadContentType);
      p.content_type = "text/plain";
    }
    if (p.content_type_params.malformed) Note(anomaly::kBadParameters);
  } else {
    p.content_type = std::string(default_type);
  }
  p.charset = NormalizeCharset(p.content_type_params.Get("charset").value_or(""));
  if (const HeaderField* cd = p.headers.Find("Content-Disposition")) {
    ParsedValue d = ParseParameterizedValue(cd->raw);
    p.disposition = d.token;
    if (d.malformed) Note(anomaly::kBadParameters);
    p.filename = d.Get("filename");
  }
  if (!p.filename.has_value()) p.filename = p.content_type_params.Get("name");
  if (const HeaderField* cte = p.headers.Find("Content-Transfer-Encoding")) {
    p.transfer_encoding = absl::AsciiStrToLower(absl::StripAsciiWhitespace(cte->raw));
  }

  if (OutOfTime()) return;
  if (absl::StartsWith(p.content_type, "multipart/")) {
    std::optional<std::string> boundary = p.content_type_params.Get("boundary");
    if (!boundary.has_value() || boundary->empty()) {
      Note(anomaly::kNoBoundary);
      Leaf(index);
      return;
    }
    if (depth == 0 && msg_->parts_[0].headers.Find("MIME-Version") == nullptr) {
      Note(anomaly::kNoMimeVersion);
    }
    if (depth + 1 > static_cast<int>(limits_.max_depth())) {
      Note(anomaly::kTooDeep);
      return;
    }
    Multipart(index, *boundary, depth);
    return;
  }
  // message/rfc822 and kin (global, partial, external-body, rfc822-headers) carry a message
  // or at least its header; message/delivery-status is fields only (RFC 3464) and stays a leaf.
  if (absl::StartsWith(p.content_type, "message/") &&
      p.content_type != "message/delivery-status" &&
      p.content_type != "message/disposition-notification" &&
      p.content_type != "message/feedback-report") {
    if (depth + 1 > static_cast<int>(limits_.max_depth())) {
      Note(anomaly::kTooDeep);
      return;
    }
    absl::string_view inner = p.body;
    const std::string& cte = p.transfer_encoding;
    if (cte == "base64" || cte == "quoted-printable") {
      // Not allowed for message/rfc822 (RFC 2046 5.2.1), but senders do it.
      Note(anomaly::kEncodedMessage);
      Decoded d = cte == "base64" ? DecodeBase64(p.body) : DecodeQuotedPrintable(p.body);
      msg_->owned_.push_back(std::move(d.bytes));
      inner = msg_->owned_.back();
    }
    msg_->parts_[index].is_message = true;
    Entity(inner, index, depth + 1, "text/plain");
    return;
  }
  Leaf(index);
}

void Parser::Multipart(int index, const std::string& boundary, int depth) {
  const std::string child_default =
      msg_->parts_[index].content_type == "multipart/digest" ? "message/rfc822" : "text/plain";
  absl::string_view body = msg_->parts_[index].body;
  // Find delimiter lines; the line break before a delimiter belongs to it (RFC 2046 5.1.1).
  struct Range {
    size_t start, end;
    bool last;  // ends at the close delimiter or at the end of the body
  };
  std::vector<Range> ranges;
  size_t pos = 0;
  size_t part_start = std::string::npos;
  bool closed = false, found = false;
  while (pos <= body.size()) {
    size_t eol = body.find('\n', pos);
    size_t line_end = eol == absl::string_view::npos ? body.size() : eol;
    absl::string_view line = body.substr(pos, line_end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    int kind = line.size() >= 2 && line[0] == '-' ? DelimiterKind(line, boundary) : 0;
    if (kind != 0) {
      found = true;
      if (part_start != std::string::npos) {
        size_t end = pos;  // drop the line break that precedes this delimiter
        if (end > part_start && body[end - 1] == '\n') --end;
        if (end > part_start && body[end - 1] == '\r') --end;
        ranges.push_back({part_start, end, kind == 2});
      }
      if (kind == 2) {
        closed = true;
        if (eol != absl::string_view::npos) msg_->parts_[index].epilogue = body.substr(eol + 1);
        break;
      }
      part_start = eol == absl::string_view::npos ? body.size() : eol + 1;
    }
    if (eol == absl::string_view::npos) break;
    pos = eol + 1;
  }
  if (!found) {
    Note(anomaly::kNoStartBoundary);
    return;
  }
  if (!closed) {
    Note(anomaly::kNoCloseBoundary);
    if (part_start != std::string::npos && part_start <= body.size()) {
      ranges.push_back({part_start, body.size(), true});
    }
  }
  msg_->parts_[index].is_multipart = true;
  for (const Range& r : ranges) {
    if (OutOfTime()) return;
    // Two delimiters in a row share the line break between them: no part lies there. The
    // part before the close delimiter (or the end) counts even when empty, as mail readers
    // (and Python's email) see it.
    if (r.start >= r.end && !r.last) continue;
    Entity(body.substr(r.start, r.end > r.start ? r.end - r.start : 0), index, depth + 1,
           child_default);
  }
}

void Parser::Leaf(int index) {
  Part& p = msg_->parts_[index];
  const std::string& cte = p.transfer_encoding;
  if (cte == "base64") {
    Decoded d = DecodeBase64(p.body);
    if (d.errors > 0) Note(anomaly::kBadBase64);
    p.decoded = std::move(d.bytes);
  } else if (cte == "quoted-printable") {
    Decoded d = DecodeQuotedPrintable(p.body);
    if (d.errors > 0) Note(anomaly::kBadQuotedPrintable);
    p.decoded = std::move(d.bytes);
  } else {
    if (!cte.empty() && cte != "7bit" && cte != "8bit" && cte != "binary") {
      Note(anomaly::kUnknownEncoding);
    }
    p.decoded = std::string(p.body);
  }
  decoded_total_ += p.decoded.size();
  if (decoded_total_ > limits_.max_decoded_bytes()) {
    Note(anomaly::kDecodedTooBig);
    uint64_t over = decoded_total_ - limits_.max_decoded_bytes();
    p.decoded.resize(p.decoded.size() - std::min<uint64_t>(over, p.decoded.size()));
    decoded_total_ = limits_.max_decoded_bytes();
  }
  if (!p.is_text() || p.is_attachment()) {
    p.detected_type = DetectType(p.decoded);
    if (p.detected_type == "application/zip" || p.detected_type == "application/java-archive" ||
        p.detected_type == "application/vnd.openxmlformats") {
      p.archive = ListZip(p.decoded);
    }
  }
  if (p.is_text() && !p.is_attachment()) {
    Converted c = ToUtf8(p.decoded, p.charset);
    if (!c.declared_ok) Note(p.charset.empty() ? anomaly::kMissingCharset : anomaly::kCharsetMismatch);
    p.text = std::move(c.text);
    p.text_charset = std::move(c.charset);
  }
}

Message Message::Parse(absl::string_view bytes, const farside::v1::MimeLimits& limits) {
  Message msg;
  msg.size_ = bytes.size();
  msg.max_urls_ = limits.max_urls();
  Parser parser(&msg, limits);
  if (bytes.size() > limits.max_message_bytes()) {
    msg.anomalies_.insert(anomaly::kMessageTooBig);
    bytes = bytes.substr(0, limits.max_message_bytes());
  }
  msg.raw_ = bytes;
  parser.CheckLineLengths(bytes);
  parser.Entity(bytes, -1, 0, "text/plain");
  return msg;
}

const farside::v1::MimeLimits& Message::DefaultLimits() {
  static const farside::v1::MimeLimits* limits = [] {
    auto* l = new farside::v1::MimeLimits();
    config::ApplyDefaults(l);
    return l;
  }();
  return *limits;
}

const Extracted& Message::Links() const {
  if (links_.has_value()) return *links_;
  Extracted all;
  for (const Part& p : parts_) {
    if (!p.is_leaf() || !p.is_text() || p.text.empty()) continue;
    if (p.is_html()) {
      const HtmlContent& h = p.Html();
      auto add = [&](const std::string& raw, Url::Source src, const std::string& anchor) {
        if (absl::StartsWithIgnoreCase(raw, "mailto:")) {
          ExtractFromText(raw, max_urls_, &all);
          return;
        }
        if (std::optional<Url> u = ParseUrl(raw, src)) {
          u->anchor_text = anchor;
          all.urls.push_back(std::move(*u));
        }
      };
      for (const HtmlLink& l : h.links) add(l.href, Url::Source::kHtmlLink, l.text);
      for (const std::string& i : h.images) add(i, Url::Source::kHtmlImage, "");
      for (const std::string& f : h.forms) add(f, Url::Source::kHtmlForm, "");
      ExtractFromText(h.text, max_urls_, &all);
    } else {
      ExtractFromText(p.text, max_urls_, &all);
    }
  }
  // Each URL and address once, first sighting kept (an href beats the same text later).
  Extracted out;
  std::set<std::string> seen;
  for (Url& u : all.urls) {
    if (out.urls.size() >= max_urls_) break;
    if (seen.insert(u.url).second) out.urls.push_back(std::move(u));
  }
  seen.clear();
  for (EmailAddress& e : all.emails) {
    if (out.emails.size() >= max_urls_) break;
    if (seen.insert(e.address).second) out.emails.push_back(std::move(e));
  }
  links_ = std::move(out);
  return *links_;
}

std::vector<Address> Message::Addresses(absl::string_view name) const {
  std::vector<Address> out;
  for (const HeaderField* f : headers().FindAll(name)) {
    for (Address& a : ParseAddressList(f->raw)) out.push_back(std::move(a));
  }
  return out;
}

std::optional<DateTime> Message::Date() const {
  const HeaderField* f = headers().Find("Date");
  return f == nullptr ? std::nullopt : ParseDate(f->raw);
}

const std::vector<ReceivedHop>& Message::Received() const {
  if (received_.has_value()) return *received_;
  std::vector<ReceivedHop>& out = received_.emplace();
  for (const HeaderField* f : headers().FindAll("Received")) out.push_back(ParseReceived(f->raw));
  return out;
}

std::string Message::MessageId() const {
  const HeaderField* f = headers().Find("Message-ID");
  if (f == nullptr) return "";
  absl::string_view id = f->raw;
  size_t open = id.find('<');
  size_t close = open == absl::string_view::npos ? open : id.find('>', open);
  if (close != absl::string_view::npos) return std::string(id.substr(open + 1, close - open - 1));
  return std::string(absl::StripAsciiWhitespace(id));
}

std::string Message::Subject() const {
  const HeaderField* f = headers().Find("Subject");
  return f == nullptr ? "" : f->value;
}

}  // namespace farside::mime
