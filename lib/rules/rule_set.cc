// Loading, checking and running native rules.
#include "lib/rules/rule_set.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/mime/urls.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "absl/strings/numbers.h"
#include "lib/common/config_loader.h"
#include "lib/common/files.h"

namespace farside::rules {
namespace {

using Kind = CompiledRule::Kind;

// Letters, digits and '_', not starting with a digit (SpamAssassin's sub-rules start "__").
bool ValidName(absl::string_view n) {
  if (n.empty() || absl::ascii_isdigit(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

std::string Shorten(absl::string_view s) {
  constexpr size_t kMax = 60;
  if (s.size() <= kMax) return std::string(s);
  size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  return absl::StrCat(s.substr(0, cut), "...");
}

absl::Status RuleError(const std::string& file, const std::string& rule, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": rule ", rule, ": ", why));
}

absl::Status ParseCheck(absl::string_view text, CompiledRule* c);
bool PrivateIp(absl::string_view ip);

absl::StatusOr<CompiledRule> Compile(const farside::v1::Rule& r, const std::string& file) {
  CompiledRule c;
  c.name = r.name();
  c.description = r.description();
  c.group = r.group();
  c.score = r.score();
  c.file = file;
  if (!ValidName(r.name())) {
    return RuleError(file, r.name().empty() ? "(unnamed)" : r.name(),
                     "names are letters, digits and '_', not starting with a digit");
  }
  std::vector<std::pair<Kind, const std::string*>> kinds;
  // The loader fills defaults into every nested message, so a header rule is one that
  // names a field (or asks for a missing one).
  const bool is_header = !r.header().name().empty() || r.header().missing() ||
                         !r.header().pattern().empty();
  if (is_header) kinds.push_back({Kind::kHeader, &r.header().pattern()});
  if (!r.body().empty()) kinds.push_back({Kind::kBody, &r.body()});
  if (!r.rawbody().empty()) kinds.push_back({Kind::kRawBody, &r.rawbody()});
  if (!r.uri().empty()) kinds.push_back({Kind::kUri, &r.uri()});
  if (!r.filename().empty()) kinds.push_back({Kind::kFilename, &r.filename()});
  if (!r.full().empty()) kinds.push_back({Kind::kFull, &r.full()});
  if (!r.meta().empty()) kinds.push_back({Kind::kMeta, &r.meta()});
  if (!r.check().empty()) kinds.push_back({Kind::kCheck, &r.check()});
  if (kinds.size() != 1) {
    return RuleError(file, r.name(),
                     "give exactly one of header, body, rawbody, uri, filename, full, meta, check");
  }
  if (kinds[0].first == Kind::kCheck) {
    c.kind = Kind::kCheck;
    if (absl::Status st = ParseCheck(r.check(), &c); !st.ok()) return RuleError(file, r.name(), st.message());
    return c;
  }
  c.kind = kinds[0].first;
  const std::string& pattern = *kinds[0].second;
  if (c.kind == Kind::kMeta) {
    absl::StatusOr<Expression> e = Expression::Parse(pattern);
    if (!e.ok()) return RuleError(file, r.name(), absl::StrCat("meta: ", e.status().message()));
    c.meta = std::move(*e);
  } else if (!pattern.empty()) {
    absl::StatusOr<Regex> re = Regex::Compile(pattern, r.flags());
    if (!re.ok()) return RuleError(file, r.name(), re.status().message());
    c.regex = std::move(*re);
    c.pattern = pattern;
    c.flags = r.flags();
    c.with_subject = r.body_with_subject() && c.kind == Kind::kBody;
  }
  if (c.kind == Kind::kHeader) {
    c.header = r.header();
    // Rules built in code (imports) may leave the part unset; the schema's default is value.
    if (c.header.part().empty()) c.header.set_part("value");
    const std::string& part = c.header.part();
    if (part != "value" && part != "raw" && part != "address" && part != "name" &&
        part != "domain") {
      return RuleError(file, r.name(), "header part is one of value, raw, address, name, domain");
    }
    if (r.header().name().empty()) return RuleError(file, r.name(), "header rules need a name");
  }
  if (!r.force_action().empty()) {
    farside::v1::Action a;
    if (!farside::v1::Action_Parse(absl::AsciiStrToUpper(r.force_action()), &a)) {
      return RuleError(file, r.name(), absl::StrCat("unknown action '", r.force_action(), "'"));
    }
    c.force_action = a;
  }
  return c;
}

absl::Status ParseCheck(absl::string_view text, CompiledRule* c) {
  using Check = CompiledRule::Check;
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
  };
  for (const auto& [name, check] : kPlain) {
    if (text == name) {
      c->check = check;
      return absl::OkStatus();
    }
  }
  // The freemail checks take text: a field name and a regex (which may hold commas).
  {
    absl::string_view t = text;
    if (t == "freemail_from") {
      c->check = Check::kFreemailFrom;
      return absl::OkStatus();
    }
    if (t == "freemail_replyto") {
      c->check = Check::kFreemailReplyTo;
      c->check_arg = "replyto";
      return absl::OkStatus();
    }
    std::string regex;
    bool known = false;
    if (absl::ConsumePrefix(&t, "freemail_from(") && absl::ConsumeSuffix(&t, ")")) {
      c->check = Check::kFreemailFrom;
      regex = std::string(t);
      known = true;
    } else if (absl::ConsumePrefix(&t, "freemail_header(") && absl::ConsumeSuffix(&t, ")")) {
      c->check = Check::kFreemailHeader;
      size_t comma = t.find(',');
      c->check_arg = std::string(absl::StripAsciiWhitespace(t.substr(0, comma)));
      if (comma != absl::string_view::npos) regex = std::string(absl::StripAsciiWhitespace(t.substr(comma + 1)));
      if (absl::EndsWith(c->check_arg, ":addr")) c->check_arg.resize(c->check_arg.size() - 5);
      known = !c->check_arg.empty();
    } else if (absl::ConsumePrefix(&t, "freemail_replyto(") && absl::ConsumeSuffix(&t, ")")) {
      c->check = Check::kFreemailReplyTo;
      c->check_arg = std::string(absl::StripAsciiWhitespace(t));
      known = c->check_arg == "replyto" || c->check_arg == "reply";
    }
    if (known) {
      if (!regex.empty()) {
        absl::StatusOr<Regex> re = Regex::Compile(regex, "i");
        if (!re.ok()) return re.status();
        c->regex = std::move(*re);
      }
      return absl::OkStatus();
    }
    if (c->check == Check::kFreemailFrom || c->check == Check::kFreemailHeader ||
        c->check == Check::kFreemailReplyTo) {
      c->check = Check::kNone;
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
        c->check_arg = args[at++];
      }
      const int numbers = static_cast<int>(args.size() - at);
      if (numbers < w.min_numbers || numbers > w.max_numbers) break;
      std::optional<double>* bounds[] = {&c->check_min, &c->check_max};
      bool ok = true;
      for (int k = 0; k < numbers; ++k, ++at) {
        double v;
        if (args[at] == "undef") continue;
        if (!absl::SimpleAtod(args[at], &v)) ok = false;
        *bounds[k] = v;
      }
      if (!ok) break;
      // One-bound checks need their number.
      if (w.max_numbers == 1 && !c->check_min.has_value()) break;
      c->check = w.check;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown check '", written, "'"));
}

// Runs a built-in check; the option says what it found.
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

std::optional<std::string> RunCheck(const CompiledRule& r, const mime::Message& msg,
                                    const FreemailDomains& freemail) {
  using Check = CompiledRule::Check;
  auto leaves = [&](auto pred) {
    for (const mime::Part& p : msg.parts()) {
      if (p.is_leaf() && pred(p)) return true;
    }
    return false;
  };
  switch (r.check) {
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
      for (const mime::HeaderField* f : msg.headers().FindAll("Received")) {
        mime::ReceivedHop hop = mime::ParseReceived(f->raw);
        if (!hop.date.has_value()) continue;
        if (!newest.has_value()) newest = hop.date;
        if (!hop.ip.empty() && !PrivateIp(hop.ip)) {
          received = hop.date;
          break;
        }
      }
      if (!received.has_value()) received = newest;
      if (!date.has_value() || !received.has_value()) return std::nullopt;
      const double diff = static_cast<double>(date->unix_seconds - received->unix_seconds);
      if (r.check_min.has_value() && diff < *r.check_min * 3600) return std::nullopt;
      if (r.check_max.has_value() && diff >= *r.check_max * 3600) return std::nullopt;
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
      if (static_cast<double>(domains.size()) > *r.check_min) return absl::StrCat(domains.size(), " domains");
      return std::nullopt;
    }
    case Check::kImageOnly:
    case Check::kHtmlTextUnder: {
      // Text only as HTML, with little visible text (image_only: under 200 characters and
      // at least one image).
      size_t visible = 0, images = 0;
      bool html = false, plain = false;
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || !p.is_text() || p.is_attachment()) continue;
        if (!p.is_html()) {
          plain = true;
          continue;
        }
        html = true;
        const mime::HtmlContent& h = p.Html();
        for (char ch : h.text) visible += !absl::ascii_isspace(static_cast<unsigned char>(ch));
        images += h.images.size();
      }
      if (!html || plain) return std::nullopt;
      if (r.check == Check::kImageOnly) {
        if (images > 0 && visible < 200) return absl::StrCat(images, " images, ", visible, " characters");
        return std::nullopt;
      }
      if (static_cast<double>(visible) < *r.check_min) return absl::StrCat(visible, " characters");
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
      size_t visible = 0, images = 0;
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || !p.is_html() || p.is_attachment()) continue;
        const mime::HtmlContent& h = p.Html();
        for (char ch : h.text) visible += !absl::ascii_isspace(static_cast<unsigned char>(ch));
        images += h.images.size();
      }
      const double v = static_cast<double>(visible);
      if (images == 0 || (r.check_min && v < *r.check_min) || (r.check_max && v >= *r.check_max)) {
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
      if (r.check == Check::kBodyLengthUnder) {
        if (static_cast<double>(length) < *r.check_min) return absl::StrCat(length, " characters");
        return std::nullopt;
      }
      // Share of capitals among the letters, in (MIN, MAX], for texts long enough to judge.
      if (letters < 200) return std::nullopt;
      const double pct = 100.0 * static_cast<double>(upper) / static_cast<double>(letters);
      if ((r.check_min && pct <= *r.check_min) || (r.check_max && pct > *r.check_max)) return std::nullopt;
      return absl::StrCat(static_cast<int>(pct), "% capitals");
    }
    case Check::kImageCount: {
      // Image parts of a type ("all", "gif", "png", "jpeg") numbering in [MIN, MAX].
      size_t n = 0;
      for (const mime::Part& p : msg.parts()) {
        if (!p.is_leaf() || p.content_type.rfind("image/", 0) != 0) continue;
        const std::string sub = p.content_type.substr(6);
        if (r.check_arg == "all" || sub == r.check_arg || (r.check_arg == "jpeg" && sub == "jpg")) ++n;
      }
      const double v = static_cast<double>(n);
      if ((r.check_min && v < *r.check_min) || (r.check_max && v > *r.check_max)) return std::nullopt;
      return absl::StrCat(n, " ", r.check_arg, " images");
    }
    case Check::kHeaderCount: {
      const double n = static_cast<double>(msg.headers().FindAll(r.check_arg).size());
      if ((r.check_min && n < *r.check_min) || (r.check_max && n > *r.check_max)) return std::nullopt;
      return absl::StrCat(static_cast<int>(n), " ", r.check_arg, " fields");
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
      if (r.check == Check::kFreemailFrom) {
        addresses = AddressesOf(msg, "From");
        for (std::string& a : AddressesOf(msg, "EnvelopeFrom")) addresses.push_back(std::move(a));
      } else {
        addresses = AddressesOf(msg, r.check_arg);
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
      if (r.check_arg == "replyto" ? !reply_free : ((!reply.empty() && !reply_free) || !from_free)) {
        return std::nullopt;
      }
      // A free mail address in the text that is not where replies go.
      const std::vector<std::string>& targets = r.check_arg == "replyto" || reply_free ? reply : from;
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
      if (r.check == Check::kNoRelays) return relays.empty() ? std::optional<std::string>("") : std::nullopt;
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
    case Check::kNone: break;
  }
  return std::nullopt;
}

// Orders meta rules so each comes after the meta rules it reads; a cycle is an error.
absl::Status OrderMeta(std::vector<CompiledRule>& metas) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < metas.size(); ++i) index[metas[i].name] = i;
  std::vector<int> state(metas.size(), 0);  // 0 new, 1 visiting, 2 done
  std::vector<CompiledRule> out;
  std::function<absl::Status(size_t, std::vector<std::string>&)> visit =
      [&](size_t i, std::vector<std::string>& path) -> absl::Status {
    if (state[i] == 2) return absl::OkStatus();
    path.push_back(metas[i].name);
    if (state[i] == 1) {
      return RuleError(metas[i].file, metas[i].name,
                       absl::StrCat("meta rules refer to each other in a cycle: ",
                                    absl::StrJoin(path, " -> ")));
    }
    state[i] = 1;
    for (const std::string& s : metas[i].meta->symbols()) {
      auto it = index.find(s);
      if (it == index.end()) continue;
      if (absl::Status st = visit(it->second, path); !st.ok()) return st;
    }
    state[i] = 2;
    path.pop_back();
    out.push_back(std::move(metas[i]));
    return absl::OkStatus();
  };
  for (size_t i = 0; i < metas.size(); ++i) {
    std::vector<std::string> path;
    if (absl::Status st = visit(i, path); !st.ok()) return st;
  }
  metas = std::move(out);
  return absl::OkStatus();
}

bool PrivateIp(absl::string_view ip) {
  int a = -1, b = -1;
  if (std::sscanf(std::string(ip).c_str(), "%d.%d.", &a, &b) == 2) {
    return a == 10 || a == 127 || (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168) ||
           (a == 169 && b == 254);
  }
  const std::string lower = absl::AsciiStrToLower(ip);
  return lower == "::1" || absl::StartsWith(lower, "fe80:") || absl::StartsWith(lower, "fc") ||
         absl::StartsWith(lower, "fd");
}

}  // namespace

std::vector<Relay> Relays(const mime::Message& msg) {
  std::vector<Relay> out;
  bool trusted = true;
  for (const mime::HeaderField* f : msg.headers().FindAll("Received")) {
    mime::ReceivedHop hop = mime::ParseReceived(f->raw);
    if (hop.ip.empty()) continue;  // a hop with no address (local delivery) is no relay
    // Authenticated submission extends trust, as a private address does.
    const bool auth = absl::StrContains(absl::AsciiStrToLower(hop.with), "esmtpa") ||
                      absl::StrContains(absl::AsciiStrToLower(hop.with), "esmtpsa");
    if (trusted && !PrivateIp(hop.ip) && !auth) trusted = false;
    out.push_back({std::move(hop), trusted});
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
      absl::StrAppend(&out, "[ ip=", r.hop.ip, " rdns=", r.hop.from_rdns, " helo=", r.hop.from,
                      " by=", r.hop.by, " ident= envfrom= intl=", r.trusted ? 1 : 0, " id=", r.hop.id,
                      " auth= msa=0 ]");
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

absl::StatusOr<std::unique_ptr<RuleSet>> RuleSet::FromSources(const std::vector<Source>& sources,
                                                              uint32_t match_limit) {
  std::vector<File> files;
  for (const Source& src : sources) {
    File f{src.name, {}};
    if (absl::Status s = config::MergeYaml(src.text, src.name, &f.rules); !s.ok()) return s;
    files.push_back(std::move(f));
  }
  return FromRuleFiles(files, match_limit, nullptr);
}

absl::StatusOr<std::unique_ptr<RuleSet>> RuleSet::FromRuleFiles(const std::vector<File>& files,
                                                                uint32_t match_limit,
                                                                std::vector<Skipped>* skipped,
                                                                const PrefilterOptions& prefilter) {
  auto set = std::make_unique<RuleSet>();
  set->prefilter_ = prefilter;
  set->match_limit_ = match_limit;
  std::vector<CompiledRule> all;
  std::map<std::string, std::pair<size_t, bool>> defined;  // name -> (index in all, imported)
  std::vector<std::string> wildcards;  // freemail domains with '*'

  for (const File& file : files) {
    for (const auto& r : file.rules.rules()) {
      if (!r.enabled()) continue;
      absl::StatusOr<CompiledRule> c = Compile(r, file.name);
      if (!c.ok()) {
        if (skipped == nullptr || !file.imported) return c.status();
        skipped->push_back({file.name, r.name(), "", std::string(c.status().message())});
        continue;
      }
      auto it = defined.find(c->name);
      if (it != defined.end()) {
        if (!it->second.second || file.imported) {
          return RuleError(file.name, c->name, absl::StrCat("already defined in ", all[it->second.first].file));
        }
        all[it->second.first] = std::move(*c);  // the native rule replaces the imported one
        it->second.second = false;
        continue;
      }
      defined[c->name] = {all.size(), file.imported};
      all.push_back(std::move(*c));
    }
    for (const auto& g : file.rules.groups()) set->groups_[g.name()] = g;
    for (const std::string& d : file.rules.freemail_domains()) {
      const std::string lower = absl::AsciiStrToLower(d);
      if (lower.find('*') == std::string::npos) {
        set->freemail_.exact.insert(lower);
      } else {
        wildcards.push_back(lower);
      }
    }
    for (const auto& l : file.rules.lists()) {
      if (defined.count(l.name())) {
        return RuleError(file.name, l.name(), "a list and a rule have the same name");
      }
      set->lists_.push_back(
          {l, std::filesystem::path(file.name).parent_path().string(), file.name});
    }
  }
  if (!wildcards.empty()) {
    std::string re = "@(?:";
    for (size_t i = 0; i < wildcards.size(); ++i) {
      if (i > 0) re += "|";
      for (char ch : wildcards[i]) {
        if (ch == '*') {
          re += "[^.]*";
        } else if (absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '-') {
          re.push_back(ch);
        } else {
          re += "\\";
          re.push_back(ch);
        }
      }
    }
    re += ")$";
    absl::StatusOr<Regex> w = Regex::Compile(re, "i");
    if (!w.ok()) return absl::InvalidArgumentError(absl::StrCat("freemail_domains: ", w.status().message()));
    set->freemail_.wildcard = std::move(*w);
  }
  std::vector<CompiledRule> plain, metas;
  for (CompiledRule& c : all) (c.kind == Kind::kMeta ? metas : plain).push_back(std::move(c));
  // Imported sets may hold cycles: leave out the meta rule that closes one, and retry.
  for (int tries = 0; tries < 1000; ++tries) {
    std::vector<CompiledRule> copy = metas;
    absl::Status s = OrderMeta(copy);
    if (s.ok()) {
      metas = std::move(copy);
      break;
    }
    if (skipped == nullptr) return s;
    // The message is "FILE: rule NAME: ..." for the rule at the start of the cycle.
    std::string msg(s.message());
    size_t at = msg.find(": rule ");
    std::string name = msg.substr(at + 7, msg.find(':', at + 7) - at - 7);
    auto it = std::find_if(metas.begin(), metas.end(), [&](const CompiledRule& m) { return m.name == name; });
    if (it == metas.end()) return s;
    skipped->push_back({it->file, it->name, "meta", "part of a cycle of meta rules"});
    metas.erase(it);
  }
  set->rules_ = std::move(plain);
  for (CompiledRule& m : metas) set->rules_.push_back(std::move(m));
  set->BindMetaSymbols();
  set->BindHeaderSlots();
  set->BuildPrefilters();
  return set;
}

absl::StatusOr<std::unique_ptr<RuleSet>> RuleSet::LoadDirs(const std::vector<std::string>& dirs,
                                                           uint32_t match_limit) {
  std::vector<Source> sources;
  for (const std::string& dir : dirs) {
    absl::StatusOr<std::vector<Source>> more = ReadSources(dir, ".yaml", "rules directory");
    if (!more.ok()) return more.status();
    for (Source& m : *more) sources.push_back(std::move(m));
  }
  return FromSources(sources, match_limit);
}

absl::StatusOr<std::vector<RuleSet::Source>> ReadSources(const std::string& dir,
                                                         absl::string_view extension,
                                                         absl::string_view what) {
  absl::StatusOr<std::vector<std::string>> files = ListFiles(dir, extension, what);
  if (!files.ok()) return files.status();
  std::vector<RuleSet::Source> out;
  for (const std::string& f : *files) {
    absl::StatusOr<std::string> text = config::ReadFile(f);
    if (!text.ok()) return text.status();
    out.push_back({f, std::move(*text)});
  }
  return out;
}

void RuleSet::BuildPrefilters() {
  if (!prefilter_.enabled) return;
  // Below this many patterns one pass costs about what running them does.
  constexpr size_t kMinPatterns = 4;
  std::map<std::string, Filter> by_key;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const CompiledRule& r = rules_[i];
    if (!r.regex.has_value() || r.kind == Kind::kMeta) continue;
    std::string key;
    switch (r.kind) {
      case Kind::kHeader:
        // A rule's if-unset value is a text of its own; such rules are simply run.
        if (r.header.missing() || r.header.has_if_unset()) continue;
        key = absl::StrCat("header:", absl::AsciiStrToLower(r.header.name()), ":", r.header.part(),
                           r.header.mime_parts() ? ":parts" : "");
        break;
      case Kind::kBody: key = r.with_subject ? "body+subject" : "body"; break;
      case Kind::kRawBody: key = "rawbody"; break;
      case Kind::kUri: key = "uri"; break;
      case Kind::kFilename: key = "filename"; break;
      case Kind::kFull: key = "full"; break;
      case Kind::kMeta:
      case Kind::kCheck: continue;
    }
    Filter& f = by_key[key];
    f.kind = r.kind;
    if (r.kind == Kind::kHeader) {
      f.header = r.header.name();
      f.part = r.header.part();
      f.mime_parts = r.header.mime_parts();
    }
    f.rules.push_back(i);
  }
  for (auto& [key, f] : by_key) {
    if (f.rules.size() < kMinPatterns) continue;
    std::vector<Prefilter::Pattern> patterns;
    for (size_t i : f.rules) patterns.push_back({rules_[i].pattern, rules_[i].flags});
    f.prefilter = Prefilter::Build(patterns, prefilter_.cache_dir);
    if (f.prefilter == nullptr) continue;
    for (size_t k = 0; k < f.rules.size(); ++k) {
      if (f.prefilter->covers(k)) rules_[f.rules[k]].filter = static_cast<int>(filters_.size());
    }
    filters_.push_back(std::move(f));
  }
}

void RuleSet::BindHeaderSlots() {
  std::map<std::tuple<std::string, std::string, bool>, int> slots;
  header_slots_.clear();
  for (CompiledRule& r : rules_) {
    if (r.kind != Kind::kHeader) continue;
    auto key = std::make_tuple(absl::AsciiStrToLower(r.header.name()), r.header.part(),
                               r.header.mime_parts());
    auto [it, fresh] = slots.emplace(key, static_cast<int>(header_slots_.size()));
    if (fresh) header_slots_.push_back({r.header.name(), r.header.part(), r.header.mime_parts()});
    r.header_slot = it->second;
  }
}

void RuleSet::BindMetaSymbols() {
  std::map<std::string, int> index, external;
  for (size_t i = 0; i < rules_.size(); ++i) index[rules_[i].name] = static_cast<int>(i);
  for (CompiledRule& r : rules_) {
    if (!r.meta.has_value()) continue;
    r.meta_slots.clear();
    for (const std::string& s : r.meta->symbols()) {
      auto it = index.find(s);
      if (it != index.end()) {
        r.meta_slots.push_back(it->second);
        continue;
      }
      auto [e, fresh] = external.emplace(s, static_cast<int>(external_.size()));
      if (fresh) external_.push_back(s);
      r.meta_slots.push_back(-1 - e->second);
    }
  }
}

size_t RuleSet::prefiltered() const {
  size_t n = 0;
  for (const CompiledRule& r : rules_) n += r.filter >= 0;
  return n;
}

std::vector<char> RuleSet::Mask(const std::vector<std::string>& names,
                                std::vector<std::string>* unknown) const {
  std::vector<char> mask(rules_.size(), 0);
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < rules_.size(); ++i) index[rules_[i].name] = i;
  for (const std::string& n : names) {
    auto it = index.find(n);
    if (it != index.end()) {
      mask[it->second] = 1;
    } else if (unknown != nullptr) {
      unknown->push_back(n);
    }
  }
  return mask;
}

std::vector<RuleSet::Hit> RuleSet::Run(const mime::Message& msg,
                                       const std::function<double(const std::string&)>& known,
                                       const std::vector<char>* off) const {
  std::vector<Hit> hits;
  // What each rule found (1 or 0), and what other checks found, asked once per symbol.
  std::vector<double> value(rules_.size(), 0);
  std::vector<double> external(external_.size(), -1);
  std::vector<double> slots;
  // Many rules read the same address field (From:addr, From:name, ...): parse each once.
  std::map<const mime::HeaderField*, std::vector<mime::Address>> addresses;
  auto addresses_of = [&](const mime::HeaderField* f) -> const std::vector<mime::Address>& {
    auto it = addresses.find(f);
    if (it == addresses.end()) it = addresses.emplace(f, mime::ParseAddressList(f->raw)).first;
    return it->second;
  };
  // Indexed by header slot (BindHeaderSlots): no name lookups on the hot path.
  std::vector<std::optional<std::vector<std::string>>> slot_values(header_slots_.size());
  auto values_of = [&](int slot) -> const std::vector<std::string>& {
    std::optional<std::vector<std::string>>& cached = slot_values[slot];
    if (cached.has_value()) return *cached;
    const HeaderSlot& hs = header_slots_[slot];
    const std::string& hname = hs.name;
    const std::string& part = hs.part;
    const bool mime_parts = hs.mime_parts;
    std::vector<std::string>& values = cached.emplace();
    std::vector<const mime::HeaderField*> fields;
    if (mime_parts) {
      for (const mime::Part& p : msg.parts()) {
        for (const mime::HeaderField* f : p.headers.FindAll(hname)) fields.push_back(f);
      }
    } else if (hname == "ToCc") {
      fields = msg.headers().FindAll("To");
      for (const mime::HeaderField* f : msg.headers().FindAll("Cc")) fields.push_back(f);
    } else if (const std::optional<std::string> pseudo = PseudoHeader(msg, hname); pseudo) {
      values.push_back(*pseudo);  // SpamAssassin matches an empty one as ""
    } else if (hname == "ALL") {  // the whole header, one "Name: value" line per field
      std::string all;
      for (const mime::HeaderField& f : msg.headers().fields()) {
        absl::StrAppend(&all, f.name, ": ", part == "raw" ? f.raw : f.value, "\n");
      }
      values.push_back(std::move(all));
    } else {
      fields = msg.headers().FindAll(hname);
    }
    for (const mime::HeaderField* f : fields) {
      if (part == "value" || part == "raw") {
        values.push_back(part == "value" ? f->value : f->raw);
        continue;
      }
      for (const mime::Address& a : addresses_of(f)) {
        values.push_back(part == "address" ? a.addr_spec()
                         : part == "name"  ? a.display_name
                                           : a.domain);
      }
    }
    return values;
  };
  // The texts body and rawbody rules read: each text part that is not an attachment.
  // text, raw, subject and text: each built once.
  std::optional<std::vector<absl::string_view>> body_cache[3];
  auto body_texts = [&](bool raw, bool subject = false) -> const std::vector<absl::string_view>& {
    std::optional<std::vector<absl::string_view>>& cached = body_cache[subject ? 2 : raw ? 1 : 0];
    if (cached.has_value()) return *cached;
    std::vector<absl::string_view>& texts = cached.emplace();
    if (subject) {
      if (const mime::HeaderField* f = msg.headers().Find("Subject"); f != nullptr) texts.push_back(f->value);
    }
    for (const mime::Part& p : msg.parts()) {
      if (!p.is_leaf() || !p.is_text() || p.is_attachment()) continue;
      texts.push_back(raw ? absl::string_view(p.decoded)
                      : p.is_html() ? absl::string_view(p.Html().text)
                                    : absl::string_view(p.text));
    }
    return texts;
  };
  auto filename_texts = [&]() {
    std::vector<absl::string_view> texts;
    for (const mime::Part& p : msg.parts()) {
      if (p.filename.has_value() && !p.filename->empty()) texts.push_back(*p.filename);
      for (const mime::ArchiveEntry& e : p.archive.entries) texts.push_back(e.name);
    }
    return texts;
  };
  // Each prefilter runs once, over every text of its kind, when a rule first needs it.
  std::vector<std::vector<char>> maybe(filters_.size());
  auto may_match = [&](const CompiledRule& r) -> bool {
    if (r.filter < 0) return true;
    const Filter& f = filters_[r.filter];
    std::vector<char>& m = maybe[r.filter];
    if (m.empty()) {
      m.assign(f.rules.size() + 1, 0);  // +1: never empty once scanned
      std::vector<absl::string_view> texts;
      switch (f.kind) {
        case Kind::kHeader: {
          const std::vector<std::string>& v = values_of(rules_[f.rules[0]].header_slot);
          texts.assign(v.begin(), v.end());
          if (texts.empty()) texts.push_back("");  // negated rules read an absent field as ""
          break;
        }
        case Kind::kBody: texts = body_texts(false, rules_[f.rules[0]].with_subject); break;
        case Kind::kRawBody: texts = body_texts(true); break;
        case Kind::kUri:
          for (const mime::Url& u : msg.Links().urls) texts.push_back(u.url);
          break;
        case Kind::kFilename: texts = filename_texts(); break;
        case Kind::kFull: texts.push_back(msg.raw()); break;
        case Kind::kMeta:
        case Kind::kCheck: break;
      }
      for (absl::string_view t : texts) f.prefilter->Scan(t, &m);
    }
    // The rule's pattern index in its filter.
    size_t k = std::lower_bound(f.rules.begin(), f.rules.end(),
                                static_cast<size_t>(&r - rules_.data())) - f.rules.begin();
    return m[k] != 0;
  };
  auto find = [&](const CompiledRule& r, absl::string_view text) -> std::optional<std::string> {
    if (!r.regex.has_value()) return std::string();
    std::optional<absl::string_view> m = r.regex->Find(text, match_limit_);
    if (!m.has_value()) return std::nullopt;
    return Shorten(*m);
  };
  for (const CompiledRule& r : rules_) {
    if (off != nullptr && (*off)[&r - rules_.data()]) continue;
    std::optional<std::string> option;
    // No text of its kind can match: the regex is not run (a negated rule then hits).
    const bool possible = may_match(r);
    switch (r.kind) {
      case Kind::kHeader: {
        const std::string& hname = r.header.name();
        if (r.header.missing()) {
          bool absent = hname == "ToCc" ? msg.headers().FindAll("To").empty() &&
                                              msg.headers().FindAll("Cc").empty()
                                        : msg.headers().FindAll(hname).empty();
          if (absent) option = "missing";
          break;
        }
        const std::vector<std::string>& found =
            values_of(r.header_slot);
        // An absent field reads as the if-unset value, or (negated rules) as "".
        std::vector<std::string> instead;
        if (found.empty() && r.header.has_if_unset()) instead.push_back(r.header.if_unset());
        if (found.empty() && instead.empty() && r.header.negate()) instead.push_back("");
        const std::vector<std::string>& values = found.empty() ? instead : found;
        if (r.header.negate()) {
          // Hit when no value matches.
          bool any = false;
          if (possible) {
            for (const std::string& v : values) any |= find(r, v).has_value();
          }
          if (!any) option = "";
          break;
        }
        if (values.empty() || !possible) break;
        size_t matched = 0;
        for (const std::string& v : values) {
          std::optional<std::string> m = find(r, v);
          if (m.has_value()) {
            ++matched;
            if (!option.has_value()) option = *m;
            if (!r.header.all()) break;
          } else if (r.header.all()) {
            option.reset();
            break;
          }
        }
        if (r.header.all() && matched != values.size()) option.reset();
        break;
      }
      case Kind::kBody:
      case Kind::kRawBody:
        if (!possible) break;
        for (absl::string_view text : body_texts(r.kind == Kind::kRawBody, r.with_subject)) {
          if ((option = find(r, text))) break;
        }
        break;
      case Kind::kUri:
        if (!possible) break;
        for (const mime::Url& u : msg.Links().urls) {
          if ((option = find(r, u.url))) break;
        }
        break;
      case Kind::kFilename:
        if (!possible) break;
        for (absl::string_view name : filename_texts()) {
          if ((option = find(r, name))) break;
        }
        break;
      case Kind::kFull:
        if (possible) option = find(r, msg.raw());
        break;
      case Kind::kCheck:
        option = RunCheck(r, msg, freemail_);
        break;
      case Kind::kMeta: {
        slots.resize(r.meta_slots.size());
        for (size_t k = 0; k < r.meta_slots.size(); ++k) {
          int at = r.meta_slots[k];
          if (at >= 0) {
            slots[k] = value[at];
            continue;
          }
          double& e = external[-1 - at];
          if (e < 0) e = std::max(0.0, known(external_[-1 - at]));
          slots[k] = e;
        }
        if (r.meta->Evaluate(slots.data()) != 0) option = "";
        break;
      }
    }
    if (option.has_value()) {
      value[&r - rules_.data()] = 1;
      hits.push_back({&r, std::move(*option)});
    }
  }
  return hits;
}

double RuleSet::Total(const std::vector<std::pair<std::string, double>>& group_and_score) const {
  std::map<std::string, double> by_group;
  double total = 0;
  for (const auto& [group, score] : group_and_score) {
    if (groups_.count(group)) {
      by_group[group] += score;
    } else {
      total += score;
    }
  }
  for (const auto& [group, sum] : by_group) {
    const farside::v1::RuleGroup& g = groups_.at(group);
    double v = sum;
    if (g.has_max_score()) v = std::min(v, g.max_score());
    if (g.has_min_score()) v = std::max(v, g.min_score());
    total += v;
  }
  return total;
}

}  // namespace farside::rules
