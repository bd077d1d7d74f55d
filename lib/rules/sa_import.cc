// The SpamAssassin .cf reader. Facts about the format: '#' starts a comment unless escaped;
// a rule may be defined again later (the last definition wins); scores give up to four
// values (the score sets) and set 0 (no network, no Bayes) is what a local scan uses; names
// starting with "__" are sub-rules with no score of their own.
#include "lib/rules/sa_import.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "lib/common/config_loader.h"
#include "lib/rules/expression.h"
#include "lib/rules/pattern_split.h"
#include "lib/rules/regex.h"
#include "lib/rules/sa_evals.h"
#include "lib/rules/tag_widen.h"

namespace farside::rules {
namespace {

// "tflags multiple" without maxhits: SpamAssassin counts every match; this many is plenty
// for any comparison its metas make.
constexpr uint32_t kMultipleMax = 1000;

// Symbols made by Farside itself that imported meta rules may read.
const char* const kNativeSymbols[] = {"GTUBE"};

const char* const kTypes[] = {"header", "body", "rawbody", "uri", "full", "meta", "mimeheader",
                              "uri_detail"};

struct Pending {
  std::string type, file, rule;
  farside::v1::Rule proto;
  std::string skip;  // non-empty: why it cannot be imported
  // A block list rule: {"rbl", set, zone[, subtest]}, {"sub", set, subtest} or {"uri"}.
  std::vector<std::string> dns;
};

// "/re/flags" or "m{re}flags" (any delimiter). Sets pattern and flags; returns false if
// `s` is not a regex literal. `rest` receives what follows the flags.
bool ParseRegexLiteral(absl::string_view s, std::string* pattern, std::string* flags,
                       std::string* rest) {
  s = absl::StripAsciiWhitespace(s);
  if (s.empty()) return false;
  size_t start;
  char open;
  if (s[0] == '/') {
    open = '/';
    start = 1;
  } else if (s[0] == 'm' && s.size() > 1 && !absl::ascii_isalnum(static_cast<unsigned char>(s[1])) &&
             !absl::ascii_isspace(static_cast<unsigned char>(s[1]))) {
    open = s[1];
    start = 2;
  } else {
    return false;
  }
  char close = open == '{' ? '}' : open == '(' ? ')' : open == '[' ? ']' : open == '<' ? '>' : open;
  // The pattern ends at the last closing delimiter followed only by modifier letters.
  size_t end = absl::string_view::npos;
  for (size_t i = s.size(); i-- > start;) {
    if (s[i] != close) continue;
    size_t j = i + 1;
    while (j < s.size() && absl::ascii_isalpha(static_cast<unsigned char>(s[j]))) ++j;
    if (j == s.size() || absl::ascii_isspace(static_cast<unsigned char>(s[j]))) {
      end = i;
      break;
    }
  }
  if (end == absl::string_view::npos) return false;
  *pattern = std::string(s.substr(start, end - start));
  size_t j = end + 1;
  flags->clear();
  while (j < s.size() && absl::ascii_isalpha(static_cast<unsigned char>(s[j]))) {
    char f = s[j++];
    if (f == 'i' || f == 'm' || f == 's' || f == 'x') flags->push_back(f);  // g, o: no meaning here
  }
  *rest = std::string(absl::StripAsciiWhitespace(s.substr(j)));
  // In a .cf file '#' must be escaped; in the regex it is a plain '#'.
  *pattern = absl::StrReplaceAll(*pattern, {{"\\#", "#"}});
  return true;
}

std::string StripComment(absl::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || line[i - 1] != '\\')) return std::string(line.substr(0, i));
  }
  return std::string(line);
}

bool PseudoHeaderName(absl::string_view f) {
  return f == "X-Spam-Relays-Trusted" || f == "X-Spam-Relays-Untrusted" ||
         f == "X-Spam-Relays-Internal" || f == "X-Spam-Relays-External" || f == "EnvelopeFrom" ||
         f == "ALL-TRUSTED" || f == "ALL-UNTRUSTED" || f == "ALL-INTERNAL" || f == "ALL-EXTERNAL";
}

// An eval: rule: the native check, or the reason it is skipped.
void ParseEval(const std::string& rest, Pending* p) {
  std::string call = rest.substr(5);
  // Block lists: the scanner's DNSBL checks ask them (see the end of ImportSpamAssassin),
  // and the rule reads the symbol they give.
  std::string fn;
  std::vector<std::string> args;
  if (SplitCall(call, &fn, &args)) {
    if ((fn == "check_rbl" && (args.size() == 2 || args.size() == 3)) ||
        (fn == "check_rbl_sub" && args.size() == 2) || (fn == "check_uridnsbl" && args.size() == 1)) {
      p->dns = {fn == "check_rbl" ? "rbl" : fn == "check_rbl_sub" ? "sub" : "uri"};
      p->dns.insert(p->dns.end(), args.begin(), args.end());
      p->proto.set_check(absl::StrCat("symbol(", p->rule, ")"));
      return;
    }
    if (fn == "check_uri_host_listed" && args.size() == 1) {
      p->proto.set_check(absl::StrCat("uri_host_in_list(", args[0], ")"));
      return;
    }
  }
  std::string native = NativeCheck(call);
  if (!native.empty()) {
    p->proto.set_check(native);
    return;
  }
  size_t paren = call.find('(');
  p->skip = "eval: " + call.substr(0, paren);
}

void ParseHeader(const std::string& rest, Pending* p) {
  farside::v1::HeaderRule* h = p->proto.mutable_header();
  if (absl::StartsWith(rest, "eval:")) {
    ParseEval(rest, p);
    return;
  }
  if (absl::StartsWith(rest, "exists:")) {
    h->set_name(std::string(absl::StripAsciiWhitespace(rest.substr(7))));
    return;
  }
  size_t op = rest.find("=~");
  bool negate = false;
  if (size_t n = rest.find("!~"); n != std::string::npos && (op == std::string::npos || n < op)) {
    op = n;
    negate = true;
  }
  if (op == std::string::npos) {
    p->skip = "header rule without =~ or !~";
    return;
  }
  std::string field(absl::StripAsciiWhitespace(rest.substr(0, op)));
  std::string literal = rest.substr(op + 2);
  // "[if-unset: VALUE]" after the pattern.
  if (size_t u = literal.rfind("[if-unset:"); u != std::string::npos) {
    std::string v = literal.substr(u + 10);
    if (!v.empty() && v.back() == ']') v.pop_back();
    h->set_if_unset(std::string(absl::StripAsciiWhitespace(v)));
    literal = literal.substr(0, u);
  }
  std::string pattern, flags, after;
  if (!ParseRegexLiteral(literal, &pattern, &flags, &after)) {
    p->skip = "the pattern is not a /regex/";
    return;
  }
  std::string part = "value";
  if (size_t colon = field.find(':'); colon != std::string::npos) {
    std::string mod = absl::AsciiStrToLower(field.substr(colon + 1));
    field.resize(colon);
    if (mod == "addr") {
      part = "address";
    } else if (mod == "name") {
      part = "name";
    } else if (mod == "name:raw") {
      part = "name_raw";
    } else if (mod == "raw") {
      part = "raw";
    } else if (mod == "domain" || mod == "host") {
      part = "domain";
    } else {
      p->skip = "header modifier :" + mod;
      return;
    }
  }
  if (field == "MESSAGEID") field = "Message-ID";
  if (absl::StartsWith(field, "X-Spam-") && !PseudoHeaderName(field)) {
    p->skip = "pseudo-header " + field + " (made by SpamAssassin itself)";
    return;
  }
  h->set_name(field);
  h->set_pattern(pattern);
  h->set_part(part);
  h->set_negate(negate);
  p->proto.set_flags(flags);
}

// Expands <TAG> references (see replace_tag above). Unknown tags are left as written.
std::string ReplaceTags(const std::string& re, const std::map<std::string, std::string>& tags,
                        const std::map<std::string, std::string>& pre_tags,
                        const std::map<std::string, std::string>& inter_tags,
                        const std::map<std::string, std::string>& post_tags) {
  std::string pre, inter, post, out;
  // First the <pre X>, <inter X>, <post X> choices, which are removed.
  std::string body;
  for (size_t i = 0; i < re.size();) {
    bool taken = false;
    for (auto [word, table, dest] : {std::tuple{"<pre ", &pre_tags, &pre},
                                     std::tuple{"<inter ", &inter_tags, &inter},
                                     std::tuple{"<post ", &post_tags, &post}}) {
      size_t n = std::strlen(word);
      if (re.compare(i, n, word) != 0) continue;
      size_t close = re.find('>', i + n);
      if (close == std::string::npos) continue;
      auto it = table->find(re.substr(i + n, close - i - n));
      if (it == table->end()) continue;
      *dest = it->second;
      i = close + 1;
      taken = true;
      break;
    }
    if (!taken) body.push_back(re[i++]);
  }
  bool after_tag = false;
  for (size_t i = 0; i < body.size();) {
    if (body[i] == '<') {
      size_t close = body.find('>', i + 1);
      if (close != std::string::npos) {
        auto it = tags.find(body.substr(i + 1, close - i - 1));
        if (it != tags.end()) {
          if (after_tag) out += inter;
          absl::StrAppend(&out, pre, it->second, post);
          after_tag = true;
          i = close + 1;
          continue;
        }
      }
    }
    after_tag = false;
    out.push_back(body[i++]);
  }
  return out;
}


// The regex of a regex rule.
std::string* PatternOf(farside::v1::Rule* r) {
  return !r->body().empty()      ? r->mutable_body()
         : !r->rawbody().empty() ? r->mutable_rawbody()
         : !r->uri().empty()     ? r->mutable_uri()
         : !r->full().empty()    ? r->mutable_full()
                                 : r->mutable_header()->mutable_pattern();
}

// The meta expression with each of `names` replaced by 0.
std::string ZeroSymbols(absl::string_view meta, const std::set<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < meta.size();) {
    const auto word = [](char ch) { return absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '_'; };
    if (!word(meta[i])) {
      out.push_back(meta[i++]);
      continue;
    }
    size_t j = i;
    while (j < meta.size() && word(meta[j])) ++j;
    const std::string w(meta.substr(i, j - i));
    out += names.count(w) ? "0" : w;
    i = j;
  }
  return out;
}

}  // namespace

int SaImport::loaded() const {
  int n = 0;
  for (const auto& [t, c] : by_type) n += c.loaded;
  return n;
}
int SaImport::disabled_count() const {
  int n = 0;
  for (const auto& [t, c] : by_type) n += c.disabled;
  return n;
}
int SaImport::skipped_count() const {
  int n = 0;
  for (const auto& [t, c] : by_type) n += c.skipped;
  return n;
}

SaImport ImportSpamAssassin(const std::vector<RuleSet::Source>& cf_files, uint32_t match_limit) {
  std::map<std::string, Pending> rules;  // by name: later definitions replace earlier ones
  std::vector<std::string> order;
  std::map<std::string, double> scores;
  std::map<std::string, std::string> descriptions;
  // ReplaceTags: <NAME> in the patterns of the rules listed in replace_rules stands for a
  // character class; <pre X>, <inter X> and <post X> choose what goes before each tag,
  // between two adjacent tags and after each tag (a quantifier, say).
  std::map<std::string, std::string> tags, pre_tags, inter_tags, post_tags;
  std::set<std::string> replace_rules;
  std::vector<std::string> out_freemail;
  std::map<std::string, std::vector<std::string>> address_lists;  // enlist_addrlist
  std::set<std::string> shorteners;                                // url_shortener
  std::map<std::string, uint32_t> max_hits;                        // tflags multiple
  std::set<std::string> net_rules;                                 // tflags net
  std::set<std::string> disabled;                                  // zero score
  std::set<std::string> nice_rules;                                // tflags nice
  std::set<std::string> bounce_relays;                             // welcomelist_bounce_relays
  std::vector<std::string> out_fns_headers, out_fns_dkim;          // fns_ignore_*
  std::map<std::string, double> net_scores;                        // score set 1
  std::map<std::string, std::vector<std::string>> uri_lists;       // urirhssub & co.
  std::map<std::string, std::vector<std::string>> uri_host_lists;  // enlist_uri_host
  for (const RuleSet::Source& src : cf_files) {
    std::vector<bool> active;  // one entry per open if/ifplugin
    for (absl::string_view raw_line : absl::StrSplit(src.text, '\n')) {
      std::string line(absl::StripAsciiWhitespace(StripComment(raw_line)));
      if (line.empty()) continue;
      // "directive NAME rest", separated by any run of blanks (the rest keeps its spaces).
      std::vector<std::string> w;
      {
        absl::string_view v = line;
        for (int k = 0; k < 2 && !v.empty(); ++k) {
          size_t end = v.find_first_of(" \t");
          w.emplace_back(v.substr(0, end));
          v = end == absl::string_view::npos ? absl::string_view() : v.substr(end);
          v = absl::StripLeadingAsciiWhitespace(v);
        }
        w.emplace_back(v);
      }
      std::string dir = absl::AsciiStrToLower(w[0]);
      // Conditionals: every plugin is taken as loaded, so "if !plugin(...)" fallbacks are out.
      if (dir == "ifplugin") {
        active.push_back(true);
        continue;
      }
      if (dir == "if") {
        std::string cond = line.substr(2);
        active.push_back(absl::StrContains(absl::StripAsciiWhitespace(cond), "!") ? false : true);
        continue;
      }
      if (dir == "else") {
        if (!active.empty()) active.back() = !active.back();
        continue;
      }
      if (dir == "endif") {
        if (!active.empty()) active.pop_back();
        continue;
      }
      if (std::find(active.begin(), active.end(), false) != active.end()) continue;
      if (w.size() < 2 || w[1].empty()) continue;
      const std::string& name = w[1];
      const std::string rest(absl::StripAsciiWhitespace(w.size() > 2 ? w[2] : ""));
      if (dir == "score") {
        double v;
        std::vector<std::string> vals = absl::StrSplit(rest, absl::ByAnyChar(" \t"), absl::SkipEmpty());
        if (!vals.empty() && absl::SimpleAtod(vals[0], &v)) scores[name] = v;
        // Score set 1 (network tests on, no Bayes): what a rule that asks DNS scores.
        if (vals.size() >= 2 && absl::SimpleAtod(vals[1], &v)) {
          net_scores[name] = v;
        } else {
          net_scores.erase(name);
        }
        continue;
      }
      if (dir == "describe") {
        descriptions[name] = rest;
        continue;
      }
      if (dir == "freemail_domains") {
        out_freemail.push_back(name);
        for (absl::string_view d : absl::StrSplit(rest, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
          out_freemail.emplace_back(d);
        }
        continue;
      }
      if (dir == "fns_ignore_headers" || dir == "fns_ignore_dkim") {
        for (absl::string_view h : absl::StrSplit(line.substr(dir.size()), absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
          if (dir == "fns_ignore_headers") {
            out_fns_headers.emplace_back(h);
          } else {
            out_fns_dkim.emplace_back(absl::AsciiStrToLower(h));
          }
        }
        continue;
      }
      if (dir == "welcomelist_bounce_relays" || dir == "whitelist_bounce_relays") {
        for (absl::string_view h : absl::StrSplit(line.substr(dir.size()), absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
          bounce_relays.insert(absl::AsciiStrToLower(h));
        }
        continue;
      }
      if (dir == "urirhssub" || dir == "urirhsbl" || dir == "uridnsbl") {
        // NAME ZONE TYPE [SUBTEST]: the URL domains' lookups behind check_uridnsbl(NAME).
        std::vector<std::string> f = absl::StrSplit(rest, absl::ByAnyChar(" \t"), absl::SkipEmpty());
        if (f.size() >= 2) {
          uri_lists[name] = {dir, std::string(absl::StripSuffix(f[0], ".")), f.size() >= 3 ? f[1] : "A",
                             f.size() >= 3 ? f[2] : ""};
        }
        continue;
      }
      if (dir == "enlist_uri_host" && name.size() > 2 && name.front() == '(' && name.back() == ')') {
        std::vector<std::string>& list = uri_host_lists[name.substr(1, name.size() - 2)];
        for (absl::string_view a : absl::StrSplit(rest, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
          list.emplace_back(absl::AsciiStrToLower(a));
        }
        continue;
      }
      if (dir == "enlist_addrlist" && name.size() > 2 && name.front() == '(' && name.back() == ')') {
        std::vector<std::string>& list = address_lists[name.substr(1, name.size() - 2)];
        for (absl::string_view a : absl::StrSplit(rest, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
          list.emplace_back(a);
        }
        continue;
      }
      if (dir == "url_shortener" || dir == "url_shortener_get" || dir == "clear_url_shortener") {
        std::vector<std::string> hosts = absl::StrSplit(line.substr(dir.size()), absl::ByAnyChar(" \t"), absl::SkipEmpty());
        if (dir == "clear_url_shortener" && hosts.empty()) shorteners.clear();
        for (std::string& h : hosts) {
          h = absl::AsciiStrToLower(h);
          if (dir == "clear_url_shortener") {
            shorteners.erase(h);
          } else {
            shorteners.insert(h);
          }
        }
        continue;
      }
      if (dir == "replace_tag") {
        tags[name] = rest;
        continue;
      }
      if (dir == "replace_pre" || dir == "replace_inter" || dir == "replace_post") {
        (dir == "replace_pre" ? pre_tags : dir == "replace_inter" ? inter_tags : post_tags)[name] = rest;
        continue;
      }
      if (dir == "replace_rules") {
        replace_rules.insert(name);
        for (absl::string_view n : absl::StrSplit(rest, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
          replace_rules.emplace(n);
        }
        continue;
      }
      if (dir == "tflags") {
        // "multiple" counts every match (up to maxhits=N); the rest do not change a hit.
        uint32_t max = 0;
        for (absl::string_view f : absl::StrSplit(rest, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
          uint32_t n;
          if (f == "multiple" && max == 0) max = kMultipleMax;
          if (absl::ConsumePrefix(&f, "maxhits=") && absl::SimpleAtoi(f, &n) && n > 0) max = n;
        }
        max_hits[name] = absl::StrContains(rest, "multiple") ? max : 0;
        if (absl::StrContains(rest, "net")) net_rules.insert(name);
        // A "nice" rule (it marks ham) without a score line scores -1, not 1.
        const std::vector<absl::string_view> words = absl::StrSplit(rest, absl::ByAnyChar(" \t"), absl::SkipEmpty());
        if (std::find(words.begin(), words.end(), "nice") != words.end()) {
          nice_rules.insert(name);
        } else {
          nice_rules.erase(name);
        }
        continue;
      }
      if (dir == "priority" || dir == "lang") continue;
      if (std::find(std::begin(kTypes), std::end(kTypes), dir) == std::end(kTypes)) continue;
      Pending p;
      p.type = dir;
      p.file = src.name;
      p.rule = name;
      p.proto.set_name(name);
      p.proto.set_enabled(true);
      if (dir == "header") {
        ParseHeader(rest, &p);
      } else if (dir == "meta") {
        p.proto.set_meta(rest);
      } else if (dir == "mimeheader") {
        ParseHeader(rest, &p);
        p.proto.mutable_header()->set_mime_parts(true);
      } else if (dir == "uri_detail") {
        p.skip = "uri_detail rules (URI parts) have no native form yet";
      } else if (absl::StartsWith(rest, "eval:")) {
        ParseEval(rest, &p);
      } else {
        std::string pattern, flags, after;
        if (!ParseRegexLiteral(rest, &pattern, &flags, &after)) {
          p.skip = "the pattern is not a /regex/";
        } else {
          // SpamAssassin matches body text line by line: ^ and $ anchor at each line.
          if ((dir == "body" || dir == "rawbody") && flags.find('m') == std::string::npos) {
            flags.push_back('m');
          }
          p.proto.set_flags(flags);
          if (dir == "body") {
            p.proto.set_body(pattern);
            p.proto.set_body_with_subject(true);  // SpamAssassin's body starts with the Subject
            p.proto.set_body_as_spamassassin(true);
          }
          if (dir == "rawbody") p.proto.set_rawbody(pattern);
          if (dir == "uri") p.proto.set_uri(pattern);
          if (dir == "full") p.proto.set_full(pattern);
        }
      }
      if (!rules.count(name)) order.push_back(name);
      rules[name] = std::move(p);
    }
  }

  SaImport out;
  for (const std::string& d : out_freemail) out.rules.add_freemail_domains(d);
  for (const auto& [name, patterns] : address_lists) {
    farside::v1::AddressList* l = out.rules.add_address_lists();
    l->set_name(name);
    for (const std::string& a : patterns) l->add_patterns(a);
  }
  for (const std::string& h : shorteners) out.rules.add_url_shorteners(h);
  for (const std::string& h : bounce_relays) out.rules.add_bounce_relays(h);
  for (const std::string& h : out_fns_headers) out.rules.add_from_name_ignore_headers(h);
  for (const std::string& d : out_fns_dkim) out.rules.add_from_name_ignore_dkim(d);
  for (const auto& [name, hosts] : uri_host_lists) {
    farside::v1::AddressList* l = out.rules.add_uri_host_lists();
    l->set_name(name);
    for (const std::string& h : hosts) l->add_patterns(h);
  }
  // check_rbl_sub reads a set that a check_rbl names: those first.
  std::stable_partition(order.begin(), order.end(), [&](const std::string& n) {
    const Pending& p = rules[n];
    return p.dns.empty() || p.dns[0] != "sub";
  });
  std::map<std::string, farside::v1::DnsblList> dnsbl;  // by SpamAssassin's set (or zone)
  // Compile each candidate on its own, so one bad pattern costs one rule; patterns with raw
  // 8-bit bytes that are not UTF-8 get a second try in byte mode.
  std::vector<RuleSet::File> files(1);
  files[0].name = "spamassassin";
  std::map<std::string, std::string> type_of;
  // The tags widened for prefilter patterns (a tag WidenTag cannot read stays as it is).
  // For plain texts, a tag that cannot match there still gets its wide form (a superset).
  auto widened = [](const std::map<std::string, std::string>& from, bool plain) {
    std::map<std::string, std::string> to;
    for (const auto& [tag, re] : from) {
      std::optional<std::string> w = plain ? WidenTag(re, true) : std::nullopt;
      to[tag] = w.has_value() ? *w : WidenTag(re).value_or(re);
    }
    return to;
  };
  const std::map<std::string, std::string> wide_tags = widened(tags, false),
                                           wide_inter = widened(inter_tags, false),
                                           plain_tags = widened(tags, true),
                                           plain_inter = widened(inter_tags, true);
  for (const std::string& name : order) {
    Pending& p = rules[name];
    type_of[name] = p.type;
    if (!p.skip.empty()) {
      out.by_type[p.type].skipped++;
      out.skipped.push_back({p.file, p.rule, p.type, p.skip});
      continue;
    }
    if (replace_rules.count(name) && p.proto.check().empty()) {
      std::string* pattern = PatternOf(&p.proto);
      const std::string written = *pattern;
      *pattern = ReplaceTags(written, tags, pre_tags, inter_tags, post_tags);
      // In byte mode, as SpamAssassin matches them (its text is UTF-8 bytes): a tag's \xc3
      // is the byte, so [\xc3][\xa0] is "a" with a grave accent, not two code points.
      if (!absl::StrContains(p.proto.flags(), "b")) p.proto.set_flags(p.proto.flags() + "b");
      if (!TagInNegativeLookaround(written)) {
        std::string wide = ReplaceTags(written, wide_tags, pre_tags, wide_inter, post_tags);
        if (wide.size() < pattern->size()) {
          std::string plain = ReplaceTags(written, plain_tags, pre_tags, plain_inter, post_tags);
          if (plain != wide) p.proto.set_prefilter_plain_pattern(std::move(plain));
          p.proto.set_prefilter_pattern(std::move(wide));
        }
      }
    }
    if (auto it = max_hits.find(name); it != max_hits.end() && it->second > 1 && p.type != "meta") {
      p.proto.set_max_hits(it->second);
    }
    // SpamAssassin's score: what the files say (set 0; set 1 for a rule that asks DNS, which
    // runs only with network tests on), else 1, or 0.01 for a rule in testing ("T_"),
    // negative for a "nice" one.
    double score = scores.count(name)            ? scores[name]
                   : name.rfind("T_", 0) == 0 ? 0.01
                                               : 1.0;
    if (!scores.count(name) && nice_rules.count(name)) score = -score;
    if (net_rules.count(name) && net_scores.count(name)) score = net_scores[name];
    // Sub-rules have no score of their own, but a zero one disables them too.
    p.proto.set_score(name.rfind("__", 0) == 0 ? 0 : score);
    const bool zero = score == 0;
    if (!p.dns.empty()) {
      if (std::string why = AddBlockList(p.dns, p.rule, p.proto.score(), uri_lists, &dnsbl); !why.empty()) p.skip = why;
      if (!p.skip.empty()) {
        out.by_type[p.type].skipped++;
        out.skipped.push_back({p.file, p.rule, p.type, p.skip});
        continue;
      }
    }
    if (descriptions.count(name)) p.proto.set_description(descriptions[name]);
    p.proto.set_group("spamassassin");
    auto try_one = [&](const farside::v1::Rule& r) {
      RuleSet::File f{p.file, {}, /*imported=*/true};
      *f.rules.add_rules() = r;
      *f.rules.mutable_address_lists() = out.rules.address_lists();
      *f.rules.mutable_uri_host_lists() = out.rules.uri_host_lists();
      std::vector<RuleSet::Skipped> sk;
      auto rs = RuleSet::FromRuleFiles({f}, match_limit, &sk);
      return rs.ok() && sk.empty() ? std::string() : (sk.empty() ? std::string(rs.status().message()) : sk[0].reason);
    };
    std::string why = try_one(p.proto);
    if (!why.empty() && p.type != "meta") {
      farside::v1::Rule bytes = p.proto;
      bytes.set_flags(p.proto.flags() + "b");
      if (try_one(bytes).empty()) {
        p.proto = bytes;
        why.clear();
      }
    }
    if (absl::StrContains(why, "too large") && p.type != "meta") {
      // Too large for PCRE2: as sub-rules, one per piece, that a meta rule of the rule's
      // name ORs together.
      std::string* pattern = PatternOf(&p.proto);
      for (const std::string& flags : {p.proto.flags(), p.proto.flags() + "b"}) {
        std::vector<std::string> pieces = CompilablePieces(*pattern, flags, 64);
        if (pieces.empty()) continue;
        std::vector<std::string> names;
        for (size_t k = 0; k < pieces.size(); ++k) {
          farside::v1::Rule piece = p.proto;
          piece.set_name(absl::StrCat("__", absl::StripPrefix(name, "__"), "_PIECE", k + 1));
          piece.set_score(0);
          piece.clear_description();
          piece.set_flags(flags);
          piece.set_enabled(!zero);
          *PatternOf(&piece) = pieces[k];
          names.push_back(piece.name());
          *out.rules.add_rules() = std::move(piece);
        }
        farside::v1::Rule meta;
        meta.set_name(name);
        meta.set_enabled(!zero);
        meta.set_score(p.proto.score());
        meta.set_description(p.proto.description());
        meta.set_group(p.proto.group());
        meta.set_meta(absl::StrJoin(names, " || "));
        p.proto = std::move(meta);
        why.clear();
        break;
      }
    }
    if (!why.empty()) {
      out.by_type[p.type].skipped++;
      out.skipped.push_back({p.file, p.rule, p.type, why});
      continue;
    }
    out.by_type[p.type].loaded++;
    // A zero score disables a rule in SpamAssassin: it never runs, and a meta rule reads it
    // as 0. Loaded (a local score can bring it back) but switched off.
    if (zero) {
      p.proto.set_enabled(false);
      out.by_type[p.type].disabled++;
      disabled.insert(name);
    }
    *out.rules.add_rules() = p.proto;
  }
  for (auto& [set, list] : dnsbl) *out.rules.add_dnsbl_lists() = std::move(list);
  // A meta rule that reads a rule no file defines reads it as 0, as SpamAssassin's meta
  // code does ("has undefined dependency" in its debug log). One that reads a rule defined
  // but left out here is left out too, and so on up the chain: reading that one as 0 would
  // make "!__SKIPPED" true where SpamAssassin's rule can hit. Symbols Farside's own checks
  // make count as defined.
  std::set<std::string> have;
  for (const auto& r : out.rules.rules()) {
    if (r.enabled()) have.insert(r.name());
  }
  for (const char* native : kNativeSymbols) have.insert(native);
  for (bool changed = true; changed;) {
    changed = false;
    farside::v1::RuleFile kept = out.rules;  // the freemail domains and the rest stay
    kept.clear_rules();
    for (const auto& r : out.rules.rules()) {
      std::string missing;
      std::set<std::string> undefined;
      if (!r.meta().empty()) {
        absl::StatusOr<Expression> e = Expression::Parse(r.meta());
        if (e.ok()) {
          for (const std::string& sym : e->symbols()) {
            if (have.count(sym)) continue;
            if (!type_of.count(sym) || disabled.count(sym)) {
              undefined.insert(sym);
              continue;
            }
            missing = sym;
            break;
          }
        }
      }
      if (missing.empty()) {
        farside::v1::Rule& k = *kept.add_rules() = r;
        if (!undefined.empty()) {
          k.set_meta(ZeroSymbols(r.meta(), undefined));
          changed = true;
        }
        continue;
      }
      have.erase(r.name());
      changed = true;
      out.by_type["meta"].loaded--;
      if (!r.enabled()) out.by_type["meta"].disabled--;
      out.by_type["meta"].skipped++;
      const std::string why = absl::StrCat("reads ", missing, ", which was skipped");
      out.skipped.push_back({rules[r.name()].file, r.name(), "meta", why});
    }
    out.rules = std::move(kept);
  }
  return out;
}

absl::StatusOr<std::vector<RuleSet::Source>> ReadCfDir(const std::string& dir) {
  return ReadSources(dir, ".cf", "SpamAssassin rules directory");
}

}  // namespace farside::rules

namespace farside::rules {

absl::StatusOr<std::unique_ptr<RuleSet>> RuleSet::Load(const std::vector<std::string>& dirs,
                                                       const std::vector<std::string>& sa_dirs,
                                                       uint32_t match_limit,
                                                       std::vector<Skipped>* skipped,
                                                       const LoadOptions& options) {
  std::vector<File> files;
  for (const std::string& dir : sa_dirs) {
    absl::StatusOr<std::vector<Source>> cf = ReadCfDir(dir);
    if (!cf.ok()) return cf.status();
    SaImport imp = ImportSpamAssassin(*cf, match_limit);
    if (skipped != nullptr) skipped->insert(skipped->end(), imp.skipped.begin(), imp.skipped.end());
    files.push_back({dir, std::move(imp.rules), /*imported=*/true});
  }
  // Native rules are strict: a mistake there is the administrator's to fix now.
  for (const std::string& dir : dirs) {
    absl::StatusOr<std::vector<Source>> yaml = ReadSources(dir, ".yaml", "rules directory");
    if (!yaml.ok()) return yaml.status();
    for (const Source& src : *yaml) {
      File f{src.name, {}, /*imported=*/false};
      if (absl::Status s = config::MergeYaml(src.text, src.name, &f.rules); !s.ok()) return s;
      files.push_back(std::move(f));
    }
  }
  return FromRuleFiles(files, match_limit, skipped, options);
}

}  // namespace farside::rules
