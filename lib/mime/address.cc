// Address lists, dates and Received hops.
#include "lib/mime/address.h"

#include <idn2.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "lib/mime/encoded_word.h"

namespace farside::mime {
namespace {

bool IsSpecial(char c) {
  return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' || c == ':' ||
         c == ';' || c == '@' || c == '\\' || c == ',' || c == '"';
}
bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// A cursor over a header value that knows comments and quoted strings (RFC 5322 3.2).
struct Lexer {
  absl::string_view s;
  size_t i = 0;
  std::string last_comment;

  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  void SkipCfws() {
    while (!done()) {
      if (IsBlank(s[i])) {
        ++i;
      } else if (s[i] == '(') {
        int depth = 0;
        std::string text;
        while (!done()) {
          char c = s[i++];
          if (c == '\\' && !done()) {
            text.push_back(s[i++]);
            continue;
          }
          if (c == '(') {
            if (depth++ > 0) text.push_back(c);
          } else if (c == ')') {
            if (--depth == 0) break;
            text.push_back(c);
          } else {
            text.push_back(c);
          }
        }
        last_comment = std::string(absl::StripAsciiWhitespace(text));
      } else {
        break;
      }
    }
  }
  std::string Quoted() {  // at '"'
    std::string out;
    ++i;
    while (!done() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      out.push_back(s[i++]);
    }
    if (!done()) ++i;
    return out;
  }
  std::string Atom() {
    size_t start = i;
    while (!done() && !IsSpecial(s[i]) && !IsBlank(s[i])) ++i;
    return std::string(s.substr(start, i - start));
  }
};

std::string NormalizeDomain(absl::string_view d, bool* idn) {
  std::string dom(absl::StripAsciiWhitespace(d));
  if (absl::StartsWith(dom, "[")) return dom;  // domain literal
  bool ascii = true;
  for (unsigned char c : dom) ascii &= c < 0x80;
  if (!ascii) {
    *idn = true;
    char* out = nullptr;
    if (idn2_to_ascii_8z(dom.c_str(), &out, IDN2_NONTRANSITIONAL) == IDN2_OK) {
      dom = out;
      idn2_free(out);
      return dom;
    }
  }
  absl::AsciiStrToLower(&dom);
  while (!dom.empty() && dom.back() == '.') dom.pop_back();
  return dom;
}

// addr-spec inside <...> or bare: local "@" domain, with an obsolete route ("@a,@b:") dropped.
void ParseAddrSpec(Lexer& lx, char stop, Address* a) {
  std::string local;
  lx.SkipCfws();
  if (lx.peek() == '@') {  // obs-route
    while (!lx.done() && lx.peek() != ':' && lx.peek() != stop) ++lx.i;
    if (lx.peek() == ':') ++lx.i;
  }
  while (!lx.done()) {
    lx.SkipCfws();
    char c = lx.peek();
    if (c == '"') {
      local += lx.Quoted();
    } else if (c == '.') {
      local.push_back('.');
      ++lx.i;
    } else if (c == '@' || c == stop || c == ',' || c == ';' || c == '>' || c == '<') {
      break;
    } else if (IsSpecial(c)) {
      ++lx.i;  // stray special: skip it
    } else {
      local += lx.Atom();
    }
  }
  a->local = local;
  if (lx.peek() == '@') {
    ++lx.i;
    lx.SkipCfws();
    size_t start = lx.i;
    while (!lx.done() && lx.peek() != stop && lx.peek() != ',' && lx.peek() != ';' &&
           lx.peek() != '>' && lx.peek() != '(' && !IsBlank(lx.peek())) {
      ++lx.i;
    }
    a->domain = NormalizeDomain(lx.s.substr(start, lx.i - start), &a->idn);
  }
}

const char* const kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                               "jul", "aug", "sep", "oct", "nov", "dec"};

// RFC 5322 4.3 obsolete zones (military zones other than Z are ambiguous: taken as 0).
std::optional<int> NamedZone(absl::string_view z) {
  std::string u = absl::AsciiStrToUpper(z);
  if (u == "UT" || u == "UTC" || u == "GMT" || u == "Z") return 0;
  if (u == "EST") return -300;
  if (u == "EDT") return -240;
  if (u == "CST") return -360;
  if (u == "CDT") return -300;
  if (u == "MST") return -420;
  if (u == "MDT") return -360;
  if (u == "PST") return -480;
  if (u == "PDT") return -420;
  if (u.size() == 1 && absl::ascii_isalpha(u[0])) return 0;
  return std::nullopt;
}

}  // namespace

std::vector<Address> ParseAddressList(absl::string_view raw) {
  std::vector<Address> out;
  Lexer lx;
  lx.s = raw;
  std::string group;
  while (!lx.done() && out.size() < 1000) {
    lx.SkipCfws();
    if (lx.peek() == ',') {
      ++lx.i;
      continue;
    }
    if (lx.peek() == ';') {  // end of a group
      group.clear();
      ++lx.i;
      continue;
    }
    // A phrase (display name or group name), up to a special that tells what it was.
    std::vector<std::string> words;
    lx.last_comment.clear();
    size_t phrase_start = lx.i;
    while (!lx.done()) {
      lx.SkipCfws();
      char c = lx.peek();
      if (c == '"') {
        words.push_back(lx.Quoted());
      } else if (c == '<' || c == ':' || c == ',' || c == ';' || c == '@' || c == '\0') {
        break;
      } else if (IsSpecial(c)) {
        words.push_back(std::string(1, c));  // "." and stray specials in obsolete phrases
        ++lx.i;
      } else {
        words.push_back(lx.Atom());
      }
    }
    char c = lx.peek();
    if (c == ':') {
      group = DecodeHeaderValue(absl::StrJoin(words, " ")).text;
      ++lx.i;
      continue;
    }
    Address a;
    a.group = group;
    if (c == '<') {
      ++lx.i;
      ParseAddrSpec(lx, '>', &a);
      if (lx.peek() == '>') ++lx.i;
      std::string name = absl::StrJoin(words, " ");
      a.display_name = DecodeHeaderValue(name).text;
      lx.last_comment.clear();
      lx.SkipCfws();
    } else {
      // A bare addr-spec: re-read it from where the phrase started.
      lx.i = phrase_start;
      lx.last_comment.clear();
      ParseAddrSpec(lx, ',', &a);
      lx.SkipCfws();
      // Old style "user@example.com (Real Name)".
      if (!lx.last_comment.empty()) a.display_name = DecodeHeaderValue(lx.last_comment).text;
    }
    if (!a.local.empty() || !a.domain.empty()) out.push_back(std::move(a));
    // Skip whatever is left of a malformed entry.
    while (!lx.done() && lx.peek() != ',' && lx.peek() != ';') {
      if (lx.peek() == '"') {
        lx.Quoted();
      } else {
        ++lx.i;
      }
    }
  }
  return out;
}

std::optional<DateTime> ParseDate(absl::string_view raw) {
  DateTime dt;
  // Drop comments, then read the tokens: [day-name ","] day month year time [zone].
  // Dates are parsed for every Received hop: no copy unless there is a comment to drop.
  std::string copy;
  absl::string_view text = raw;
  if (raw.find('(') != absl::string_view::npos) {
    int depth = 0;
    for (char c : raw) {
      if (c == '(') ++depth;
      if (depth == 0) copy.push_back(c);
      if (c == ')' && depth > 0) --depth;
    }
    text = copy;
  }
  int day = -1, month = -1, year = -1, hh = -1, mm = -1, ss = 0;
  std::optional<int> zone;
  for (absl::string_view t : absl::StrSplit(text, absl::ByAnyChar(" \t\r\n,"), absl::SkipEmpty())) {
    int n;
    if (month < 0 && t.size() >= 3) {
      bool found = false;
      for (int k = 0; k < 12; ++k) {
        if (absl::EqualsIgnoreCase(t.substr(0, 3), kMonths[k])) {
          month = k + 1;
          found = true;
        }
      }
      if (found) continue;
    }
    if (size_t c1 = t.find(':'); c1 != absl::string_view::npos && hh < 0) {
      const size_t c2 = t.find(':', c1 + 1);
      absl::string_view h = t.substr(0, c1);
      absl::string_view m = t.substr(c1 + 1, c2 == absl::string_view::npos ? absl::string_view::npos : c2 - c1 - 1);
      if (absl::SimpleAtoi(h, &hh) && absl::SimpleAtoi(m, &mm)) {
        if (c2 != absl::string_view::npos) {
          absl::string_view sec = t.substr(c2 + 1);
          sec = sec.substr(0, sec.find(':'));
          if (!absl::SimpleAtoi(sec, &ss)) ss = 0;
        }
      }
      continue;
    }
    if ((t[0] == '+' || t[0] == '-') && t.size() == 5 && absl::SimpleAtoi(t.substr(1), &n)) {
      int minutes = (n / 100) * 60 + n % 100;
      zone = t[0] == '-' ? -minutes : minutes;
      continue;
    }
    if (absl::SimpleAtoi(t, &n)) {
      if (day < 0 && n >= 1 && n <= 31 && t.size() <= 2) {
        day = n;
      } else if (year < 0) {
        year = n;
        if (t.size() <= 2) {  // RFC 5322 4.3: 00-49 -> 20xx, 50-99 -> 19xx
          year += n < 50 ? 2000 : 1900;
          dt.obsolete = true;
        } else if (t.size() == 3) {
          year += 1900;
          dt.obsolete = true;
        }
      }
      continue;
    }
    if (!zone.has_value() && hh >= 0) {
      if (std::optional<int> z = NamedZone(t)) {
        zone = z;
        dt.obsolete = true;
      }
    }
  }
  if (day < 0 || month < 0 || year < 0 || hh < 0 || mm < 0 || hh > 23 || mm > 59 || ss > 60) {
    return std::nullopt;
  }
  if (!zone.has_value()) {
    zone = 0;
    dt.obsolete = true;
  }
  absl::CivilSecond cs(year, month, day, hh, mm, ss == 60 ? 59 : ss);
  if (cs.day() != day) return std::nullopt;  // 31 February and the like
  dt.zone_offset_minutes = *zone;
  dt.unix_seconds = absl::ToUnixSeconds(absl::FromCivil(cs, absl::UTCTimeZone())) -
                    static_cast<int64_t>(*zone) * 60;
  return dt;
}

ReceivedHop ParseReceived(absl::string_view raw) {
  ReceivedHop hop;
  absl::string_view clauses = raw;
  if (size_t semi = raw.rfind(';'); semi != absl::string_view::npos) {
    hop.date = ParseDate(raw.substr(semi + 1));
    clauses = raw.substr(0, semi);
  }
  // Walk the words; a keyword starts a clause, comments belong to the clause before them.
  std::string* target = nullptr;
  std::string current;
  size_t i = 0;
  auto take_ip = [&](absl::string_view text) {
    size_t open = text.find('[');
    while (open != absl::string_view::npos && hop.ip.empty()) {
      size_t close = text.find(']', open);
      if (close == absl::string_view::npos) break;
      absl::string_view ip = text.substr(open + 1, close - open - 1);
      if (absl::StartsWithIgnoreCase(ip, "ipv6:")) ip.remove_prefix(5);
      if (!ip.empty()) hop.ip = std::string(ip);
      open = text.find('[', close);
    }
  };
  bool in_from = false;
  while (i < clauses.size()) {
    while (i < clauses.size() && IsBlank(clauses[i])) ++i;
    if (i >= clauses.size()) break;
    if (clauses[i] == '(') {
      size_t start = i;
      int depth = 0;
      while (i < clauses.size()) {
        if (clauses[i] == '(') ++depth;
        if (clauses[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
        ++i;
      }
      absl::string_view comment = clauses.substr(start + 1, i > start + 1 ? i - start - 2 : 0);
      if (in_from) {
        take_ip(comment);
        // "(rdns.example.net [192.0.2.1])": the first word is the name the receiver found.
        absl::string_view first = comment.substr(0, comment.find_first_of(" [)"));
        if (hop.from_rdns.empty() && !first.empty() && first.find('.') != absl::string_view::npos &&
            first != "HELO" && first != "EHLO") {
          hop.from_rdns = std::string(first);
        }
      }
      continue;
    }
    size_t start = i;
    while (i < clauses.size() && !IsBlank(clauses[i]) && clauses[i] != '(') ++i;
    absl::string_view word = clauses.substr(start, i - start);
    auto is = [&](absl::string_view keyword) { return absl::EqualsIgnoreCase(word, keyword); };
    if (is("from")) {
      target = &hop.from;
      in_from = true;
    } else if (is("by")) {
      target = &hop.by;
      in_from = false;
    } else if (is("with")) {
      target = &hop.with;
      in_from = false;
    } else if (is("id")) {
      target = &hop.id;
      in_from = false;
    } else if (is("for")) {
      target = &hop.for_addr;
      in_from = false;
    } else if (is("via")) {
      target = nullptr;
      in_from = false;
    } else if (target != nullptr && target->empty()) {
      *target = std::string(word);
      if (target == &hop.from) take_ip(word);
    }
  }
  if (absl::StartsWith(hop.for_addr, "<")) {
    hop.for_addr = std::string(absl::StripSuffix(absl::StripPrefix(hop.for_addr, "<"), ">"));
  }
  return hop;
}

}  // namespace farside::mime
