// SpamAssassin's evals mapped to Farside's checks and block lists (the table is in
// docs/rules.md).
#include "lib/rules/sa_evals.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "lib/rules/regex.h"

namespace farside::rules {
namespace {

// HTMLEval's checks over SpamAssassin's HTML statistics (sa_html.h).
std::string NativeHtmlCheck(absl::string_view call) {
  std::string name;
  std::vector<std::string> a;
  if (!SplitCall(call, &name, &a)) return "";
  auto native = [&](const std::string& as) { return absl::StrCat(as, "(", absl::StrJoin(a, ","), ")"); };
  if ((name == "html_tag_exists" && a.size() == 1) || (name == "html_tag_balance" && a.size() == 2) ||
      (name == "html_range" && a.size() == 3) || (name == "html_eval" && a.size() == 2) ||
      (name == "html_text_match" && a.size() == 2) || (name == "html_image_ratio" && a.size() == 2) ||
      (name == "html_title_subject_ratio" && a.size() == 1)) {
    return native(name);
  }
  if (name == "html_test" && a.size() == 1 &&
      (a[0] == "embeds" || a[0] == "form_action_mailto" || a[0] == "font_face_bad")) {
    return native("html_flag");
  }
  if (name == "pixel_coverage" && (a.size() == 2 || a.size() == 3)) return native("image_area");
  if (name == "image_to_text_ratio" && a.size() == 3) return native("image_text_ratio");
  return "";
}

// A list code from a SpamAssassin subtest: an address, a bit mask of the last octet, or a
// regex over the answer ("" matches any answer).
std::optional<farside::v1::DnsblCode> CodeFor(const std::string& subtest, const std::string& symbol, double score) {
  farside::v1::DnsblCode c;
  c.set_symbol(symbol);
  c.set_score(score);
  in_addr v;
  uint32_t bits;
  if (subtest.empty()) {
    c.set_pattern(".");
  } else if (inet_pton(AF_INET, subtest.c_str(), &v) == 1) {
    c.set_address(subtest);
  } else if (absl::SimpleAtoi(subtest, &bits) && bits > 0 && bits < 256) {
    c.set_bits(bits);
  } else if (Regex::Compile(subtest, "").ok()) {
    c.set_pattern(subtest);
  } else {
    return std::nullopt;
  }
  return c;
}

}  // namespace

bool SplitCall(absl::string_view call, std::string* name, std::vector<std::string>* args) {
  call = absl::StripAsciiWhitespace(call);
  size_t open = call.find('(');
  if (open == absl::string_view::npos || !absl::EndsWith(call, ")")) return false;
  *name = std::string(absl::StripAsciiWhitespace(call.substr(0, open)));
  absl::string_view in = call.substr(open + 1, call.size() - open - 2);
  args->clear();
  for (size_t i = 0; i < in.size();) {
    while (i < in.size() && absl::ascii_isspace(static_cast<unsigned char>(in[i]))) ++i;
    if (i == in.size()) break;
    std::string a;
    if (in[i] == '\'' || in[i] == '"') {
      const char q = in[i++];
      size_t close = in.find(q, i);
      if (close == absl::string_view::npos) return false;
      a = std::string(in.substr(i, close - i));
      i = close + 1;
    } else {
      size_t comma = in.find(',', i);
      a = std::string(absl::StripAsciiWhitespace(in.substr(i, comma == absl::string_view::npos ? absl::string_view::npos : comma - i)));
      i = comma == absl::string_view::npos ? in.size() : comma;
    }
    args->push_back(std::move(a));
    while (i < in.size() && absl::ascii_isspace(static_cast<unsigned char>(in[i]))) ++i;
    if (i < in.size() && in[i] != ',') return false;
    ++i;
  }
  return true;
}

std::string NativeCheck(absl::string_view call) {
  if (std::string html = NativeHtmlCheck(call); !html.empty()) return html;
  std::string c(absl::StripAsciiWhitespace(call));
  c.erase(std::remove_if(c.begin(), c.end(), [](char ch) { return ch == ' ' || ch == '\'' || ch == '"'; }),
          c.end());
  static const std::pair<const char*, const char*> kMap[] = {
      {"check_equal_from_domains()", "from_envelope_domain_differs"},
      {"check_all_trusted()", "all_trusted"},
      {"check_no_relays()", "no_relays"},
      {"check_for_missing_to_header()", "missing_to"},
      {"html_test(html)", "has_html"},
      {"check_for_mime_html()", "has_html"},
      {"check_for_mime_html_only()", "html_only"},
      {"check_for_mime(mime_attachment)", "has_attachment"},
      {"check_for_mime(mime_base64_count)", "has_base64_part"},
      {"check_for_mime(mime_qp_count)", "has_qp_part"},
      {"check_for_mime(mime_base64_encoded_text)", "base64_text"},
      {"check_mailfrom_matches_rcvd()", "envelope_from_matches_relay"},
      {"check_for_matching_env_and_hdr_from()", "envelope_from_is_from"},
      {"gated_through_received_hdr_remover()", "received_removed"},
      {"short_url()", "url_shortener"},
      // What Farside's own SPF (of the envelope sender), DKIM, DMARC and ARC checks find.
      {"check_for_spf_pass()", "symbol(SPF_PASS)"},
      {"check_for_spf_fail()", "symbol(SPF_FAIL)"},
      {"check_for_spf_softfail()", "symbol(SPF_SOFTFAIL)"},
      {"check_for_spf_neutral()", "symbol(SPF_NEUTRAL)"},
      {"check_for_spf_none()", "symbol(SPF_NONE)"},
      {"check_for_spf_permerror()", "symbol(SPF_PERMERROR)"},
      {"check_for_spf_temperror()", "symbol(SPF_TEMPERROR)"},
      {"check_dkim_signed()", "symbol(DKIM_PASS|DKIM_FAIL|DKIM_PERMERROR|DKIM_TEMPERROR)"},
      {"check_dkim_valid()", "symbol(DKIM_PASS)"},
      {"check_dmarc_pass()", "symbol(DMARC_PASS)"},
      {"check_dmarc_reject()", "symbol(DMARC_POLICY_REJECT)"},
      {"check_dmarc_quarantine()", "symbol(DMARC_POLICY_QUARANTINE)"},
      {"check_dmarc_none()", "symbol(DMARC_POLICY_NONE)"},
      {"check_dmarc_missing()", "symbol(DMARC_NONE)"},
      {"check_arc_signed()", "symbol(ARC_PASS|ARC_FAIL)"},
      {"check_arc_valid()", "symbol(ARC_PASS)"},
      {"check_for_to_in_subject(user)", "to_in_subject(user)"},
      {"check_for_to_in_subject(address)", "to_in_subject(address)"},
      {"check_for_mime(mime_qp_long_line)", "qp_long_line"},
      {"check_for_mime(mime_bad_iso_charset)", "bad_iso_charset"},
      {"check_for_forged_gmail_received_headers()", "forged_gmail"},
      {"check_for_fake_aol_relay_in_rcvd()", "fake_aol_relay"},
      {"check_ratware_name_id()", "ratware_name_id"},
      {"check_ratware_envelope_from()", "ratware_envelope_from"},
      {"check_dkim_valid_author_sig()", "dkim_valid_author"},
      {"check_dkim_dependable()", "dkim_checked"},
      {"check_fromname_equals_to()", "from_name_address(to)"},
      {"check_fromname_equals_replyto()", "from_name_address(replyto)"},
      {"check_msg_parse_flags(mime_epilogue_exists)", "mime_epilogue"},
      {"have_any_bounce_relays()", "bounce_relays_configured"},
      {"check_welcomelist_bounce_relays()", "bounce_from_relay"},
      {"check_whitelist_bounce_relays()", "bounce_from_relay"},
      {"check_ma_non_text()", "ma_non_text"},
      {"check_microsoft_executable()", "microsoft_executable"},
      {"check_suspect_name()", "suspect_name"},
      {"check_unresolved_template()", "unresolved_template"},
      {"helo_ip_mismatch()", "helo_ip_mismatch"},
  };
  for (const auto& [sa, native] : kMap) {
    if (c == sa) return native;
  }
  static const std::pair<const char*, const char*> kRenamed[] = {
      {"check_for_shifted_date(", "date_shift("},
      {"html_image_only(", "html_image_text("},
      {"check_body_length(", "body_length_under("},
      {"image_count(", "image_count("},
      {"check_header_count_range(", "header_count("},
      {"check_for_uppercase(", "uppercase_percent("},
      {"tvd_vertical_words(", "space_ratio("},
      {"check_base64_length(", "base64_length("},
      {"check_dkim_valid(", "dkim_valid("},
      {"check_from_in_list(", "from_in_list("},
      {"check_replyto_in_list(", "reply_to_in_list("},
      {"check_bayes(", "bayes("},
      {"check_blank_line_ratio(", "blank_line_ratio("},
      {"check_mime_multipart_ratio(", "multipart_ratio("},
      {"check_abundant_unicode_ratio(", "unicode_ratio("},
  };
  for (const auto& [sa, native] : kRenamed) {
    if (absl::StartsWith(c, sa)) return native + c.substr(std::strlen(sa));
  }
  if (c == "subject_is_all_caps()") return "subject_all_caps";
  // FreeMail: the arguments are text (a field, a regex), kept as written but for quotes.
  for (const auto& [sa, native] : {std::pair{"check_freemail_from(", "freemail_from("},
                                   std::pair{"check_freemail_header(", "freemail_header("},
                                   std::pair{"check_freemail_replyto(", "freemail_replyto("}}) {
    if (!absl::StartsWith(c, sa)) continue;
    std::string args = c.substr(std::strlen(sa));
    if (args == ")") return std::string(native).substr(0, std::strlen(native) - 1);
    return native + args;
  }
  return "";
}

std::string AddBlockList(const std::vector<std::string>& dns, const std::string& rule, double score,
                         const std::map<std::string, std::vector<std::string>>& uri_lists,
                         std::map<std::string, farside::v1::DnsblList>* lists) {
  const std::string& kind = dns[0];
  auto list_name = [](absl::string_view prefix, absl::string_view key) {
    std::string n = absl::StrCat(prefix, key);
    for (char& ch : n) ch = absl::ascii_isalnum(static_cast<unsigned char>(ch)) ? absl::ascii_toupper(ch) : '_';
    return n;
  };
  std::string key, subtest;
  if (kind == "uri") {
    auto it = uri_lists.find(dns[1]);
    if (it == uri_lists.end()) return "eval: check_uridnsbl names no urirhssub or urirhsbl";
    const std::vector<std::string>& u = it->second;  // directive, zone, type, subtest
    if (u[0] == "uridnsbl") return "eval: check_uridnsbl (a uridnsbl list asks for the addresses of a domain's name servers)";
    if (u[2] != "A") return "eval: check_uridnsbl (a " + u[2] + " list)";
    key = "uri:" + u[1];
    subtest = u[3];
    farside::v1::DnsblList& l = (*lists)[key];
    if (l.name().empty()) {
      l.set_name(list_name("SA_URI_", u[1]));
      l.set_zone(u[1]);
      l.set_check("domain");
    }
  } else {
    const std::string& set = dns[1];
    key = set;
    if (kind == "rbl") {
      farside::v1::DnsblList& l = (*lists)[key];
      if (l.name().empty()) {
        l.set_name(list_name("SA_", set));
        l.set_zone(std::string(absl::StripSuffix(dns[2], ".")));
        // The last external relay is the client that hands mail to the gateway; the
        // first trusted one too, where the gateway is the edge. Other sets read every
        // untrusted relay.
        l.set_check(absl::EndsWith(set, "-lastexternal") || absl::EndsWith(set, "-firsttrusted") ? "ip" : "received");
      }
      subtest = dns.size() > 3 ? dns[3] : "";
    } else {
      if (!lists->count(key)) return "eval: check_rbl_sub reads set '" + set + "', which no check_rbl names";
      subtest = dns[2];
    }
  }
  farside::v1::DnsblList& l = (*lists)[key];
  l.set_enabled(true);
  l.set_ipv6(true);
  std::optional<farside::v1::DnsblCode> code = CodeFor(subtest, rule, score);
  if (!code.has_value()) return "eval: " + kind + " subtest '" + subtest + "' is not an address, bits or a regex";
  *l.add_codes() = std::move(*code);
  return "";
}

}  // namespace farside::rules
