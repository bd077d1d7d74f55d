// The built-in checks (what a regex cannot say: counts, comparisons between fields, relay
// trust, free mail providers); SpamAssassin's ports are in sa_checks.cc.
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
#include "lib/rules/sa_checks.h"

namespace farside::rules {

const std::vector<Relay>& CheckCache::relays(const mime::Message& msg) {
  if (!relays_.has_value()) relays_ = Relays(msg);
  return *relays_;
}

const FieldAddresses& CheckCache::addresses(const mime::Message& msg, absl::string_view field) {
  auto it = addresses_.find(field);
  if (it == addresses_.end()) it = addresses_.emplace(std::string(field), AddressesOf(msg, field)).first;
  return it->second;
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
      {"ma_non_text", Check::kMaNonText},
      {"microsoft_executable", Check::kMicrosoftExecutable},
      {"suspect_name", Check::kSuspectName},
      {"unresolved_template", Check::kUnresolvedTemplate},
      {"helo_ip_mismatch", Check::kHeloIpMismatch},
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
      {"multipart_ratio", Check::kMultipartRatio, false, 2, 2},
      {"unicode_ratio", Check::kUnicodeRatio, false, 1, 1},
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
    // blank_line_ratio(MIN,MAX[,MINLINES]): three numbers, one more than kWithArgs holds.
    if (name == "blank_line_ratio" && (args.size() == 2 || args.size() == 3)) {
      double lo, hi, lines = 1;
      if (absl::SimpleAtod(args[0], &lo) && absl::SimpleAtod(args[1], &hi) &&
          (args.size() == 2 || absl::SimpleAtod(args[2], &lines))) {
        c->min = lo;
        c->max = hi;
        c->lines = std::max(1.0, lines);
        c->kind = Check::kBlankLineRatio;
        return absl::OkStatus();
      }
    }
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

}  // namespace

std::optional<std::string> RunCheck(const CheckSpec& r, const mime::Message& msg,
                                    const CheckData& data, CheckCache& cache) {
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
        addresses = cache.addresses(msg, "From").all;
        for (const std::string& a : cache.addresses(msg, "EnvelopeFrom").all) addresses.push_back(a);
      } else {
        addresses = cache.addresses(msg, r.arg).all;
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
      const std::vector<std::string>& from = cache.addresses(msg, "From").all;
      const std::vector<std::string>& reply = cache.addresses(msg, "Reply-To").all;
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
      const std::vector<Relay>& relays = cache.relays(msg);
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
    case Check::kUrlShortener:
      for (const mime::Url& u : msg.Links().urls) {
        if (IsShortener(u, data.url_shorteners)) return u.host;
      }
      return std::nullopt;
    case Check::kSymbol:
      if (cache.known == nullptr) return std::nullopt;
      for (absl::string_view name : absl::StrSplit(r.arg, '|')) {
        if ((*cache.known)(std::string(name)) > 0) return std::string(name);
      }
      return std::nullopt;
    case Check::kNone: break;

    case Check::kEnvelopeFromMatchesRelay:
    case Check::kEnvelopeFromIsFrom:
    case Check::kReceivedRemoved:
    case Check::kFromInList:
    case Check::kReplyToInList:
    case Check::kHtmlTagExists:
    case Check::kHtmlTagBalance:
    case Check::kHtmlRange:
    case Check::kHtmlEval:
    case Check::kHtmlTextMatch:
    case Check::kHtmlFlag:
    case Check::kHtmlImageRatio:
    case Check::kHtmlTitleSubjectRatio:
    case Check::kToInSubject:
    case Check::kQpLongLine:
    case Check::kMimeEpilogue:
    case Check::kBounceRelaysConfigured:
    case Check::kBounceFromRelay:
    case Check::kImageArea:
    case Check::kImageTextRatio:
    case Check::kSpaceRatio:
    case Check::kForgedGmail:
    case Check::kFakeAolRelay:
    case Check::kRatwareNameId:
    case Check::kRatwareEnvelopeFrom:
    case Check::kBase64Length:
    case Check::kDkimValidAuthor:
    case Check::kDkimValid:
    case Check::kDkimChecked:
    case Check::kFromNameAddress:
    case Check::kBadIsoCharset:
    case Check::kUriHostInList:
    case Check::kBayes:
    case Check::kBlankLineRatio:
    case Check::kMaNonText:
    case Check::kMultipartRatio:
    case Check::kUnicodeRatio:
    case Check::kMicrosoftExecutable:
    case Check::kSuspectName:
    case Check::kUnresolvedTemplate:
    case Check::kHeloIpMismatch:
      return RunSaCheck(r, msg, data, cache);
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
