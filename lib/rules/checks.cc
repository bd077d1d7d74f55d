// The built-in checks (what a regex cannot say: counts, comparisons between fields, relay
// trust, free mail providers) and the pseudo-headers SpamAssassin's rules read.
#include "lib/rules/checks.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/mime/address.h"
#include "lib/mime/content_type.h"
#include "lib/mime/urls.h"

namespace farside::rules {

bool IsPrivateAddress(absl::string_view ip) {
  int a = -1, b = -1;
  if (std::sscanf(std::string(ip).c_str(), "%d.%d.", &a, &b) == 2) {
    return a == 10 || a == 127 || (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168) ||
           (a == 169 && b == 254);
  }
  const std::string lower = absl::AsciiStrToLower(ip);
  return lower == "::1" || absl::StartsWith(lower, "fe80:") || absl::StartsWith(lower, "fc") ||
         absl::StartsWith(lower, "fd");
}

absl::Status ParseCheck(absl::string_view text, CheckSpec* c) {
  using Check = CheckSpec::Kind;
  const std::string written(text);
  static const std::pair<const char*, Check> kPlain[] = {
      {"has_html", Check::kHasHtml},
      {"html_only", Check::kHtmlOnly},
      {"has_attachment", Check::kHasAttachment},
      {"has_base64_part", Check::kHasBase64},
      {"has_qp_part", Check::kHasQp},
      {"base64_text", Check::kBase64Text},
      {"from_envelope_domain_differs", Check::kFromEnvelopeDomainDiffers},
      {"from_name_other_domain", Check::kFromNameOtherDomain},
      {"reply_to_domain_differs", Check::kReplyToDomainDiffers},
      {"anchor_domain_mismatch", Check::kAnchorDomainMismatch},
      {"image_only", Check::kImageOnly},
      {"encrypted_archive", Check::kEncryptedArchive},
      {"executable_content", Check::kExecutableContent},
      {"charset_mismatch", Check::kCharsetMismatch},
      {"subject_all_caps", Check::kSubjectAllCaps},
      {"all_trusted", Check::kAllTrusted},
      {"no_relays", Check::kNoRelays},
      {"missing_to", Check::kMissingTo},
      {"envelope_from_matches_relay", Check::kEnvelopeFromMatchesRelay},
      {"envelope_from_is_from", Check::kEnvelopeFromIsFrom},
      {"received_removed", Check::kReceivedRemoved},
      {"url_shortener", Check::kUrlShortener},
      {"qp_long_line", Check::kQpLongLine},
      {"mime_epilogue", Check::kMimeEpilogue},
      {"bounce_relays_configured", Check::kBounceRelaysConfigured},
      {"bounce_from_relay", Check::kBounceFromRelay},
      {"bad_iso_charset", Check::kBadIsoCharset},
      {"forged_gmail", Check::kForgedGmail},
      {"fake_aol_relay", Check::kFakeAolRelay},
      {"ratware_name_id", Check::kRatwareNameId},
      {"ratware_envelope_from", Check::kRatwareEnvelopeFrom},
      {"dkim_valid_author", Check::kDkimValidAuthor},
      {"dkim_checked", Check::kDkimChecked},
  };
  for (const auto& [name, check] : kPlain) {
    if (text == name) {
      c->kind = check;
      return absl::OkStatus();
    }
  }
  // The freemail checks take text: a field name and a regex (which may hold commas).
  {
    absl::string_view t = text;
    if (t == "freemail_from") {
      c->kind = Check::kFreemailFrom;
      return absl::OkStatus();
    }
    if (t == "freemail_replyto") {
      c->kind = Check::kFreemailReplyTo;
      c->arg = "replyto";
      return absl::OkStatus();
    }
    std::string regex;
    bool known = false;
    if (absl::ConsumePrefix(&t, "freemail_from(") && absl::ConsumeSuffix(&t, ")")) {
      c->kind = Check::kFreemailFrom;
      regex = std::string(t);
      known = true;
    } else if (absl::ConsumePrefix(&t, "freemail_header(") && absl::ConsumeSuffix(&t, ")")) {
      c->kind = Check::kFreemailHeader;
      size_t comma = t.find(',');
      c->arg = std::string(absl::StripAsciiWhitespace(t.substr(0, comma)));
      if (comma != absl::string_view::npos) regex = std::string(absl::StripAsciiWhitespace(t.substr(comma + 1)));
      if (absl::EndsWith(c->arg, ":addr")) c->arg.resize(c->arg.size() - 5);
      known = !c->arg.empty();
    } else if (absl::ConsumePrefix(&t, "freemail_replyto(") && absl::ConsumeSuffix(&t, ")")) {
      c->kind = Check::kFreemailReplyTo;
      c->arg = std::string(absl::StripAsciiWhitespace(t));
      known = c->arg == "replyto" || c->arg == "reply";
    }
    if (known) {
      if (!regex.empty()) {
        absl::StatusOr<Regex> re = Regex::Compile(regex, "i");
        if (!re.ok()) return re.status();
        c->regex = std::move(*re);
      }
      return absl::OkStatus();
    }
    if (c->kind == Check::kFreemailFrom || c->kind == Check::kFreemailHeader ||
        c->kind == Check::kFreemailReplyTo) {
      c->kind = Check::kNone;
    }
  }
  // SpamAssassin's HTML statistics: html_tag_exists(TAG), html_tag_balance(TAG,OP N),
  // html_range(NAME,MIN,MAX) (MAX may be "inf"), html_eval(NAME,OP N),
  // html_text_match(comment|title|anchor,REGEX), html_flag(embeds|form_action_mailto),
  // html_image_ratio(MIN,MAX), html_title_subject_ratio(R).
  {
    absl::string_view t = text;
    auto call = [&](const char* name) {
      absl::string_view u = t;
      if (!absl::ConsumePrefix(&u, name) || !absl::ConsumePrefix(&u, "(") || !absl::ConsumeSuffix(&u, ")")) {
        return false;
      }
      t = u;
      return true;
    };
    auto first = [&]() {
      size_t comma = t.find(',');
      absl::string_view a = absl::StripAsciiWhitespace(t.substr(0, comma));
      t = comma == absl::string_view::npos ? absl::string_view() : t.substr(comma + 1);
      return std::string(a);
    };
    auto number = [](absl::string_view v, std::optional<double>* out) {
      double d;
      v = absl::StripAsciiWhitespace(v);
      if (v == "inf") return true;  // open
      if (!absl::SimpleAtod(v, &d)) return false;
      *out = d;
      return true;
    };
    auto comparison = [&](absl::string_view v) {
      v = absl::StripAsciiWhitespace(v);
      for (const char* op : {"<=", ">=", "==", "!=", "<", ">"}) {
        if (absl::ConsumePrefix(&v, op)) {
          c->op = op;
          return number(v, &c->min) && c->min.has_value();
        }
      }
      return false;
    };
    auto ok = [&](Check k) {
      c->kind = k;
      return absl::OkStatus();
    };
    if (call("html_tag_exists")) {
      c->arg = absl::AsciiStrToLower(absl::StripAsciiWhitespace(t));
      if (!c->arg.empty()) return ok(Check::kHtmlTagExists);
    } else if (call("html_tag_balance")) {
      c->arg = absl::AsciiStrToLower(first());
      if (!c->arg.empty() && comparison(t)) return ok(Check::kHtmlTagBalance);
    } else if (call("html_eval")) {
      c->arg = first();
      if (!c->arg.empty() && comparison(t)) return ok(Check::kHtmlEval);
    } else if (call("html_range")) {
      c->arg = first();
      std::string lo = first();
      if (!c->arg.empty() && number(lo, &c->min) && c->min.has_value() && number(t, &c->max)) {
        return ok(Check::kHtmlRange);
      }
    } else if (call("html_text_match")) {
      c->arg = first();
      if (c->arg == "comment" || c->arg == "title" || c->arg == "anchor") {
        absl::StatusOr<Regex> re = Regex::Compile(t, "");
        if (!re.ok()) return re.status();
        c->regex = std::move(*re);
        return ok(Check::kHtmlTextMatch);
      }
    } else if (call("html_flag")) {
      c->arg = std::string(absl::StripAsciiWhitespace(t));
      if (c->arg == "embeds" || c->arg == "form_action_mailto" || c->arg == "font_face_bad") {
        return ok(Check::kHtmlFlag);
      }
    } else if (call("html_image_ratio")) {
      std::string lo = first();
      if (number(lo, &c->min) && number(t, &c->max) && c->min && c->max) return ok(Check::kHtmlImageRatio);
    } else if (call("dkim_valid")) {
      c->arg = absl::AsciiStrToLower(absl::StripAsciiWhitespace(t));
      if (!c->arg.empty()) return ok(Check::kDkimValid);
    } else if (call("symbol")) {
      c->arg = std::string(absl::StripAsciiWhitespace(t));
      if (!c->arg.empty()) return ok(Check::kSymbol);
    } else if (call("bayes")) {
      std::string lo = first();
      if (number(lo, &c->min) && number(t, &c->max) && c->min.has_value()) return ok(Check::kBayes);
    } else if (call("html_title_subject_ratio")) {
      if (number(t, &c->min) && c->min.has_value()) return ok(Check::kHtmlTitleSubjectRatio);
    }
    c->kind = Check::kNone;
    c->min.reset();
    c->max.reset();
    c->op.clear();
  }
  // image_area(TYPE,MIN[,MAX]) and image_text_ratio(TYPE,MIN,MAX[,raw]): SpamAssassin's
  // ImageInfo pixel_coverage and image_to_text_ratio.
  {
    absl::string_view t = text;
    const bool area = absl::ConsumePrefix(&t, "image_area(");
    const bool ratio = !area && absl::ConsumePrefix(&t, "image_text_ratio(");
    if ((area || ratio) && absl::ConsumeSuffix(&t, ")")) {
      std::vector<std::string> a = absl::StrSplit(t, ',');
      for (std::string& x : a) x = std::string(absl::StripAsciiWhitespace(x));
      double lo, hi;
      const bool types = !a.empty() && (a[0] == "all" || a[0] == "gif" || a[0] == "png" || a[0] == "jpeg");
      if (types && a.size() >= 2 && absl::SimpleAtod(a[1], &lo) &&
          (area ? a.size() <= 3 : (a.size() == 3 || (a.size() == 4 && a[3] == "raw")))) {
        c->arg = a[0];
        c->min = lo;
        if (a.size() >= 3 && absl::SimpleAtod(a[2], &hi)) c->max = hi;
        if (ratio && !c->max.has_value()) return absl::InvalidArgumentError("image_text_ratio needs MAX");
        if (ratio && a.size() == 4) c->op = "raw";
        c->kind = area ? Check::kImageArea : Check::kImageTextRatio;
        return absl::OkStatus();
      }
    }
  }
  // name(ARGS): numbers (or "undef" for an open bound), a leading text argument for some.
  struct WithArgs {
    const char* name;
    Check check;
    bool text_arg;    // the first argument is text
    int min_numbers;  // numeric arguments after it
    int max_numbers;
  };
  static const WithArgs kWithArgs[] = {
      {"date_shift", Check::kDateShift, false, 2, 2},
      {"url_domains_over", Check::kUrlDomainsOver, false, 1, 1},
      {"html_text_under", Check::kHtmlTextUnder, false, 1, 1},
      {"html_image_text", Check::kHtmlImageText, false, 2, 2},
      {"body_length_under", Check::kBodyLengthUnder, false, 1, 1},
      {"image_count", Check::kImageCount, true, 1, 2},
      {"header_count", Check::kHeaderCount, true, 2, 2},
      {"uppercase_percent", Check::kUppercasePercent, false, 2, 2},
      {"space_ratio", Check::kSpaceRatio, false, 2, 2},
      {"base64_length", Check::kBase64Length, false, 1, 2},
      {"from_in_list", Check::kFromInList, true, 0, 0},
      {"reply_to_in_list", Check::kReplyToInList, true, 0, 0},
      {"uri_host_in_list", Check::kUriHostInList, true, 0, 0},
      {"to_in_subject", Check::kToInSubject, true, 0, 0},
      {"from_name_address", Check::kFromNameAddress, true, 0, 0},
  };
  size_t open = text.find('(');
  if (open != absl::string_view::npos && absl::EndsWith(text, ")")) {
    absl::string_view name = text.substr(0, open);
    std::vector<std::string> args =
        absl::StrSplit(text.substr(open + 1, text.size() - open - 2), ',');
    for (std::string& a : args) a = std::string(absl::StripAsciiWhitespace(a));
    for (const WithArgs& w : kWithArgs) {
      if (name != w.name) continue;
      size_t at = 0;
      if (w.text_arg) {
        if (args.empty() || args[0].empty()) break;
        c->arg = args[at++];
      }
      const int numbers = static_cast<int>(args.size() - at);
      if (numbers < w.min_numbers || numbers > w.max_numbers) break;
      std::optional<double>* bounds[] = {&c->min, &c->max};
      bool ok = true;
      for (int k = 0; k < numbers; ++k, ++at) {
        double v;
        if (args[at] == "undef") continue;
        if (!absl::SimpleAtod(args[at], &v)) ok = false;
        *bounds[k] = v;
      }
      if (!ok) break;
      // One-bound checks need their number.
      if (w.max_numbers == 1 && !c->min.has_value()) break;
      c->kind = w.check;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown check '", written, "'"));
}

namespace {

// What the text parts (attachments aside) hold: visible HTML characters (not counting
// white space) and images, and whether there is HTML and plain text.
struct TextPartStats {
  size_t visible = 0, images = 0;
  bool html = false, plain = false;
};
TextPartStats TextStats(const mime::Message& msg) {
  TextPartStats st;
  for (const mime::Part& p : msg.parts()) {
    if (!p.is_leaf() || !p.is_text() || p.is_attachment()) continue;
    if (!p.is_html()) {
      st.plain = true;
      continue;
    }
    st.html = true;
    const mime::HtmlContent& h = p.Html();
    for (char ch : h.text) st.visible += !absl::ascii_isspace(static_cast<unsigned char>(ch));
    st.images += h.images.size();
  }
  return st;
}

// The addresses of a field (EnvelopeFrom is the pseudo-header), lower case.
std::vector<std::string> AddressesOf(const mime::Message& msg, absl::string_view field) {
  std::vector<std::string> out;
  if (field == "EnvelopeFrom") {
    std::optional<std::string> env = PseudoHeader(msg, "EnvelopeFrom");
    if (env.has_value() && !env->empty()) out.push_back(absl::AsciiStrToLower(*env));
    return out;
  }
  for (const mime::HeaderField* f : msg.headers().FindAll(field)) {
    for (const mime::Address& a : mime::ParseAddressList(f->raw)) {
      if (!a.domain.empty()) out.push_back(absl::AsciiStrToLower(a.addr_spec()));
    }
  }
  return out;
}

// The first address of each field, lower case (SpamAssassin's "Field:addr").
std::string FirstAddress(const mime::Message& msg, absl::string_view field) {
  if (field == "EnvelopeFrom") return absl::AsciiStrToLower(PseudoHeader(msg, field).value_or(""));
  const mime::HeaderField* f = msg.headers().Find(field);
  if (f == nullptr) return "";
  std::vector<mime::Address> a = mime::ParseAddressList(f->raw);
  return a.empty() ? "" : absl::AsciiStrToLower(a[0].addr_spec());
}

// The sender's addresses: Resent-From's when it has any, else the first address of From,
// Envelope-Sender, Resent-Sender, X-Envelope-From and the envelope sender.
std::vector<std::string> SenderAddresses(const mime::Message& msg) {
  std::vector<std::string> out;
  if (const mime::HeaderField* f = msg.headers().Find("Resent-From");
      f != nullptr && !absl::StripAsciiWhitespace(f->raw).empty()) {
    for (const mime::Address& a : mime::ParseAddressList(f->raw)) {
      out.push_back(absl::AsciiStrToLower(a.addr_spec()));
    }
    return out;
  }
  for (const char* field : {"From", "Envelope-Sender", "Resent-Sender", "X-Envelope-From", "EnvelopeFrom"}) {
    std::string a = FirstAddress(msg, field);
    if (!a.empty()) out.push_back(std::move(a));
  }
  return out;
}

// Whether a link's host is a URL shortener's: the host itself, its www-less name, or (for a
// third-level name) ".domain" listed for every host under it. Bare two-label hosts need a
// path to count, as a shortened link always has one.
bool IsShortener(const mime::Url& u, const std::set<std::string>& shorteners) {
  if (u.scheme != "http" && u.scheme != "https") return false;
  const std::string& host = u.host;
  const size_t levels = std::count(host.begin(), host.end(), '.');
  if (levels == 1) {
    size_t at = u.url.find(host);
    absl::string_view rest = at == std::string::npos ? "" : absl::string_view(u.url).substr(at + host.size());
    rest = rest.substr(0, rest.find_first_of("?#"));
    bool path = false;
    for (char ch : rest) path |= absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '_';
    if (!path) return false;
  }
  if (shorteners.count(host)) return true;
  if (levels != 2) return false;
  if (absl::StartsWith(host, "www.")) return shorteners.count(host.substr(4)) > 0;
  return shorteners.count(host.substr(host.find('.'))) > 0;
}

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
std::optional<std::string> RunHtmlCheck(const CheckSpec& r, const mime::Message& msg, CheckCache* cache) {
  using Check = CheckSpec::Kind;
  CheckCache local;
  if (cache == nullptr) cache = &local;
  if (!cache->sa_html.has_value()) {
    std::vector<SaHtmlStats>& all = cache->sa_html.emplace();
    for (const mime::Part& p : msg.parts()) {
      if (p.is_leaf() && p.is_html()) all.push_back(SaHtml(p.text));
    }
  }
  size_t k = 0;
  for (const mime::Part& p : msg.parts()) {
    if (!p.is_leaf() || !p.is_html()) continue;
    const SaHtmlStats& h = (*cache->sa_html)[k++];
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

std::optional<std::string> RunCheck(const CheckSpec& r, const mime::Message& msg,
                                    const CheckData& data, CheckCache* cache) {
  using Check = CheckSpec::Kind;
  const FreemailDomains& freemail = data.freemail;
  auto leaves = [&](auto pred) {
    for (const mime::Part& p : msg.parts()) {
      if (p.is_leaf() && pred(p)) return true;
    }
    return false;
  };
  switch (r.kind) {
    case Check::kHasHtml:
      if (leaves([](const mime::Part& p) { return p.is_html(); })) return "";
      return std::nullopt;
    case Check::kHtmlOnly: {
      bool html = false, plain = false;
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || !p.is_text() || p.is_attachment()) continue;
        (p.is_html() ? html : plain) = true;
      }
      if (html && !plain) return "";
      return std::nullopt;
    }
    case Check::kHasAttachment:
      if (leaves([](const mime::Part& p) { return p.is_attachment(); })) return "";
      return std::nullopt;
    case Check::kHasBase64:
      if (leaves([](const mime::Part& p) { return p.transfer_encoding == "base64"; })) return "";
      return std::nullopt;
    case Check::kHasQp:
      if (leaves([](const mime::Part& p) { return p.transfer_encoding == "quoted-printable"; })) return "";
      return std::nullopt;
    case Check::kBase64Text:
      if (leaves([](const mime::Part& p) {
            return p.is_text() && !p.is_attachment() && p.transfer_encoding == "base64";
          })) {
        return "";
      }
      return std::nullopt;
    case Check::kFromEnvelopeDomainDiffers: {
      const mime::HeaderField* from = msg.headers().Find("From");
      std::optional<std::string> env = PseudoHeader(msg, "EnvelopeFrom");
      if (from == nullptr || !env.has_value() || env->empty()) return std::nullopt;
      std::vector<mime::Address> a = mime::ParseAddressList(from->raw);
      size_t at = env->rfind('@');
      if (a.empty() || a[0].domain.empty() || at == std::string::npos) return std::nullopt;
      std::string d1 = mime::RegisteredDomain(absl::AsciiStrToLower(a[0].domain));
      std::string d2 = mime::RegisteredDomain(absl::AsciiStrToLower(env->substr(at + 1)));
      if (d1.empty() || d2.empty() || d1 == d2) return std::nullopt;
      return absl::StrCat(d1, " vs ", d2);
    }
    case Check::kDateShift: {
      std::optional<mime::DateTime> date = msg.Date();
      std::optional<mime::DateTime> received;
      // When the message came in from outside: the newest relay with a public address
      // (hops inside, such as a local fetchmail or content filter, come later), else the
      // newest hop with a date.
      std::optional<mime::DateTime> newest;
      for (const mime::ReceivedHop& hop : msg.Received()) {
        if (!hop.date.has_value()) continue;
        if (!newest.has_value()) newest = hop.date;
        if (!hop.ip.empty() && !IsPrivateAddress(hop.ip)) {
          received = hop.date;
          break;
        }
      }
      if (!received.has_value()) received = newest;
      if (!date.has_value() || !received.has_value()) return std::nullopt;
      const double diff = static_cast<double>(date->unix_seconds - received->unix_seconds);
      if (r.min.has_value() && diff < *r.min * 3600) return std::nullopt;
      if (r.max.has_value() && diff >= *r.max * 3600) return std::nullopt;
      return absl::StrCat(static_cast<int64_t>(diff / 3600), " h");
    }
    case Check::kFromNameOtherDomain: {
      // The display name shows a domain ("PayPal.com Support") that is not the address's.
      const mime::HeaderField* from = msg.headers().Find("From");
      if (from == nullptr) return std::nullopt;
      for (const mime::Address& a : mime::ParseAddressList(from->raw)) {
        if (a.domain.empty() || a.display_name.empty()) continue;
        const std::string own = mime::RegisteredDomain(absl::AsciiStrToLower(a.domain));
        for (absl::string_view word : absl::StrSplit(a.display_name, absl::ByAnyChar(" \t<>()\"',;:@"),
                                                     absl::SkipEmpty())) {
          std::string w = absl::AsciiStrToLower(absl::StripSuffix(word, "."));
          if (w.find('.') == std::string::npos) continue;
          const std::string shown = mime::RegisteredDomain(w);
          if (!shown.empty() && !own.empty() && shown != own) return absl::StrCat(shown, " vs ", own);
        }
      }
      return std::nullopt;
    }
    case Check::kReplyToDomainDiffers: {
      auto domain_of = [&](const char* field) -> std::string {
        const mime::HeaderField* f = msg.headers().Find(field);
        if (f == nullptr) return "";
        std::vector<mime::Address> a = mime::ParseAddressList(f->raw);
        return a.empty() || a[0].domain.empty()
                   ? ""
                   : mime::RegisteredDomain(absl::AsciiStrToLower(a[0].domain));
      };
      const std::string from = domain_of("From"), reply = domain_of("Reply-To");
      if (from.empty() || reply.empty() || from == reply) return std::nullopt;
      return absl::StrCat(reply, " vs ", from);
    }
    case Check::kAnchorDomainMismatch:
      // A link whose text shows one domain ("www.mybank.com") and whose target is another.
      for (const mime::Url& u : msg.Links().urls) {
        if (u.source != mime::Url::Source::kHtmlLink || u.domain.empty()) continue;
        const std::string lower = absl::AsciiStrToLower(u.anchor_text);
        absl::string_view view = absl::StripAsciiWhitespace(lower);
        absl::ConsumePrefix(&view, "https://") || absl::ConsumePrefix(&view, "http://");
        if (view.find(' ') != absl::string_view::npos || view.find('.') == absl::string_view::npos) continue;
        const std::string shown(view.substr(0, view.find_first_of("/?#:")));
        const std::string d = mime::RegisteredDomain(shown);
        if (!d.empty() && d != u.domain) return absl::StrCat(d, " -> ", u.domain);
      }
      return std::nullopt;
    case Check::kUrlDomainsOver: {
      std::set<std::string> domains;
      for (const mime::Url& u : msg.Links().urls) {
        if (!u.domain.empty()) domains.insert(u.domain);
      }
      if (static_cast<double>(domains.size()) > *r.min) return absl::StrCat(domains.size(), " domains");
      return std::nullopt;
    }
    case Check::kImageOnly:
    case Check::kHtmlTextUnder: {
      // Text only as HTML, with little visible text (image_only: under 200 characters and
      // at least one image).
      const auto [visible, images, html, plain] = TextStats(msg);
      if (!html || plain) return std::nullopt;
      if (r.kind == Check::kImageOnly) {
        if (images > 0 && visible < 200) return absl::StrCat(images, " images, ", visible, " characters");
        return std::nullopt;
      }
      if (static_cast<double>(visible) < *r.min) return absl::StrCat(visible, " characters");
      return std::nullopt;
    }
    case Check::kEncryptedArchive:
      for (const mime::Part& p : msg.parts()) {
        for (const mime::ArchiveEntry& e : p.archive.entries) {
          if (e.encrypted) return e.name;
        }
      }
      return std::nullopt;
    case Check::kExecutableContent:
      for (const mime::Part& p : msg.parts()) {
        const std::string& t = p.detected_type;
        if (t == "application/x-dosexec" || t == "application/x-executable" ||
            t == "application/java-vm" || t == "application/x-ms-shortcut") {
          return p.filename.has_value() && !p.filename->empty() ? *p.filename : t;
        }
      }
      return std::nullopt;
    case Check::kCharsetMismatch:
      // The declared charset could not be right: the text had to be read with another.
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || !p.is_text() || p.charset.empty() || p.text_charset.empty()) continue;
        if (absl::AsciiStrToLower(p.charset) != absl::AsciiStrToLower(p.text_charset)) {
          return absl::StrCat(p.charset, " read as ", p.text_charset);
        }
      }
      return std::nullopt;
    case Check::kHtmlImageText: {
      // An HTML part with images and between MIN and MAX characters of visible text.
      const auto [visible, images, html, plain] = TextStats(msg);
      const double v = static_cast<double>(visible);
      if (images == 0 || (r.min && v < *r.min) || (r.max && v >= *r.max)) {
        return std::nullopt;
      }
      return absl::StrCat(images, " images, ", visible, " characters");
    }
    case Check::kBodyLengthUnder:
    case Check::kUppercasePercent: {
      size_t length = 0, upper = 0, letters = 0;
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || !p.is_text() || p.is_attachment()) continue;
        absl::string_view t = p.is_html() ? absl::string_view(p.Html().text) : absl::string_view(p.text);
        length += t.size();
        for (char ch : t) {
          upper += absl::ascii_isupper(static_cast<unsigned char>(ch));
          letters += absl::ascii_isalpha(static_cast<unsigned char>(ch));
        }
      }
      if (r.kind == Check::kBodyLengthUnder) {
        if (static_cast<double>(length) < *r.min) return absl::StrCat(length, " characters");
        return std::nullopt;
      }
      // Share of capitals among the letters, in (MIN, MAX], for texts long enough to judge.
      if (letters < 200) return std::nullopt;
      const double pct = 100.0 * static_cast<double>(upper) / static_cast<double>(letters);
      if ((r.min && pct <= *r.min) || (r.max && pct > *r.max)) return std::nullopt;
      return absl::StrCat(static_cast<int>(pct), "% capitals");
    }
    case Check::kImageCount: {
      // Image parts of a type ("all", "gif", "png", "jpeg") numbering in [MIN, MAX].
      size_t n = 0;
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || p.content_type.rfind("image/", 0) != 0) continue;
        const std::string sub = p.content_type.substr(6);
        if (r.arg == "all" || sub == r.arg || (r.arg == "jpeg" && sub == "jpg")) ++n;
      }
      const double v = static_cast<double>(n);
      if ((r.min && v < *r.min) || (r.max && v > *r.max)) return std::nullopt;
      return absl::StrCat(n, " ", r.arg, " images");
    }
    case Check::kHeaderCount: {
      const double n = static_cast<double>(msg.headers().FindAll(r.arg).size());
      if ((r.min && n < *r.min) || (r.max && n > *r.max)) return std::nullopt;
      return absl::StrCat(static_cast<int>(n), " ", r.arg, " fields");
    }
    case Check::kSubjectAllCaps: {
      // At least two words and ten letters, none of them small.
      const mime::HeaderField* f = msg.headers().Find("Subject");
      if (f == nullptr) return std::nullopt;
      size_t letters = 0;
      bool lower = false;
      for (char ch : f->value) {
        letters += absl::ascii_isalpha(static_cast<unsigned char>(ch));
        lower |= absl::ascii_islower(static_cast<unsigned char>(ch));
      }
      if (lower || letters < 10 || f->value.find(' ') == std::string::npos) return std::nullopt;
      return "";
    }
    case Check::kFreemailFrom:
    case Check::kFreemailHeader: {
      // A sender address (From and the envelope sender), or an address in FIELD, at a free
      // mail provider and, when a regex is given, matching it.
      std::vector<std::string> addresses;
      if (r.kind == Check::kFreemailFrom) {
        addresses = AddressesOf(msg, "From");
        for (std::string& a : AddressesOf(msg, "EnvelopeFrom")) addresses.push_back(std::move(a));
      } else {
        addresses = AddressesOf(msg, r.arg);
      }
      for (const std::string& a : addresses) {
        if (!freemail.Contains(a)) continue;
        if (r.regex.has_value() && !r.regex->Find(a, 100000)) continue;
        return a;
      }
      return std::nullopt;
    }
    case Check::kFreemailReplyTo: {
      // Replies go to a free mail address other than the sender's.
      const std::vector<std::string> from = AddressesOf(msg, "From");
      const std::vector<std::string> reply = AddressesOf(msg, "Reply-To");
      auto any_free = [&](const std::vector<std::string>& v) {
        return std::any_of(v.begin(), v.end(), [&](const std::string& a) { return freemail.Contains(a); });
      };
      const bool from_free = any_free(from), reply_free = any_free(reply);
      bool from_in_reply = false;
      for (const std::string& f : from) from_in_reply |= std::find(reply.begin(), reply.end(), f) != reply.end();
      if (from_free && reply_free && !from_in_reply) return absl::StrCat(from.empty() ? "" : from[0], " -> ", reply[0]);
      if (r.arg == "replyto" ? !reply_free : ((!reply.empty() && !reply_free) || !from_free)) {
        return std::nullopt;
      }
      // A free mail address in the text that is not where replies go.
      const std::vector<std::string>& targets = r.arg == "replyto" || reply_free ? reply : from;
      for (const mime::EmailAddress& e : msg.Links().emails) {
        const std::string body = absl::AsciiStrToLower(e.address);
        if (!freemail.Contains(body)) continue;
        for (const std::string& t : targets) {
          if (t != body) return absl::StrCat(t, ", ", body);
        }
      }
      return std::nullopt;
    }
    case Check::kAllTrusted:
    case Check::kNoRelays: {
      const std::vector<Relay> relays = Relays(msg);
      if (r.kind == Check::kNoRelays) return relays.empty() ? std::optional<std::string>("") : std::nullopt;
      if (relays.empty() || !relays.back().trusted) return std::nullopt;
      return absl::StrCat(relays.size(), " relays");
    }
    case Check::kMissingTo: {
      for (const char* field : {"To", "Apparently-To"}) {
        const mime::HeaderField* f = msg.headers().Find(field);
        if (f != nullptr && !absl::StripAsciiWhitespace(f->value).empty()) return std::nullopt;
      }
      return "";
    }
    case Check::kEnvelopeFromMatchesRelay: {
      // The envelope sender's registered domain is that of the first untrusted relay's
      // reverse DNS name (or, with only trusted relays, of any of theirs).
      const std::string sender = FirstAddress(msg, "EnvelopeFrom");
      const size_t at = sender.rfind('@');
      if (at == std::string::npos || sender.find('.', at) == std::string::npos) return std::nullopt;
      const std::string domain = mime::RegisteredDomain(sender.substr(at + 1));
      const std::vector<Relay> relays = Relays(msg);
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
      if (FirstAddress(msg, "EnvelopeFrom") == FirstAddress(msg, "From")) return "";
      return std::nullopt;
    case Check::kReceivedRemoved: {
      // No Received field at all, or the traces of list software known to drop them
      // (ezmlm's, MSN Groups').
      const std::vector<const mime::HeaderField*> rcvd = msg.headers().FindAll("Received");
      if (rcvd.empty()) return "no Received";
      static const Regex* const kList = new Regex(*Regex::Compile("^contact \\S+@\\S+; run by ezmlm$", "m"));
      static const Regex* const kDelivered = new Regex(*Regex::Compile("^mailing list \\S+@\\S+", "m"));
      static const Regex* const kQmail = new Regex(*Regex::Compile(
          "qmail \\d+ invoked (?:from network|by .{3,20})\\); \\d+ ... \\d+", ""));
      static const Regex* const kMsn = new Regex(*Regex::Compile("from groups\\.msn\\.com \\(\\S+\\.msn\\.com ", ""));
      std::string all;
      for (const mime::HeaderField* f : rcvd) absl::StrAppend(&all, f->value, "\n");
      const mime::HeaderField* list = msg.headers().Find("Mailing-List");
      const mime::HeaderField* dlto = msg.headers().Find("Delivered-To");
      if (list != nullptr && kList->Find(list->value, 100000) && dlto != nullptr &&
          kDelivered->Find(dlto->value, 100000) && kQmail->Find(all, 100000)) {
        return "ezmlm";
      }
      if (kMsn->Find(all, 100000)) return "groups.msn.com";
      return std::nullopt;
    }
    case Check::kUrlShortener:
      for (const mime::Url& u : msg.Links().urls) {
        if (IsShortener(u, data.url_shorteners)) return u.host;
      }
      return std::nullopt;
    case Check::kFromInList:
    case Check::kReplyToInList: {
      auto it = data.address_lists.find(r.arg);
      if (it == data.address_lists.end()) return std::nullopt;
      std::vector<std::string> addrs;
      if (r.kind == Check::kFromInList) {
        addrs = SenderAddresses(msg);
      } else if (std::string a = FirstAddress(msg, "Reply-To"); !a.empty()) {
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
      const std::string to = FirstAddress(msg, "To");
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
      // Text after a multipart's closing boundary (other than white space and dots).
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_multipart) continue;
        std::optional<std::string> b = p.content_type_params.Get("boundary");
        if (!b.has_value() || b->empty()) continue;
        const std::string close = absl::StrCat("--", *b, "--");
        size_t at = p.body.rfind(close);
        if (at == absl::string_view::npos) continue;
        absl::string_view rest = p.body.substr(at + close.size());
        size_t nl = rest.find('\n');
        rest = nl == absl::string_view::npos ? absl::string_view() : rest.substr(nl + 1);
        for (char ch : rest) {
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
      std::string all;
      if (const mime::HeaderField* s = msg.headers().Find("Subject"); s != nullptr) all = s->value + "\n";
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || !p.is_text() || p.is_attachment()) continue;
        absl::StrAppend(&all, p.is_html() ? p.Html().text : p.text, "\n");
      }
      static const Regex* const kPara = new Regex(*Regex::Compile("\\n\\s*\\n", ""));
      int best = -1;
      size_t at = 0;
      while (at <= all.size()) {
        std::optional<absl::string_view> m = kPara->Find(all, 100000, at);
        const size_t end = m.has_value() ? m->data() - all.data() : all.size();
        size_t len = 0, spaces = 0;
        bool in_space = false;
        for (size_t i = at; i < end; ++i) {
          const bool sp = absl::ascii_isspace(static_cast<unsigned char>(all[i]));
          if (sp && in_space) continue;
          in_space = sp;
          ++len;
          spaces += sp;
        }
        if (len > 5) {
          const size_t non = len - spaces;
          const int pct = spaces > non || non == 0 ? 100 : static_cast<int>(100 * spaces / non);
          best = std::max(best, pct);
        }
        if (!m.has_value()) break;
        at = end + m->size();
      }
      const double max = *r.max >= 100 ? 101 : *r.max;
      if (best >= 0 && best >= *r.min && best < max) return absl::StrCat(best, "%");
      return std::nullopt;
    }
    case Check::kForgedGmail: {
      // From a gmail.com address without the trace Gmail's servers leave: an X-Received by
      // an internal address, submission to smtp.googlemail.com, or both long
      // X-Gm-Message-State and X-Google-Smtp-Source fields.
      if (!absl::EndsWith(FirstAddress(msg, "From"), "gmail.com")) return std::nullopt;
      auto all = [&](const char* field) {
        std::string v;
        for (const mime::HeaderField* f : msg.headers().FindAll(field)) absl::StrAppend(&v, f->value, "\n");
        return v;
      };
      static const Regex* const kInternal = new Regex(*Regex::Compile(
          "by 10\\.\\S+ with SMTP id \\S+|by 2002\\:a\\d\\d\\:\\w+\\:\\S+ with SMTP id \\S+", ""));
      static const Regex* const kSubmit = new Regex(*Regex::Compile("by smtp\\.googlemail\\.com with ESMTPSA id \\S+", ""));
      if (kInternal->Find(all("X-Received"), 100000) || kSubmit->Find(all("Received"), 100000)) return std::nullopt;
      if (all("X-Gm-Message-State").size() >= 60 && all("X-Google-Smtp-Source").size() >= 60) return std::nullopt;
      return "";
    }
    case Check::kFakeAolRelay: {
      // An AOL relay name ("rly-xx01.") in a Received trace AOL's own relays did not write.
      std::string rcvd;
      for (const mime::HeaderField* f : msg.headers().FindAll("Received")) absl::StrAppend(&rcvd, f->value, " ");
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
      const std::string to = FirstAddress(msg, "To"), from = FirstAddress(msg, "EnvelopeFrom");
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
      if (cache == nullptr) return std::nullopt;
      std::vector<std::string> want;
      if (r.kind == Check::kDkimValidAuthor) {
        const std::string from = FirstAddress(msg, "From");
        if (from.find('@') == std::string::npos) return std::nullopt;
        want.push_back(from.substr(from.find('@') + 1));
      } else {
        want = absl::StrSplit(r.arg, ',', absl::SkipEmpty());
      }
      for (const std::string& d : cache->dkim_pass_domains) {
        for (const std::string& each : want) {
          absl::string_view w = absl::StripAsciiWhitespace(each);
          const bool subs = absl::ConsumePrefix(&w, "*.") || absl::ConsumePrefix(&w, ".");
          if (d == w || (subs && absl::EndsWith(d, absl::StrCat(".", w)))) return d;
        }
      }
      return std::nullopt;
    }
    case Check::kDkimChecked:
      if (cache != nullptr && cache->dkim_checked) return "";
      return std::nullopt;
    case Check::kFromNameAddress: {
      // SpamAssassin's FromNameSpoof: From's display name holds an address (with at most
      // 50 other characters around it) that is the recipient's or Reply-To's.
      if (cache == nullptr) return std::nullopt;
      for (const std::string& h : data.from_name_ignore_headers) {
        if (msg.headers().Find(h) != nullptr) return std::nullopt;
      }
      for (const std::string& d : cache->dkim_pass_domains) {
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
        targets.push_back(FirstAddress(msg, "Reply-To"));
      } else {
        for (const char* f : {"To", "Cc", "Apparently-To", "Delivered-To", "Envelope-To", "X-Envelope-To",
                              "X-Original-To", "X-Delivered-To"}) {
          for (const std::string& a : AddressesOf(msg, f)) targets.push_back(a);
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
    case Check::kSymbol:
      if (cache == nullptr || cache->known == nullptr) return std::nullopt;
      for (absl::string_view name : absl::StrSplit(r.arg, '|')) {
        if ((*cache->known)(std::string(name)) > 0) return std::string(name);
      }
      return std::nullopt;
    case Check::kBayes: {
      // SpamAssassin's ranges: above MIN (from 0 itself when MIN is 0) and up to MAX.
      if (cache == nullptr || !cache->bayes_probability.has_value()) return std::nullopt;
      const double p = *cache->bayes_probability;
      if ((*r.min == 0 || p > *r.min) && (!r.max.has_value() || p <= *r.max)) return absl::StrFormat("%.4f", p);
      return std::nullopt;
    }
    case Check::kNone: break;
  }
  return std::nullopt;
}


std::vector<Relay> Relays(const mime::Message& msg) {
  std::vector<Relay> out;
  bool trusted = true;
  for (const mime::ReceivedHop& hop : msg.Received()) {
    if (hop.ip.empty()) continue;  // a hop with no address (local delivery) is no relay
    // Authenticated submission extends trust, as a private address does.
    const bool auth = absl::StrContains(absl::AsciiStrToLower(hop.with), "esmtpa") ||
                      absl::StrContains(absl::AsciiStrToLower(hop.with), "esmtpsa");
    if (trusted && !IsPrivateAddress(hop.ip) && !auth) trusted = false;
    out.push_back({&hop, trusted});
  }
  return out;
}

std::optional<std::string> PseudoHeader(const mime::Message& msg, absl::string_view name) {
  // The relays the message passed, newest first, as SpamAssassin writes them:
  // "[ ip=... rdns=... helo=... by=... ident= envfrom= intl=0 id=... auth= msa=0 ]". With no
  // trusted networks configured, relays with private addresses at the top are trusted
  // (and internal); the first public one and all below it are untrusted (and external).
  static const char* const kRelays[] = {"X-Spam-Relays-Trusted", "X-Spam-Relays-Untrusted",
                                        "X-Spam-Relays-Internal", "X-Spam-Relays-External"};
  if (std::find(std::begin(kRelays), std::end(kRelays), name) != std::end(kRelays)) {
    const bool want_trusted = absl::EndsWith(name, "Trusted") || absl::EndsWith(name, "Internal");
    std::string out;
    for (const Relay& r : Relays(msg)) {
      if (r.trusted != want_trusted) continue;
      if (!out.empty()) out.push_back(' ');
      absl::StrAppend(&out, "[ ip=", r.hop->ip, " rdns=", r.hop->from_rdns, " helo=", r.hop->from,
                      " by=", r.hop->by, " ident= envfrom= intl=", r.trusted ? 1 : 0, " id=", r.hop->id,
                      " auth= msa=0 ]");
    }
    return out;
  }
  if (name == "ALL-TRUSTED" || name == "ALL-INTERNAL" || name == "ALL-UNTRUSTED" ||
      name == "ALL-EXTERNAL") {
    // Trusted and internal relays are the same ones here. Received field k (newest first)
    // was added by the k-th relay's receiver; the fields above the first untrusted relay's
    // Received could only be added by trusted hosts. As SpamAssassin does, each side
    // includes that one Received field.
    size_t trusted = 0;
    for (const Relay& r : Relays(msg)) trusted += r.trusted;
    const bool want_trusted = name == "ALL-TRUSTED" || name == "ALL-INTERNAL";
    std::string out;
    long rcvd = -1;
    for (const mime::HeaderField& f : msg.headers().fields()) {
      if (absl::EqualsIgnoreCase(f.name, "Received")) ++rcvd;
      const bool keep = want_trusted ? rcvd <= static_cast<long>(trusted) : rcvd >= static_cast<long>(trusted);
      if (!keep) continue;
      absl::StrAppend(&out, f.name, ": ", f.value, "\n");
      if (want_trusted && rcvd == static_cast<long>(trusted)) break;  // that one Received
    }
    return out;
  }
  if (name == "EnvelopeFrom") {
    for (const char* field : {"X-Envelope-From", "Return-Path", "Envelope-Sender"}) {
      if (const mime::HeaderField* f = msg.headers().Find(field); f != nullptr) {
        std::vector<mime::Address> a = mime::ParseAddressList(f->raw);
        if (!a.empty()) return a[0].addr_spec();
      }
    }
    return std::string();
  }
  return std::nullopt;
}

bool FreemailDomains::Contains(absl::string_view address) const {
  size_t at = address.rfind('@');
  if (at == absl::string_view::npos || at == 0) return false;
  // Role and list addresses are not people's free mail accounts.
  static const Regex* const kRoles = new Regex(*Regex::Compile(
      "^(?:abuse|support|sales|info|helpdesk|contact|kontakt|(?:post|host|domain)master|"
      "undisclosed.*|request-[a-f0-9]{16}|bounced?-|.+=.+=.+)@",
      "i"));
  if (kRoles->Find(address, 100000)) return false;
  if (exact.count(std::string(address.substr(at + 1)))) return true;
  return wildcard.has_value() && wildcard->Find(address, 100000).has_value();
}


}  // namespace farside::rules
