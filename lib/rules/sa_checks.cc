// SpamAssassin's eval checks, ported: each says in its comment what SpamAssassin's looks for.
#include "lib/rules/sa_checks.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/mime/address.h"
#include "lib/mime/urls.h"
#include "lib/rules/message_fields.h"
#include "lib/rules/rule_set.h"

namespace farside::rules {
namespace {

// Every value of the fields called `field`, each followed by `sep`, as SpamAssassin reads a
// field that occurs more than once.
std::string JoinedValues(const mime::Message& msg, const char* field, absl::string_view sep) {
  std::string out;
  for (const mime::HeaderField* f : msg.headers().FindAll(field)) absl::StrAppend(&out, f->value, sep);
  return out;
}

// The sender's addresses: Resent-From's when it has any, else the first address of From,
// Envelope-Sender, Resent-Sender, X-Envelope-From and the envelope sender.
std::vector<std::string> SenderAddresses(const mime::Message& msg, CheckCache& cache) {
  std::vector<std::string> out;
  if (const mime::HeaderField* f = msg.headers().Find("Resent-From");
      f != nullptr && !absl::StripAsciiWhitespace(f->raw).empty()) {
    for (const mime::Address& a : mime::ParseAddressList(f->raw)) {
      out.push_back(absl::AsciiStrToLower(a.addr_spec()));
    }
    return out;
  }
  for (const char* field : {"From", "Envelope-Sender", "Resent-Sender", "X-Envelope-From", "EnvelopeFrom"}) {
    const std::string& a = cache.addresses(msg, field).first;
    if (!a.empty()) out.push_back(a);
  }
  return out;
}

// tvd_vertical_words' measure, fed the text piece by piece (no copy of it is made):
// paragraphs end where a white space run holds two line breaks (/\n\s*\n/: the run's
// white space before its first break stays with the paragraph, after its last starts the
// next), and each other run of white space counts as one space.
class SpaceRatio {
 public:
  SpaceRatio& Feed(absl::string_view text) {
    for (char ch : text) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(ch))) {
        CloseRun();
        ++len_;
        continue;
      }
      if (!in_run_) {
        in_run_ = true;
        pre_ = breaks_ = post_ = 0;
      }
      if (ch == '\n') {
        ++breaks_;
        post_ = 0;
      } else {
        ++(breaks_ == 0 ? pre_ : post_);
      }
    }
    return *this;
  }
  // The highest share of spaces to other characters of the paragraphs over 5 characters,
  // in percent (100 when spaces are the most); -1 when there is none.
  int Best() {
    CloseRun();
    EndParagraph();
    return best_;
  }

 private:
  void CloseRun() {
    if (!in_run_) return;
    in_run_ = false;
    if (breaks_ < 2) {
      Space();
      return;
    }
    if (pre_ > 0) Space();
    EndParagraph();
    if (post_ > 0) Space();
  }
  void Space() {
    ++len_;
    ++spaces_;
  }
  void EndParagraph() {
    if (len_ > 5) {
      const size_t non = len_ - spaces_;
      best_ = std::max(best_, spaces_ > non || non == 0 ? 100 : static_cast<int>(100 * spaces_ / non));
    }
    len_ = spaces_ = 0;
  }

  size_t len_ = 0, spaces_ = 0;
  bool in_run_ = false;
  size_t pre_ = 0, breaks_ = 0, post_ = 0;  // the open white space run
  int best_ = -1;
};

// Width times height of an image from its first bytes, as SpamAssassin's ImageInfo reads
// GIF, PNG and JPEG headers; 0 when they do not say.
double ImagePixels(absl::string_view d, absl::string_view type) {
  auto u8 = [&](size_t i) { return i < d.size() ? static_cast<unsigned char>(d[i]) : 0u; };
  auto be16 = [&](size_t i) { return u8(i) << 8 | u8(i + 1); };
  auto be32 = [&](size_t i) { return static_cast<double>(be16(i)) * 65536 + be16(i + 2); };
  if (type == "gif") {
    if (d.size() < 10 || !(absl::StartsWith(d, "GIF87a") || absl::StartsWith(d, "GIF89a"))) return 0;
    return static_cast<double>(u8(6) | u8(7) << 8) * (u8(8) | u8(9) << 8);
  }
  if (type == "png") {
    if (d.size() < 24 || d.substr(0, 8) != absl::string_view("\x89PNG\r\n\x1a\n", 8) || d.substr(12, 4) != "IHDR") return 0;
    return be32(16) * be32(20);
  }
  if (d.size() < 4 || u8(0) != 0xFF || u8(1) != 0xD8) return 0;
  for (size_t pos = 2; pos + 4 <= d.size();) {
    const unsigned mark = u8(pos + 1), len = be16(pos + 2);
    if (u8(pos) != 0xFF || mark == 0xDA || mark == 0xD9 || len < 2) break;
    pos += 4;
    if ((mark >= 0xC0 && mark <= 0xC3) || (mark >= 0xC5 && mark <= 0xC7) || (mark >= 0xC9 && mark <= 0xCB) ||
        (mark >= 0xCD && mark <= 0xCF)) {
      return static_cast<double>(be16(pos + 1)) * be16(pos + 3);
    }
    pos += len - 2;
  }
  return 0;
}

// The pixels of the message's base64 GIF, PNG and JPEG parts of a type ("all" for any).
double ImageArea(const mime::Message& msg, absl::string_view type) {
  double total = 0;
  for (const mime::Part& p : msg.parts()) {
    if (!p.is_leaf() || p.transfer_encoding != "base64") continue;
    absl::string_view t = p.content_type;
    if (!absl::ConsumePrefix(&t, "image/")) continue;
    if (t == "jpg") t = "jpeg";
    if (t != "gif" && t != "png" && t != "jpeg") continue;
    if (type != "all" && type != t) continue;
    total += ImagePixels(p.decoded, t);
  }
  return total;
}

bool Compare(double v, const std::string& op, double n) {
  if (op == "<") return v < n;
  if (op == "<=") return v <= n;
  if (op == "==") return v == n;
  if (op == "!=") return v != n;
  if (op == ">=") return v >= n;
  return v > n;
}

size_t Utf8Length(absl::string_view s) {
  size_t n = 0;
  for (char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

// The HTML checks: each looks at every text/html part and hits on the first that passes.
std::optional<std::string> RunHtmlCheck(const CheckSpec& r, const mime::Message& msg, CheckCache& cache) {
  using Check = CheckSpec::Kind;
  if (!cache.sa_html.has_value()) {
    std::vector<SaHtmlStats>& all = cache.sa_html.emplace();
    for (const mime::Part& p : msg.parts()) {
      if (p.is_leaf() && p.is_html()) all.push_back(SaHtml(p.text));
    }
  }
  size_t k = 0;
  for (const mime::Part& p : msg.parts()) {
    if (!p.is_leaf() || !p.is_html()) continue;
    const SaHtmlStats& h = (*cache.sa_html)[k++];
    switch (r.kind) {
      case Check::kHtmlTagExists:
        if (h.inside.count(r.arg)) return r.arg;
        break;
      case Check::kHtmlTagBalance:
        if (auto it = h.inside.find(r.arg); it != h.inside.end() && Compare(it->second, r.op, *r.min)) {
          return absl::StrCat(r.arg, " ", it->second);
        }
        break;
      case Check::kHtmlEval:
      case Check::kHtmlRange: {
        std::optional<double> v = h.Value(r.arg);
        if (!v.has_value()) break;
        const bool hit = r.kind == Check::kHtmlEval ? Compare(*v, r.op, *r.min)
                                                    : *v > *r.min && (!r.max.has_value() || *v <= *r.max);
        if (hit) return absl::StrCat(r.arg, " ", *v);
        break;
      }
      case Check::kHtmlTextMatch:
        for (const std::string& t : *h.Texts(r.arg)) {
          if (auto m = r.regex->Find(t, 100000); m.has_value()) return std::string(m->substr(0, 40));
        }
        break;
      case Check::kHtmlFlag:
        if (r.arg == "embeds" ? h.embeds : r.arg == "font_face_bad" ? h.font_face_bad : h.form_action_mailto) {
          return r.arg;
        }
        break;
      case Check::kHtmlImageRatio: {
        if (h.image_area <= 0) break;
        size_t visible = 0;
        for (char ch : p.Html().text) visible += !absl::ascii_isspace(static_cast<unsigned char>(ch));
        const double ratio = visible / h.image_area;
        if (ratio > *r.min && ratio <= *r.max) return absl::StrCat(ratio);
        break;
      }
      case Check::kHtmlTitleSubjectRatio: {
        const mime::HeaderField* subject = msg.headers().Find("Subject");
        if (subject == nullptr || subject->value.empty()) return std::nullopt;
        const double len = Utf8Length(subject->value);
        for (const std::string& t : h.titles) {
          if (!t.empty() && Utf8Length(t) / len > *r.min) return absl::StrCat(Utf8Length(t) / len);
        }
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> RunSaCheck(const CheckSpec& r, const mime::Message& msg,
                                      const CheckData& data, CheckCache& cache) {
  using Check = CheckSpec::Kind;
  switch (r.kind) {
    case Check::kEnvelopeFromMatchesRelay: {
      // The envelope sender's registered domain is that of the first untrusted relay's
      // reverse DNS name (or, with only trusted relays, of any of theirs).
      const std::string sender = cache.addresses(msg, "EnvelopeFrom").first;
      const size_t at = sender.rfind('@');
      if (at == std::string::npos || sender.find('.', at) == std::string::npos) return std::nullopt;
      const std::string domain = mime::RegisteredDomain(sender.substr(at + 1));
      const std::vector<Relay>& relays = cache.relays(msg);
      std::vector<const Relay*> look;
      for (const Relay& rl : relays) {
        if (!rl.trusted) {
          look = {&rl};
          break;
        }
        look.push_back(&rl);
      }
      for (const Relay* rl : look) {
        if (rl->hop->from_rdns.empty()) continue;
        if (mime::RegisteredDomain(absl::AsciiStrToLower(rl->hop->from_rdns)) == domain) {
          return rl->hop->from_rdns;
        }
      }
      return std::nullopt;
    }
    case Check::kEnvelopeFromIsFrom:
      // Two empty addresses are equal too, as SpamAssassin compares them.
      if (cache.addresses(msg, "EnvelopeFrom").first == cache.addresses(msg, "From").first) return "";
      return std::nullopt;
    case Check::kReceivedRemoved: {
      // No Received field at all, or the traces of list software known to drop them
      // (ezmlm's, MSN Groups').
      const std::string all = JoinedValues(msg, "Received", "\n");
      if (all.empty()) return "no Received";
      static const Regex* const kList = new Regex(*Regex::Compile("^contact \\S+@\\S+; run by ezmlm$", "m"));
      static const Regex* const kDelivered = new Regex(*Regex::Compile("^mailing list \\S+@\\S+", "m"));
      static const Regex* const kQmail = new Regex(*Regex::Compile(
          "qmail \\d+ invoked (?:from network|by .{3,20})\\); \\d+ ... \\d+", ""));
      static const Regex* const kMsn = new Regex(*Regex::Compile("from groups\\.msn\\.com \\(\\S+\\.msn\\.com ", ""));
      const mime::HeaderField* list = msg.headers().Find("Mailing-List");
      const mime::HeaderField* dlto = msg.headers().Find("Delivered-To");
      if (list != nullptr && kList->Find(list->value, 100000) && dlto != nullptr &&
          kDelivered->Find(dlto->value, 100000) && kQmail->Find(all, 100000)) {
        return "ezmlm";
      }
      if (kMsn->Find(all, 100000)) return "groups.msn.com";
      return std::nullopt;
    }
    case Check::kFromInList:
    case Check::kReplyToInList: {
      auto it = data.address_lists.find(r.arg);
      if (it == data.address_lists.end()) return std::nullopt;
      std::vector<std::string> addrs;
      if (r.kind == Check::kFromInList) {
        addrs = SenderAddresses(msg, cache);
      } else if (std::string a = cache.addresses(msg, "Reply-To").first; !a.empty()) {
        addrs.push_back(std::move(a));
      }
      for (const std::string& a : addrs) {
        if (it->second.Find(a, 100000)) return a;
      }
      return std::nullopt;
    }
    case Check::kHtmlTagExists: case Check::kHtmlTagBalance: case Check::kHtmlRange:
    case Check::kHtmlEval: case Check::kHtmlTextMatch: case Check::kHtmlFlag:
    case Check::kHtmlImageRatio: case Check::kHtmlTitleSubjectRatio:
      return RunHtmlCheck(r, msg, cache);
    case Check::kToInSubject: {
      // The To address (or, for "user", its local part as the whole subject or after Re:,
      // or leading it before punctuation): a greeting made from the recipient's address.
      const std::string to = cache.addresses(msg, "To").first;
      const mime::HeaderField* subj = msg.headers().Find("Subject");
      if (to.empty() || subj == nullptr) return std::nullopt;
      const std::string& subject = subj->value;
      if (r.arg == "address") {
        // Anywhere, any case, not inside a longer word.
        const std::string lower = absl::AsciiStrToLower(subject);
        const auto word = [](char ch) { return absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '_'; };
        for (size_t at = lower.find(to); at != std::string::npos; at = lower.find(to, at + 1)) {
          const size_t end = at + to.size();
          if ((at == 0 || !word(lower[at - 1]) || !word(to.front())) &&
              (end == lower.size() || !word(lower[end]) || !word(to.back()))) {
            return to;
          }
        }
        return std::nullopt;
      }
      if (r.arg != "user") return std::nullopt;
      const std::string user = to.substr(0, to.find('@'));
      if (user.empty()) return std::nullopt;
      absl::string_view line = subject;
      if (absl::EndsWith(line, "\n")) line.remove_suffix(1);
      const auto is_punct = [](char ch) { return std::strchr(",:;!?-", ch) != nullptr && ch != 0; };
      // "USER", "Re: [word ]USER", ", USER!" (any case), or "USER, ..." as written.
      if (absl::EqualsIgnoreCase(line, user)) return to;
      if (absl::StartsWith(line, user)) {
        absl::string_view rest = absl::StripLeadingAsciiWhitespace(line.substr(user.size()));
        if (!rest.empty() && is_punct(rest[0]) &&
            (rest.size() == 1 || absl::ascii_isspace(static_cast<unsigned char>(rest[1])))) {
          return to;
        }
      }
      for (absl::string_view pre : {"re:", "fw:"}) {
        if (line.size() < pre.size() || !absl::EqualsIgnoreCase(line.substr(0, pre.size()), pre)) continue;
        absl::string_view rest = absl::StripLeadingAsciiWhitespace(line.substr(pre.size()));
        if (absl::EqualsIgnoreCase(rest, user)) return to;
        size_t w = 0;
        while (w < rest.size() && (absl::ascii_isalnum(static_cast<unsigned char>(rest[w])) || rest[w] == '_')) ++w;
        if (w == 0 || w == rest.size() || !absl::ascii_isspace(static_cast<unsigned char>(rest[w]))) continue;
        if (absl::EqualsIgnoreCase(absl::StripLeadingAsciiWhitespace(rest.substr(w)), user)) return to;
      }
      if (absl::StartsWith(line, ",")) {
        absl::string_view rest = absl::StripLeadingAsciiWhitespace(line.substr(1));
        if (rest.size() == user.size() + 1 && is_punct(rest.back()) &&
            absl::EqualsIgnoreCase(rest.substr(0, user.size()), user)) {
          return to;
        }
      }
      return std::nullopt;
    }
    case Check::kQpLongLine:
      // A quoted-printable line over 78 characters (RFC 5322's limit; RFC 2045 says 76,
      // which common mailers pass by two).
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || p.transfer_encoding != "quoted-printable") continue;
        for (absl::string_view line : absl::StrSplit(p.body, '\n')) {
          if (line.size() > 78 && !absl::StartsWith(line, "SPAM: ")) return absl::StrCat(line.size(), " characters");
        }
      }
      return std::nullopt;
    case Check::kMimeEpilogue:
      // Text after a multipart's close delimiter (other than white space and dots).
      for (const mime::Part& p : msg.parts()) {
        for (char ch : p.epilogue) {
          if (!absl::ascii_isspace(static_cast<unsigned char>(ch)) && ch != '.') return "";
        }
      }
      return std::nullopt;
    case Check::kBounceRelaysConfigured:
      if (data.bounce_relays.empty()) return std::nullopt;
      return "";
    case Check::kBounceFromRelay: {
      // A bounce that quotes a Received line naming one of this site's relays.
      if (data.bounce_relays.empty()) return std::nullopt;
      static const Regex* const kRcvd = new Regex(*Regex::Compile("^[> ]*Received:", "i"));
      static const Regex* const kHost = new Regex(*Regex::Compile(" (\\S+\\.\\S+)(?= )", ""));
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || !p.is_text()) continue;
        for (absl::string_view line : absl::StrSplit(p.text, '\n')) {
          if (!kRcvd->Find(line, 100000)) continue;
          for (size_t at = 0; at < line.size();) {
            std::optional<absl::string_view> m = kHost->Find(line, 100000, at);
            if (!m.has_value()) break;
            absl::string_view host = m->substr(1);
            if (data.bounce_relays.count(absl::AsciiStrToLower(host))) return std::string(host);
            at = m->data() - line.data() + m->size();
          }
        }
      }
      return std::nullopt;
    }
    case Check::kImageArea:
    case Check::kImageTextRatio: {
      const double area = ImageArea(msg, r.arg);
      double v = area;
      if (r.kind == Check::kImageTextRatio) {
        // Text characters (the body rules' text, or the raw text parts) per pixel.
        if (area <= 0) return std::nullopt;
        double text = 0;
        if (r.op != "raw") {
          if (const mime::HeaderField* s = msg.headers().Find("Subject"); s != nullptr) text += s->value.size() + 1;
        }
        for (const mime::Part& p : msg.parts()) {
          if (!p.is_leaf() || !p.is_text() || p.is_attachment()) continue;
          text += r.op == "raw" ? p.decoded.size() : (p.is_html() ? p.Html().text.size() : p.text.size());
        }
        if (text <= 0) return std::nullopt;
        v = text / area;
        if (v == *r.max) return std::nullopt;  // the ratio's range is open at the top
      }
      if (v < *r.min || (r.max.has_value() && v > *r.max)) return std::nullopt;
      return absl::StrCat(v);
    }
    case Check::kSpaceRatio: {
      // SpamAssassin's tvd_vertical_words: over the body's paragraphs (the Subject and the
      // text, blank lines splitting, other white space runs made one space) longer than 5
      // characters, the highest share of spaces to other characters, in percent (100 when
      // spaces are the most); hit in [MIN, MAX).
      SpaceRatio ratio;
      if (const mime::HeaderField* s = msg.headers().Find("Subject"); s != nullptr) ratio.Feed(s->value).Feed("\n");
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || !p.is_text() || p.is_attachment()) continue;
        ratio.Feed(p.is_html() ? p.Html().text : p.text).Feed("\n");
      }
      const int best = ratio.Best();
      const double max = *r.max >= 100 ? 101 : *r.max;
      if (best >= 0 && best >= *r.min && best < max) return absl::StrCat(best, "%");
      return std::nullopt;
    }
    case Check::kForgedGmail: {
      // From a gmail.com address without the trace Gmail's servers leave: an X-Received by
      // an internal address, submission to smtp.googlemail.com, or both long
      // X-Gm-Message-State and X-Google-Smtp-Source fields.
      if (!absl::EndsWith(cache.addresses(msg, "From").first, "gmail.com")) return std::nullopt;
      auto all = [&](const char* field) { return JoinedValues(msg, field, "\n"); };
      static const Regex* const kInternal = new Regex(*Regex::Compile(
          "by 10\\.\\S+ with SMTP id \\S+|by 2002\\:a\\d\\d\\:\\w+\\:\\S+ with SMTP id \\S+", ""));
      static const Regex* const kSubmit = new Regex(*Regex::Compile("by smtp\\.googlemail\\.com with ESMTPSA id \\S+", ""));
      if (kInternal->Find(all("X-Received"), 100000) || kSubmit->Find(all("Received"), 100000)) return std::nullopt;
      if (all("X-Gm-Message-State").size() >= 60 && all("X-Google-Smtp-Source").size() >= 60) return std::nullopt;
      return "";
    }
    case Check::kFakeAolRelay: {
      // An AOL relay name ("rly-xx01.") in a Received trace AOL's own relays did not write.
      const std::string rcvd = JoinedValues(msg, "Received", " ");
      static const Regex* const kRly = new Regex(*Regex::Compile(" rly-[a-z][a-z]\\d\\d\\.", "i"));
      static const Regex* const kAol = new Regex(*Regex::Compile("/AOL-\\d+\\.\\d+\\.\\d+\\)|ESMTP id (?:RELAY|MAILRELAY|MAILIN)", ""));
      if (kRly->Find(rcvd, 100000) && !kAol->Find(rcvd, 100000)) return "";
      return std::nullopt;
    }
    case Check::kRatwareNameId: {
      // Message-ID "<28 CAPITALS.X>" and From '"Name" <X>': one bulk mailer's signature.
      const mime::HeaderField* id = msg.headers().Find("Message-ID");
      const mime::HeaderField* from = msg.headers().Find("From");
      if (id == nullptr || from == nullptr) return std::nullopt;
      static const Regex* const kId = new Regex(*Regex::Compile("<[A-Z]{28}\\.[^>]+?>", ""));
      std::optional<absl::string_view> m = kId->Find(id->raw, 10000);
      if (!m.has_value()) return std::nullopt;
      const std::string addr(m->substr(30, m->size() - 31));
      const size_t at = from->raw.find(absl::StrCat("<", addr, ">"));
      if (at == std::string::npos) return std::nullopt;
      absl::string_view before = absl::StripTrailingAsciiWhitespace(absl::string_view(from->raw).substr(0, at));
      if (before.size() >= 3 && before.back() == '"' && before.find('"') < before.size() - 2) return addr;
      return std::nullopt;
    }
    case Check::kRatwareEnvelopeFrom: {
      // The envelope sender made from the recipient's domain and user ("dom.user@...").
      const std::string to = cache.addresses(msg, "To").first, from = cache.addresses(msg, "EnvelopeFrom").first;
      if (to.empty() || from.empty() || absl::StartsWith(from, "srs")) return std::nullopt;
      const size_t at = to.find('@');
      if (at == std::string::npos || at == 0) return std::nullopt;
      const std::string dom = mime::RegisteredDomain(to.substr(at + 1));
      if (dom.empty()) return std::nullopt;
      const std::string user = to.substr(0, at);
      for (size_t p = from.find(dom); p != std::string::npos; p = from.find(dom, p + 1)) {
        const size_t u = p + dom.size() + 1;
        if (p > 0 && absl::ascii_isalnum(static_cast<unsigned char>(from[p - 1]))) continue;
        if (u + user.size() < from.size() && from.compare(u, user.size(), user) == 0 && from[u + user.size()] == '@') {
          return from;
        }
      }
      return std::nullopt;
    }
    case Check::kBlankLineRatio: {
      // SpamAssassin's check_blank_line_ratio: the share of blank lines (white space only)
      // among the lines of the decoded text parts (rawbody rules' texts), in percent; -1
      // with fewer than MINLINES lines. Hits in (MIN, MAX], or [.., MAX] when MIN is 0.
      size_t lines = 0, blank = 0;
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || !p.is_text() || p.is_attachment() || p.content_type == "text/calendar") continue;
        absl::string_view t = CutForScan(p.decoded, 500000, "\n> ");
        while (!t.empty()) {
          const size_t nl = t.find('\n');
          const absl::string_view line = t.substr(0, nl == absl::string_view::npos ? t.size() : nl + 1);
          t.remove_prefix(line.size());
          ++lines;
          blank += std::all_of(line.begin(), line.end(), [](char ch) { return std::strchr(" \t\n\r\f\v", ch) != nullptr && ch != 0; });
        }
      }
      const double ratio = static_cast<double>(lines) < r.lines ? -1 : 100.0 * static_cast<double>(blank) / static_cast<double>(lines);
      if ((*r.min == 0 && ratio <= *r.max) || (ratio > *r.min && ratio <= *r.max)) return absl::StrFormat("%.0f%%", ratio);
      return std::nullopt;
    }
    case Check::kMaNonText:
      // A multipart/alternative whose own leaves include one that is not text (RTF aside):
      // an alternative no mail client shows.
      for (const mime::Part& p : msg.parts()) {
        if (p.content_type != "multipart/alternative") continue;
        for (int c : p.children) {
          const mime::Part& child = msg.parts()[static_cast<size_t>(c)];
          if (!child.is_leaf() || child.content_type == "multipart/related" ||
              child.content_type == "application/rtf" || child.is_text()) {
            continue;
          }
          return child.content_type;
        }
      }
      return std::nullopt;
    case Check::kMultipartRatio: {
      // SpamAssassin's check_mime_multipart_ratio: once a multipart/alternative is seen,
      // the raw bytes of the last text/plain leaf over those of the last text/html one
      // (attachments aside; 1 when either is missing). Hits in [MIN, MAX).
      bool alternative = false;
      struct Leaf {
        const std::string* type;
        std::optional<size_t> bytes;
      };
      std::vector<Leaf> leaves;
      for (const mime::Part& p : msg.parts()) {
        if (p.content_type == "multipart/alternative") alternative = true;
        if (!p.is_leaf()) continue;
        const mime::HeaderField* cd = p.headers.Find("Content-Disposition");
        const bool attachment = cd != nullptr && absl::StrContains(absl::AsciiStrToLower(cd->raw), "attachment");
        Leaf& l = leaves.emplace_back(Leaf{&p.content_type, std::nullopt});
        if (attachment) continue;
        l.bytes = 0;
        if (alternative && (p.content_type == "text/plain" || p.content_type == "text/html")) *l.bytes = p.body.size();
      }
      if (!alternative) return std::nullopt;
      std::optional<size_t> text, html;
      for (auto it = leaves.rbegin(); it != leaves.rend() && !(text && html); ++it) {
        if (!it->bytes.has_value()) continue;
        if (!html && *it->type == "text/html") {
          html = it->bytes;
        } else if (!text && *it->type == "text/plain") {
          text = it->bytes;
        }
      }
      double ratio = 1.0;
      if (text && html && *html > 0) ratio = static_cast<double>(*text) / static_cast<double>(*html);
      if (ratio >= *r.min && ratio < *r.max) return absl::StrFormat("%.3f", ratio);
      return std::nullopt;
    }
    case Check::kUnicodeRatio: {
      // SpamAssassin's check_abundant_unicode_ratio: in text/plain leaves sent as 7bit or
      // 8bit, "&#xHHHH;" escapes (which plain text never needs) per other character.
      size_t escapes = 0, chars = 0;
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || p.content_type != "text/plain") continue;
        if (!p.transfer_encoding.empty() && p.transfer_encoding != "7bit" && p.transfer_encoding != "8bit") continue;
        absl::string_view t = p.body;
        chars += t.size();
        for (size_t at = t.find("&#x"); at != absl::string_view::npos; at = t.find("&#x", at + 1)) {
          if (at + 8 > t.size() || t[at + 7] != ';') continue;
          bool hex = true;
          for (size_t k = at + 3; k < at + 7; ++k) hex &= absl::ascii_isdigit(static_cast<unsigned char>(t[k])) || (t[k] >= 'A' && t[k] <= 'F');
          if (!hex) continue;
          ++escapes;
          chars -= 8;
          at += 7;
        }
      }
      const double ratio = chars == 0 ? 0 : static_cast<double>(escapes) / static_cast<double>(chars);
      if (ratio >= *r.min) return absl::StrFormat("%.3f", ratio);
      return std::nullopt;
    }
    case Check::kMicrosoftExecutable:
    case Check::kSuspectName: {
      // SpamAssassin's AntiVirus plugin. MICROSOFT_EXECUTABLE: a leaf whose Content-Type
      // name ends in a Windows executable's extension, a base64 leaf whose first line is a
      // PE header's encoding, or a text leaf holding a uuencoded one. MIME_SUSPECT_NAME: a
      // name whose extension does not fit the declared type.
      static const Regex* const kExeName = new Regex(*Regex::Compile(
          "\\.(?:ade|adp|asx|bas|bat|chm|cmd|com|cpl|crt|dll|exe|hlp|hta|inf|ins|isp|js|jse|lnk|mda|mdb|mde|mdt|mdw|mdz|msc|msi|msp|mst|nws|ops|pcd|pif|prf|reg|scf|scr\\??|sct|shb|shs|shm|swf|url|vb|vbe|vbs|vbx|vxd|wsc|wsf|wsh)$", ""));
      static const Regex* const kPeBase64 = new Regex(*Regex::Compile("^TV[opqr].A..[AB].[AQgw][A-H].A", ""));
      static const Regex* const kPeUu = new Regex(*Regex::Compile("^M35[GHIJK].`..`..*````", ""));
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf()) continue;
        const std::string name = absl::AsciiStrToLower(p.content_type_params.Get("name").value_or(""));
        if (r.kind == Check::kMicrosoftExecutable) {
          if (!name.empty() && kExeName->Find(name, 100000)) return name;
          const absl::string_view first = p.body.substr(0, p.body.find('\n'));
          if (absl::StrContains(p.transfer_encoding, "base64")) {
            if (kPeBase64->Find(first, 100000)) return "base64";
          } else if (p.is_text()) {
            for (absl::string_view line : absl::StrSplit(p.body, '\n')) {
              if (kPeUu->Find(line, 100000)) return "uuencoded";
            }
          }
          continue;
        }
        if (name.empty() || p.content_type == "application/octet-stream") continue;
        const std::string ext = name.substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
        std::string type = p.content_type;
        for (const std::string pre : {"/x-", "/vnd."}) {
          if (size_t at = type.find(pre); at != std::string::npos) {
            type.erase(at + 1, pre.size() - 1);
            break;
          }
        }
        auto one_of = [&](std::initializer_list<const char*> v) {
          return std::any_of(v.begin(), v.end(), [&](const char* e) { return ext == e; });
        };
        auto starts = [&](std::initializer_list<const char*> v) {
          return std::any_of(v.begin(), v.end(), [&](const char* e) { return absl::StartsWith(type, e); });
        };
        static const Regex* const kTextType = new Regex(*Regex::Compile(
            "^(?:text/(?:plain|[px]?html?|english|sgml|xml|enriched|richtext)|message/external-body)", ""));
        static const Regex* const kWord = new Regex(*Regex::Compile("^application/.*word$", ""));
        static const Regex* const kPpt = new Regex(*Regex::Compile("^application/.*(?:powerpoint|ppt)$", ""));
        static const Regex* const kExcel = new Regex(*Regex::Compile("^application/.*excel$", ""));
        const bool suspect =
            (one_of({"txt", "htm", "html", "phtm", "phtml", "xhtm", "xhtml", "xml"}) && !kTextType->Find(type, 100000)) ||
            (one_of({"jpg", "jpeg", "tif", "tiff", "gif", "png"}) && !starts({"image/", "application/mac-binhex"})) ||
            (ext == "vcf" && type != "text/vcard") ||
            (one_of({"bat", "com", "exe", "pif", "scr", "swf", "vbs"}) && !starts({"application/"})) ||
            (ext == "doc" && !kWord->Find(type, 100000)) || (ext == "ppt" && !kPpt->Find(type, 100000)) ||
            (ext == "xls" && !kExcel->Find(type, 100000));
        if (suspect) return absl::StrCat(name, " as ", p.content_type);
      }
      return std::nullopt;
    }
    case Check::kUnresolvedTemplate: {
      // A header field (other than those that quote people) holding "%WORD" the sending
      // software left unexpanded.
      static const Regex* const kTemplate = new Regex(*Regex::Compile("%[A-Z][A-Z_-]", ""));
      static const Regex* const kQuoting = new Regex(*Regex::Compile(
          "^(?:X-VMS-To|X-UIDL|X-Face|To|Cc|From|Subject|References|In-Reply-To|(?:X-|Resent-|X-Original-)?Message-Id):", "i"));
      for (const mime::HeaderField& f : msg.headers().fields()) {
        const std::string all = absl::StrCat(f.name, ": ", f.value);
        for (absl::string_view line : absl::StrSplit(all, '\n')) {
          if (kTemplate->Find(line, 100000) && !kQuoting->Find(line, 100000)) return f.name;
        }
      }
      return std::nullopt;
    }
    case Check::kHeloIpMismatch: {
      // SpamAssassin's helo_ip_mismatch: an untrusted relay that said HELO with a public
      // IPv4 address outside the /24 of the public IPv4 address it connected from.
      // inet_pton takes only dotted quads without leading zeros, as IS_IPV4_ADDRESS does.
      auto ipv4 = [](const std::string& a) {
        in_addr v;
        return inet_pton(AF_INET, a.c_str(), &v) == 1;
      };
      for (const Relay& rl : cache.relays(msg)) {
        if (rl.trusted) continue;
        const std::string& helo = rl.hop->from;
        const std::string& ip = rl.hop->ip;
        if (!ipv4(helo) || IsPrivateAddress(helo) || !ipv4(ip) || IsPrivateAddress(ip) || helo == ip) continue;
        if (!absl::StartsWith(ip, helo.substr(0, helo.rfind('.') + 1))) return absl::StrCat(helo, " from ", ip);
      }
      return std::nullopt;
    }
    case Check::kBase64Length: {
      // The longest raw line of the base64 parts (calendar invitations aside).
      size_t longest = 0;
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || p.transfer_encoding != "base64" || p.content_type == "application/ics") continue;
        for (absl::string_view line : absl::StrSplit(p.body, '\n')) longest = std::max(longest, line.size() + 1);
      }
      if (longest >= *r.min && (!r.max.has_value() || longest <= *r.max)) return absl::StrCat(longest);
      return std::nullopt;
    }
    case Check::kDkimValidAuthor:
    case Check::kDkimValid: {
      // A verified signature by the From address's domain, or by one of DOMAINS ("*.d" or
      // ".d" for d's subdomains too).
      std::vector<std::string> want;
      if (r.kind == Check::kDkimValidAuthor) {
        const std::string from = cache.addresses(msg, "From").first;
        if (from.find('@') == std::string::npos) return std::nullopt;
        want.push_back(from.substr(from.find('@') + 1));
      } else {
        want = absl::StrSplit(r.arg, ',', absl::SkipEmpty());
      }
      for (const std::string& d : cache.dkim_pass_domains) {
        for (const std::string& each : want) {
          absl::string_view w = absl::StripAsciiWhitespace(each);
          const bool subs = absl::ConsumePrefix(&w, "*.") || absl::ConsumePrefix(&w, ".");
          if (d == w || (subs && absl::EndsWith(d, absl::StrCat(".", w)))) return d;
        }
      }
      return std::nullopt;
    }
    case Check::kDkimChecked:
      if (cache.dkim_checked) return "";
      return std::nullopt;
    case Check::kFromNameAddress: {
      // SpamAssassin's FromNameSpoof: From's display name holds an address (with at most
      // 50 other characters around it) that is the recipient's or Reply-To's.
      for (const std::string& h : data.from_name_ignore_headers) {
        if (msg.headers().Find(h) != nullptr) return std::nullopt;
      }
      for (const std::string& d : cache.dkim_pass_domains) {
        if (data.from_name_ignore_dkim.count(d)) return std::nullopt;
      }
      const mime::HeaderField* from = msg.headers().Find("From");
      if (from == nullptr) return std::nullopt;
      std::vector<mime::Address> fa = mime::ParseAddressList(from->raw);
      if (fa.empty() || mime::RegisteredDomain(absl::AsciiStrToLower(fa[0].domain)).empty()) return std::nullopt;
      const std::string name = absl::AsciiStrToLower(fa[0].display_name);
      static const Regex* const kAddr = new Regex(*Regex::Compile(
          "\\b[\\w.!#$%&'*+/=?^_`{|}~-]+@\\w[\\w-]*\\.\\w[\\w.-]++\\b", "i"));
      std::optional<absl::string_view> m = kAddr->Find(name, 10000);
      if (!m.has_value()) return std::nullopt;
      const std::string addr(*m);
      if (mime::RegisteredDomain(addr.substr(addr.find('@') + 1)).empty()) return std::nullopt;
      const auto odd = [](absl::string_view v) {
        return std::count_if(v.begin(), v.end(), [](char ch) { return !(absl::ascii_islower(ch) || absl::ascii_isdigit(ch)); });
      };
      const long extra = static_cast<long>(name.size()) + (odd(name) - odd(addr)) - static_cast<long>(addr.size());
      if (extra > 50) return std::nullopt;
      std::vector<std::string> targets;
      if (r.arg == "replyto") {
        targets.push_back(cache.addresses(msg, "Reply-To").first);
      } else {
        for (const char* f : {"To", "Cc", "Apparently-To", "Delivered-To", "Envelope-To", "X-Envelope-To",
                              "X-Original-To", "X-Delivered-To"}) {
          for (const std::string& a : cache.addresses(msg, f).all) targets.push_back(a);
        }
      }
      for (const std::string& t : targets) {
        if (t == addr) return addr;
      }
      return std::nullopt;
    }
    case Check::kBadIsoCharset:
      // "iso-X-Y" that is neither ISO 8859 nor ISO 2022-JP/KR.
      for (const mime::Part& p : msg.parts()) {
        static const Regex* const kIso = new Regex(*Regex::Compile("iso-\\S+-\\S+\\b", "i"));
        static const Regex* const kGood = new Regex(*Regex::Compile("iso-(?:8859-\\d{1,2}|2022-(?:jp|kr))\\b", "i"));
        if (!p.charset.empty() && kIso->Find(p.charset, 10000) && !kGood->Find(p.charset, 10000)) return p.charset;
      }
      return std::nullopt;
    case Check::kUriHostInList: {
      // A listed name covers its subdomains.
      auto it = data.uri_host_lists.find(r.arg);
      if (it == data.uri_host_lists.end()) return std::nullopt;
      for (const mime::Url& u : msg.Links().urls) {
        for (absl::string_view h = u.host; !h.empty();) {
          if (it->second.count(std::string(h))) return u.host;
          size_t dot = h.find('.');
          h = dot == absl::string_view::npos ? absl::string_view() : h.substr(dot + 1);
        }
      }
      return std::nullopt;
    }
    case Check::kBayes: {
      // SpamAssassin's ranges: above MIN (from 0 itself when MIN is 0) and up to MAX.
      if (!cache.bayes_probability.has_value()) return std::nullopt;
      const double p = *cache.bayes_probability;
      if ((*r.min == 0 || p > *r.min) && (!r.max.has_value() || p <= *r.max)) return absl::StrFormat("%.4f", p);
      return std::nullopt;
    }
    default:
      break;
  }
  return std::nullopt;
}

}  // namespace farside::rules
