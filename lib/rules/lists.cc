// Reading, matching and reloading list files.
#include "lib/rules/lists.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <array>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "lib/common/config_loader.h"
#include "lib/common/log.h"
#include "lib/mime/address.h"
#include "lib/mime/urls.h"
#include "lib/rules/checks.h"
#include "lib/rules/regex.h"

namespace farside::rules {

struct ListSet::Entries {
  std::string type;
  // ip: networks as (16-byte address, prefix length); v4 is mapped into ::ffff:0:0/96.
  std::vector<std::pair<std::array<uint8_t, 16>, int>> networks;
  absl::flat_hash_set<std::string> words;  // domains, addresses, header values (lower case)
  std::vector<std::pair<std::string, Regex>> regexes;
};

namespace {

bool ParseAddress(absl::string_view text, std::array<uint8_t, 16>* out) {
  std::string s(text);
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out->fill(0);
    (*out)[10] = (*out)[11] = 0xff;
    std::memcpy(out->data() + 12, &v4, 4);
    return true;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out->data(), &v6, 16);
    return true;
  }
  return false;
}

bool InNetwork(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& net, int bits) {
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((a[i] & mask) != (net[i] & mask)) return false;
  }
  return true;
}

std::string AddressOf(const mime::HeaderField* f) {
  if (f == nullptr) return "";
  std::vector<mime::Address> a = mime::ParseAddressList(f->raw);
  return a.empty() ? "" : absl::AsciiStrToLower(a[0].addr_spec());
}

std::string EnvelopeFrom(const mime::Message& msg, const farside::v1::Envelope& env) {
  if (!env.mail_from().empty()) return absl::AsciiStrToLower(env.mail_from());
  return absl::AsciiStrToLower(PseudoHeader(msg, "EnvelopeFrom").value_or(""));
}

std::string DomainOf(absl::string_view address) {
  size_t at = address.rfind('@');
  return at == absl::string_view::npos ? "" : std::string(address.substr(at + 1));
}

// The values a list looks up in this message.
std::vector<std::string> Values(const farside::v1::ListRule& rule, const mime::Message& msg,
                                const farside::v1::Envelope& env) {
  const std::string& type = rule.type();
  const std::string& lookup = rule.lookup();
  std::vector<std::string> out;
  if (type == "ip") {
    std::vector<std::string> relays;
    for (const mime::ReceivedHop& hop : msg.Received()) {
      if (!hop.ip.empty()) relays.push_back(hop.ip);
    }
    if (lookup == "received") return relays;
    if (!env.client_ip().empty()) return {env.client_ip()};
    for (const std::string& ip : relays) {
      if (!IsPrivateAddress(ip)) return {ip};
    }
    return {};
  }
  if (type == "header" || type == "regex") {
    for (const mime::HeaderField* f : msg.headers().FindAll(lookup)) out.push_back(f->value);
    return out;
  }
  std::vector<std::string> addresses;
  if (lookup.empty() || lookup == "from") {
    addresses.push_back(AddressOf(msg.headers().Find("From")));
  } else if (lookup == "reply_to") {
    addresses.push_back(AddressOf(msg.headers().Find("Reply-To")));
  } else if (lookup == "envelope_from") {
    addresses.push_back(EnvelopeFrom(msg, env));
  } else if (lookup == "rcpt") {
    for (const std::string& r : env.rcpt_to()) addresses.push_back(absl::AsciiStrToLower(r));
  } else if (lookup == "helo" && type == "domain") {
    return {absl::AsciiStrToLower(env.helo())};
  } else if (lookup == "url" && type == "domain") {
    for (const mime::Url& u : msg.Links().urls) out.push_back(absl::AsciiStrToLower(u.host));
    return out;
  }
  for (const std::string& a : addresses) {
    if (a.empty()) continue;
    out.push_back(type == "domain" ? DomainOf(a) : a);
  }
  return out;
}

const char* const kTypes[] = {"ip", "domain", "email", "header", "regex"};

absl::Status CheckLookup(const farside::v1::ListRule& r) {
  const std::string& t = r.type();
  const std::string& l = r.lookup();
  auto one_of = [&](std::initializer_list<const char*> allowed) {
    for (const char* a : allowed) {
      if (l == a) return true;
    }
    return false;
  };
  bool ok = t == "ip"       ? one_of({"", "client", "received"})
            : t == "domain" ? one_of({"", "from", "reply_to", "envelope_from", "helo", "url"})
            : t == "email"  ? one_of({"", "from", "reply_to", "envelope_from", "rcpt"})
                            : !l.empty();
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      t == "header" || t == "regex"
          ? absl::StrCat(t, " lists name the header field to look up (lookup: Subject, say)")
          : absl::StrCat("a ", t, " list cannot look up '", l, "'"));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const ListSet::Entries>> ParseListFile(absl::string_view type,
                                                                      absl::string_view text,
                                                                      const std::string& path) {
  auto e = std::make_shared<ListSet::Entries>();
  e->type = std::string(type);
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (type != "regex") {
      if (size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    } else if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "#")) {
      continue;  // in a regex list only whole-line comments: '#' may be in a pattern
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": ", why));
    };
    if (type == "ip") {
      absl::string_view addr = line;
      int bits = -1;
      if (size_t slash = line.find('/'); slash != absl::string_view::npos) {
        addr = line.substr(0, slash);
        if (!absl::SimpleAtoi(line.substr(slash + 1), &bits)) return bad("bad prefix length");
      }
      std::array<uint8_t, 16> a;
      if (!ParseAddress(addr, &a)) return bad(absl::StrCat("'", addr, "' is not an IP address"));
      const bool v4 = addr.find(':') == absl::string_view::npos;
      if (bits < 0) bits = v4 ? 32 : 128;
      if (bits > (v4 ? 32 : 128)) return bad("prefix length too long");
      e->networks.push_back({a, v4 ? bits + 96 : bits});
    } else if (type == "regex") {
      absl::StatusOr<Regex> re = Regex::Compile(line, "i");
      if (!re.ok()) return bad(re.status().message());
      e->regexes.push_back({std::string(line), std::move(*re)});
    } else {
      std::string w = absl::AsciiStrToLower(line);
      if (type == "domain" && !w.empty() && w[0] == '.') w.erase(0, 1);  // ".example.com" too
      e->words.insert(std::move(w));
    }
  }
  return std::shared_ptr<const ListSet::Entries>(std::move(e));
}

std::optional<std::string> ListMatch(const ListSet::Entries& e, absl::string_view value) {
  if (value.empty()) return std::nullopt;
  if (e.type == "ip") {
    std::array<uint8_t, 16> a;
    if (!ParseAddress(value, &a)) return std::nullopt;
    for (const auto& [net, bits] : e.networks) {
      if (InNetwork(a, net, bits)) return std::string(value);
    }
    return std::nullopt;
  }
  if (e.type == "regex") {
    for (const auto& [text, re] : e.regexes) {
      if (re.Find(value, 100000)) return text;
    }
    return std::nullopt;
  }
  std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(value));
  if (e.words.contains(v)) return v;
  if (e.type == "domain") {  // parent domains: a.b.example.com -> b.example.com -> example.com
    for (size_t dot = v.find('.'); dot != std::string::npos; dot = v.find('.', dot + 1)) {
      if (e.words.contains(absl::string_view(v).substr(dot + 1))) return std::string(v.substr(dot + 1));
    }
  }
  if (e.type == "email") {
    std::string at = absl::StrCat("@", DomainOf(v));
    if (at.size() > 1 && e.words.contains(at)) return at;
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<ListSet>> ListSet::Create(const std::vector<Declared>& lists) {
  auto set = std::make_unique<ListSet>();
  for (const Declared& d : lists) {
    const farside::v1::ListRule& r = d.list;
    auto err = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(d.rule_file, ": list ", r.name(), ": ", why));
    };
    if (std::find(std::begin(kTypes), std::end(kTypes), r.type()) == std::end(kTypes)) {
      return err(absl::StrCat("type is one of ip, domain, email, header, regex (got '", r.type(), "')"));
    }
    if (r.file().empty()) return err("a list needs a file");
    if (absl::Status s = CheckLookup(r); !s.ok()) return err(s.message());
    auto list = std::make_unique<List>();
    list->rule = r;
    list->path = r.file()[0] == '/' ? r.file() : absl::StrCat(d.base_dir, "/", r.file());
    if (!r.force_action().empty()) {
      farside::v1::Action a;
      if (!farside::v1::Action_Parse(absl::AsciiStrToUpper(r.force_action()), &a)) {
        return err(absl::StrCat("unknown action '", r.force_action(), "'"));
      }
      list->force_action = a;
    }
    absl::StatusOr<std::string> text = config::ReadFile(list->path);
    if (!text.ok()) return err(text.status().message());
    absl::StatusOr<std::shared_ptr<const Entries>> e = ParseListFile(r.type(), *text, list->path);
    if (!e.ok()) return err(e.status().message());
    struct stat st;
    absl::MutexLock l(&list->mu);
    if (stat(list->path.c_str(), &st) == 0) {
      list->mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      list->size = st.st_size;
    }
    list->entries = std::move(*e);
    set->lists_.push_back(std::move(list));
  }
  absl::MutexLock l(&set->check_mu_);
  set->last_check_ = absl::Now();
  return set;
}

void ListSet::ReloadChanged() const {
  for (const auto& list : lists_) {
    struct stat st;
    if (stat(list->path.c_str(), &st) != 0) continue;  // gone for now: keep what we have
    const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    {
      absl::MutexLock l(&list->mu);
      if (mtime == list->mtime_ns && st.st_size == list->size) continue;
      list->mtime_ns = mtime;
      list->size = st.st_size;
    }
    absl::StatusOr<std::string> text = config::ReadFile(list->path);
    absl::StatusOr<std::shared_ptr<const Entries>> e =
        text.ok() ? ParseListFile(list->rule.type(), *text, list->path)
                  : absl::StatusOr<std::shared_ptr<const Entries>>(text.status());
    if (!e.ok()) {
      log::Warning("list file not reloaded; the last good contents stay",
                   {{"list", list->rule.name()}, {"error", e.status().message()}});
      continue;
    }
    log::Info("list reloaded", {{"list", list->rule.name()}, {"file", list->path}});
    absl::MutexLock l(&list->mu);
    list->entries = std::move(*e);
  }
}

std::vector<ListSet::Hit> ListSet::Run(const mime::Message& msg,
                                       const farside::v1::Envelope& env) const {
  bool check = false;
  {
    absl::MutexLock l(&check_mu_);
    const absl::Time now = absl::Now();
    if (now - last_check_ >= absl::Seconds(1)) {
      last_check_ = now;
      check = true;
    }
  }
  if (check) ReloadChanged();
  std::vector<Hit> hits;
  for (const auto& list : lists_) {
    std::shared_ptr<const Entries> entries;
    {
      absl::MutexLock l(&list->mu);
      entries = list->entries;
    }
    for (const std::string& v : Values(list->rule, msg, env)) {
      std::optional<std::string> m = ListMatch(*entries, v);
      if (!m.has_value()) continue;
      hits.push_back({list->rule.name(), list->rule.description(), list->rule.group(), *m,
                      list->rule.score(), list->force_action});
      break;
    }
  }
  return hits;
}

}  // namespace farside::rules
