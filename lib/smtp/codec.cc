// SMTP lines, commands, paths, replies and the DATA phase.
#include "lib/smtp/codec.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace farside::smtp {

void LineReader::Feed(absl::string_view bytes) {
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes.data(), bytes.size());
}

std::optional<LineReader::Line> LineReader::Next() {
  while (true) {
    absl::string_view avail(buf_.data() + pos_, buf_.size() - pos_);
    size_t lf = avail.find('\n');
    if (skipping_) {
      // Drop the rest of an over-long line up to its end.
      if (lf == absl::string_view::npos) {
        pos_ = buf_.size();
        return std::nullopt;
      }
      pos_ += lf + 1;
      skipping_ = false;
      continue;
    }
    if (lf == absl::string_view::npos) {
      if (avail.size() <= max_ + 1) return std::nullopt;  // +1: a CR may still come
      Line l;
      l.text = std::string(avail.substr(0, max_));
      l.too_long = true;
      pos_ = buf_.size();
      skipping_ = true;
      return l;
    }
    Line l;
    absl::string_view text = avail.substr(0, lf);
    if (!text.empty() && text.back() == '\r') {
      text.remove_suffix(1);
    } else {
      l.bare_lf = true;
    }
    if (text.size() > max_) {
      text = text.substr(0, max_);
      l.too_long = true;
    }
    l.text = std::string(text);
    pos_ += lf + 1;
    return l;
  }
}

Command ParseCommand(absl::string_view line) {
  Command c;
  size_t sp = line.find(' ');
  absl::string_view verb = line.substr(0, sp);
  c.name = absl::AsciiStrToUpper(verb);
  if (sp != absl::string_view::npos) c.arg = std::string(line.substr(sp + 1));
  static const std::pair<const char*, Command::Verb> kVerbs[] = {
      {"HELO", Command::kHelo}, {"EHLO", Command::kEhlo}, {"MAIL", Command::kMail},
      {"RCPT", Command::kRcpt}, {"DATA", Command::kData}, {"RSET", Command::kRset},
      {"NOOP", Command::kNoop}, {"QUIT", Command::kQuit}, {"VRFY", Command::kVrfy},
      {"HELP", Command::kHelp}, {"STARTTLS", Command::kStartTls},
      {"XFORWARD", Command::kXforward}};
  for (const auto& [n, v] : kVerbs) {
    if (c.name == n) c.verb = v;
  }
  return c;
}

std::string PathArgument::Param(absl::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return "";
}

bool PathArgument::HasParam(absl::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return true;
  }
  return false;
}

absl::StatusOr<PathArgument> ParsePath(absl::string_view arg, absl::string_view prefix,
                                       bool allow_null) {
  absl::string_view a = absl::StripLeadingAsciiWhitespace(arg);
  if (a.size() < prefix.size() || !absl::EqualsIgnoreCase(a.substr(0, prefix.size()), prefix)) {
    return absl::InvalidArgumentError(absl::StrCat("Syntax: ", prefix, "<address>"));
  }
  a.remove_prefix(prefix.size());
  a = absl::StripLeadingAsciiWhitespace(a);  // some clients write "FROM: <a@b>"
  PathArgument p;
  if (a.empty() || a[0] != '<') {
    return absl::InvalidArgumentError("the address must be in angle brackets");
  }
  size_t close = a.find('>');
  if (close == absl::string_view::npos) return absl::InvalidArgumentError("missing '>'");
  absl::string_view addr = a.substr(1, close - 1);
  // A source route (@a,@b:user@c) is obsolete; keep the mailbox.
  if (!addr.empty() && addr[0] == '@') {
    size_t colon = addr.find(':');
    if (colon == absl::string_view::npos) return absl::InvalidArgumentError("bad source route");
    addr = addr.substr(colon + 1);
  }
  for (char ch : addr) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f || ch == ' ' || ch == '<') {
      return absl::InvalidArgumentError("the address has a character it may not have");
    }
  }
  if (addr.empty() && !allow_null) return absl::InvalidArgumentError("an empty address is not allowed here");
  if (!addr.empty() && addr.find('@') == absl::string_view::npos && !absl::EqualsIgnoreCase(addr, "postmaster")) {
    return absl::InvalidArgumentError("the address has no domain");
  }
  p.address = std::string(addr);
  for (absl::string_view param :
       absl::StrSplit(a.substr(close + 1), ' ', absl::SkipWhitespace())) {
    size_t eq = param.find('=');
    std::string k = absl::AsciiStrToUpper(param.substr(0, eq));
    if (k.empty()) return absl::InvalidArgumentError("an empty parameter name");
    p.params.emplace_back(std::move(k), eq == absl::string_view::npos
                                            ? std::string()
                                            : std::string(param.substr(eq + 1)));
  }
  return p;
}

std::string Reply::Text() const { return absl::StrJoin(lines, "\n"); }

std::string FormatReply(int code, absl::string_view enhanced, absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::StrAppend(&out, code, i + 1 < lines.size() ? "-" : " ");
    if (!enhanced.empty()) absl::StrAppend(&out, enhanced, " ");
    absl::StrAppend(&out, absl::StripSuffix(lines[i], "\r"), "\r\n");
  }
  return out;
}

std::string FormatReply(const Reply& r) { return FormatReply(r.code, r.enhanced, r.Text()); }

absl::StatusOr<std::optional<Reply>> ReplyReader::Add(absl::string_view line) {
  int code = 0;
  if (line.size() < 3 || !absl::SimpleAtoi(line.substr(0, 3), &code) || code < 200 ||
      code > 599 || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    return absl::InvalidArgumentError(absl::StrCat("not an SMTP reply: '", line.substr(0, 80), "'"));
  }
  if (!partial_.lines.empty() && code != partial_.code) {
    return absl::InvalidArgumentError("a multi-line reply changed its code");
  }
  partial_.code = code;
  absl::string_view text = line.size() > 4 ? line.substr(4) : "";
  // An enhanced code "X.Y.Z" starting with the reply's class.
  std::vector<absl::string_view> w = absl::StrSplit(text, absl::MaxSplits(' ', 1));
  std::vector<absl::string_view> parts = absl::StrSplit(w[0], '.');
  if (parts.size() == 3 && parts[0].size() == 1 && parts[0][0] == line[0] &&
      !parts[1].empty() && !parts[2].empty()) {
    if (partial_.lines.empty()) partial_.enhanced = std::string(w[0]);
    text = w.size() > 1 ? w[1] : "";
  }
  partial_.lines.emplace_back(text);
  if (line.size() > 3 && line[3] == '-') return std::nullopt;
  Reply done = std::move(partial_);
  partial_ = Reply();
  return done;
}

bool DataReader::Add(const LineReader::Line& line) {
  if (line.text == "." && !line.bare_lf) return true;
  bare_lf_ |= line.bare_lf;
  line_too_long_ |= line.too_long;
  absl::string_view t = line.text;
  if (!t.empty() && t[0] == '.') t.remove_prefix(1);  // un-stuff
  size_ += t.size() + 2;
  if (size_ <= max_) {
    message_.append(t.data(), t.size());
    message_ += "\r\n";
  } else if (!message_.empty()) {
    message_.clear();  // refused at the end: do not hold it
    message_.shrink_to_fit();
  }
  return false;
}

std::string DotStuff(absl::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 50 + 8);
  bool line_start = true;
  for (size_t i = 0; i < message.size(); ++i) {
    char c = message[i];
    if (line_start && c == '.') out += '.';
    if (c == '\n' && (i == 0 || message[i - 1] != '\r')) out += '\r';
    if (c == '\r' && (i + 1 >= message.size() || message[i + 1] != '\n')) {
      out += "\r\n";  // a bare CR becomes a line end
      line_start = true;
      continue;
    }
    out += c;
    line_start = c == '\n';
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
  return out;
}

}  // namespace farside::smtp
