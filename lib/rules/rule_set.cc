// Loading, checking and running native rules (the built-in checks are in checks.cc).
#include "lib/rules/rule_set.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "absl/strings/numbers.h"
#include "lib/common/config_loader.h"
#include "lib/common/files.h"
#include "lib/rules/sa_body.h"

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

// One case-blind regex for glob patterns, anchored at `start` and the end: '*' and '?'
// become `star` and `question` (which may be the '?' itself, taken literally).
absl::StatusOr<Regex> GlobsRegex(const std::vector<std::string>& globs, absl::string_view start,
                                 absl::string_view star, absl::string_view question) {
  std::string re = absl::StrCat(start, "(?:");
  for (size_t i = 0; i < globs.size(); ++i) {
    if (i > 0) re += "|";
    for (char ch : globs[i]) {
      if (ch == '*') {
        absl::StrAppend(&re, star);
      } else if (ch == '?' && question != "?") {
        absl::StrAppend(&re, question);
      } else if (absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') {
        re.push_back(ch);
      } else {
        re += "\\";
        re.push_back(ch);
      }
    }
  }
  re += ")$";
  return Regex::Compile(re, "i");
}

absl::Status RuleError(const std::string& file, const std::string& rule, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": rule ", rule, ": ", why));
}


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
    if (absl::Status st = ParseCheck(r.check(), &c.check); !st.ok()) return RuleError(file, r.name(), st.message());
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
    c.pattern = r.prefilter_pattern().empty() ? pattern : r.prefilter_pattern();
    c.own_prefilter_pattern = !r.prefilter_pattern().empty();
    if (c.own_prefilter_pattern) c.plain_pattern = r.prefilter_plain_pattern();
    c.flags = r.flags();
    c.with_subject = r.body_with_subject() && c.kind == Kind::kBody;
    c.sa_body = r.body_as_spamassassin() && c.kind == Kind::kBody;
    c.max_hits = std::max<uint32_t>(1, r.max_hits());
  }
  if (c.kind == Kind::kHeader) {
    c.header = r.header();
    // Rules built in code (imports) may leave the part unset; the schema's default is value.
    if (c.header.part().empty()) c.header.set_part("value");
    const std::string& part = c.header.part();
    if (part != "value" && part != "raw" && part != "address" && part != "name" &&
        part != "name_raw" && part != "domain") {
      return RuleError(file, r.name(), "header part is one of value, raw, address, name, name_raw, domain");
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

}  // namespace

absl::string_view CutForScan(absl::string_view text, size_t limit, absl::string_view breaks) {
  if (limit == 0 || text.size() <= limit) return text;
  constexpr size_t kSlack = 1024;
  for (char b : breaks) {
    const size_t at = text.find(b, limit);
    if (at != absl::string_view::npos && at - limit <= kSlack) return text.substr(0, at + 1);
  }
  size_t cut = limit;
  // Not inside a UTF-8 character: a torn one would make the whole text invalid UTF-8.
  for (int back = 0; back < 3 && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80; ++back) --cut;
  return text.substr(0, cut);
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
                                                                const LoadOptions& options) {
  auto set = std::make_unique<RuleSet>();
  set->options_ = options;
  set->match_limit_ = match_limit;
  std::vector<CompiledRule> all;
  std::map<std::string, std::pair<size_t, bool>> defined;  // name -> (index in all, imported)
  std::vector<std::string> wildcards;  // freemail domains with '*'
  std::map<std::string, std::vector<std::string>> address_lists;

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
        set->data_.freemail.exact.insert(lower);
      } else {
        wildcards.push_back(lower);
      }
    }
    for (const auto& l : file.rules.address_lists()) {
      auto& patterns = address_lists[l.name()];
      patterns.insert(patterns.end(), l.patterns().begin(), l.patterns().end());
    }
    for (const std::string& h : file.rules.url_shorteners()) {
      set->data_.url_shorteners.insert(absl::AsciiStrToLower(h));
    }
    for (const auto& l : file.rules.uri_host_lists()) {
      for (const std::string& h : l.patterns()) set->data_.uri_host_lists[l.name()].insert(absl::AsciiStrToLower(h));
    }
    for (const auto& l : file.rules.dnsbl_lists()) set->dnsbl_lists_.push_back(l);
    for (const std::string& h : file.rules.bounce_relays()) set->data_.bounce_relays.insert(absl::AsciiStrToLower(h));
    for (const std::string& h : file.rules.from_name_ignore_headers()) set->data_.from_name_ignore_headers.push_back(h);
    for (const std::string& d : file.rules.from_name_ignore_dkim()) {
      set->data_.from_name_ignore_dkim.insert(absl::AsciiStrToLower(d));
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
    // '*' stays inside one label ("aol.*", "*.free.hr").
    absl::StatusOr<Regex> w = GlobsRegex(wildcards, "@", "[^.]*", "?");
    if (!w.ok()) return absl::InvalidArgumentError(absl::StrCat("freemail_domains: ", w.status().message()));
    set->data_.freemail.wildcard = std::move(*w);
  }
  for (const auto& [name, patterns] : address_lists) {
    absl::StatusOr<Regex> l = GlobsRegex(patterns, "^", ".*", ".");
    if (!l.ok()) return absl::InvalidArgumentError(absl::StrCat("address list ", name, ": ", l.status().message()));
    set->data_.address_lists.emplace(name, std::move(*l));
  }
  // A check that reads an address list needs the list.
  auto imported_rule = [&](const CompiledRule& c) { return defined.at(c.name).second; };
  for (auto it = all.begin(); it != all.end();) {
    const CheckSpec::Kind k = it->check.kind;
    const bool uri_list = k == CheckSpec::Kind::kUriHostInList;
    if (it->kind != Kind::kCheck ||
        (k != CheckSpec::Kind::kFromInList && k != CheckSpec::Kind::kReplyToInList && !uri_list) ||
        (uri_list ? set->data_.uri_host_lists.count(it->check.arg) : set->data_.address_lists.count(it->check.arg))) {
      ++it;
      continue;
    }
    absl::Status s = RuleError(it->file, it->name,
                               absl::StrCat(uri_list ? "no URL host list '" : "no address list '", it->check.arg, "'"));
    if (skipped == nullptr || !imported_rule(*it)) return s;
    skipped->push_back({it->file, it->name, "", std::string(s.message())});
    it = all.erase(it);
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
  for (CompiledRule& r : set->rules_) {
    r.on_demand = absl::StartsWith(r.name, "__") && r.score == 0 && !r.force_action.has_value();
  }
  set->MarkLate([](const std::string&) { return false; });
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
  if (!options_.prefilter) return;
  // Below this many patterns one pass costs about what running them does.
  constexpr size_t kMinPatterns = 4;
  std::map<std::string, Filter> by_key;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const CompiledRule& r = rules_[i];
    if (!r.regex.has_value() || r.kind == Kind::kMeta) continue;
    // Patterns this long (SpamAssassin's homoglyph-expanded ones) take Vectorscan minutes to
    // compile and slow every scan of the database: PCRE2 runs them alone. A prefilter
    // pattern (a widened one: classes, no long alternations) may be as long as Vectorscan
    // takes, 16,000 characters.
    const size_t max_pattern = r.own_prefilter_pattern ? 16000 : 8192;
    if (r.pattern.size() > max_pattern) continue;
    std::string key;
    switch (r.kind) {
      case Kind::kHeader:
        // A rule's if-unset value is a text of its own; such rules are simply run.
        if (r.header.missing() || r.header.has_if_unset()) continue;
        key = absl::StrCat("header:", absl::AsciiStrToLower(r.header.name()), ":", r.header.part(),
                           r.header.mime_parts() ? ":parts" : "");
        break;
      case Kind::kBody:
        key = absl::StrCat("body", r.with_subject ? "+subject" : "", r.sa_body ? "+sa" : "");
        break;
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
    for (size_t i : f.rules) patterns.push_back({rules_[i].pattern, rules_[i].flags, rules_[i].plain_pattern});
    f.prefilter = Prefilter::Build(patterns, options_.cache_dir);
    if (f.prefilter == nullptr) continue;
    for (size_t k = 0; k < f.rules.size(); ++k) {
      if (!f.prefilter->covers(k)) continue;
      rules_[f.rules[k]].filter = static_cast<int>(filters_.size());
      rules_[f.rules[k]].filter_pattern = static_cast<uint32_t>(k);
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
  meta_pool_.clear();
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
    const uint32_t base = static_cast<uint32_t>(meta_pool_.size());
    for (Expression::Flat n : r.meta->nodes()) {
      n.a += base;
      n.b += base;
      if (n.op == Expression::Op::kSym) n.slot = static_cast<uint32_t>(r.meta_slots[n.slot]);
      meta_pool_.push_back(n);
    }
    if (r.meta->nodes().empty()) meta_pool_.push_back({Expression::Op::kNum});  // reads as 0
    r.meta_root = static_cast<uint32_t>(meta_pool_.size() - 1);
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
                                       const std::vector<char>* off, RunState* state) const {
  RunState local;
  return Evaluate(msg, known, off, /*late=*/false, state != nullptr ? *state : local);
}

std::vector<RuleSet::Hit> RuleSet::RunLate(const mime::Message& msg,
                                           const std::function<double(const std::string&)>& known,
                                           const std::vector<char>* off, RunState* state) const {
  return Evaluate(msg, known, off, /*late=*/true, *state);
}

std::vector<RuleSet::Hit> RuleSet::Evaluate(const mime::Message& msg,
                                            const std::function<double(const std::string&)>& known,
                                            const std::vector<char>* off, bool late,
                                            RunState& st) const {
  std::vector<Hit> hits;
  CheckCache& check_cache = st.checks;
  check_cache.known = &known;
  check_cache.bayes_probability = st.bayes_probability;
  // What each rule found (1 or 0, or a count), kept between the two runs, and what other
  // checks found, asked once per symbol and run.
  if (st.value.size() != rules_.size()) {
    st.value.assign(rules_.size(), 0);
    st.done.assign(rules_.size(), 0);
  }
  std::vector<double>& value = st.value;
  std::vector<char>& done = st.done;
  std::vector<double> external(external_.size(), -1);
  // Many rules read the same address field (From:addr, From:name, ...): parse each once.
  std::map<const mime::HeaderField*, std::vector<mime::Address>>& addresses = st.addresses;
  auto addresses_of = [&](const mime::HeaderField* f) -> const std::vector<mime::Address>& {
    auto it = addresses.find(f);
    if (it == addresses.end()) it = addresses.emplace(f, mime::ParseAddressList(f->raw)).first;
    return it->second;
  };
  // Indexed by header slot (BindHeaderSlots): no name lookups on the hot path.
  std::vector<std::optional<std::vector<std::string>>>& slot_values = st.header_values;
  if (slot_values.size() != header_slots_.size()) slot_values.assign(header_slots_.size(), std::nullopt);
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
      if (part == "name_raw") {
        // The phrase as written, before any encoded word is decoded: what precedes the
        // '<' of the address (quotes dropped).
        absl::string_view v = f->raw;
        const size_t lt = v.find('<');
        if (lt == absl::string_view::npos) continue;
        v = absl::StripAsciiWhitespace(v.substr(0, lt));
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        values.emplace_back(v);
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
  // The texts body and rawbody rules read: each text part that is not an attachment, or
  // SpamAssassin's body text (SaBodyText); the Subject first for rules that read it. Each
  // of text, raw, subject and text, SpamAssassin's, and the Subject and that: built once.
  std::optional<std::vector<absl::string_view>> body_cache[5];
  auto body_texts = [&](bool raw, bool subject = false, bool sa = false) -> const std::vector<absl::string_view>& {
    std::optional<std::vector<absl::string_view>>& cached =
        body_cache[sa ? (subject ? 4 : 3) : subject ? 2 : raw ? 1 : 0];
    if (cached.has_value()) return *cached;
    std::vector<absl::string_view>& texts = cached.emplace();
    if (subject) {
      if (const mime::HeaderField* f = msg.headers().Find("Subject"); f != nullptr) texts.push_back(f->value);
    }
    if (sa) {
      if (!st.sa_body.has_value()) st.sa_body = SaBodyText(msg, options_.body_part_scan_size);
      texts.push_back(*st.sa_body);
      return texts;
    }
    for (const mime::Part& p : msg.parts()) {
      if (!p.is_leaf() || !p.is_text() || p.is_attachment()) continue;
      texts.push_back(raw ? CutForScan(p.decoded, options_.rawbody_part_scan_size, "\n> ")
                      : CutForScan(p.is_html() ? absl::string_view(p.Html().text) : absl::string_view(p.text),
                                   options_.body_part_scan_size, "\n "));
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
  // Kept in the state: the second run reuses what the first one scanned.
  std::vector<std::vector<char>>& maybe = st.maybe;
  if (maybe.size() != filters_.size()) maybe.assign(filters_.size(), {});
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
        case Kind::kBody: {
          const CompiledRule& first = rules_[f.rules[0]];
          texts = body_texts(false, first.with_subject, first.sa_body);
          break;
        }
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
    return m[r.filter_pattern] != 0;
  };
  // SpamAssassin matches its body text line by line (each line an entry of an array): a
  // match that runs over a line's end is looked for again in each line alone.
  auto each_line = [](absl::string_view text, const auto& f) {
    while (!text.empty()) {
      const size_t nl = text.find('\n');
      const size_t len = nl == absl::string_view::npos ? text.size() : nl + 1;
      if (f(text.substr(0, len))) return;
      text.remove_prefix(len);
    }
  };
  auto find = [&](const CompiledRule& r, absl::string_view text) -> std::optional<std::string> {
    if (!r.regex.has_value()) return std::string();
    std::optional<absl::string_view> m = r.regex->Find(text, match_limit_);
    if (!m.has_value()) return std::nullopt;
    if (r.sa_body && m->size() > 1 && m->substr(0, m->size() - 1).find('\n') != absl::string_view::npos) {
      m.reset();
      each_line(text, [&](absl::string_view line) { return (m = r.regex->Find(line, match_limit_)).has_value(); });
      if (!m.has_value()) return std::nullopt;
    }
    return Shorten(*m);
  };
  // A "multiple" rule that hit: its matches over every text of its kind, up to max_hits.
  auto count_matches = [&](const CompiledRule& r) -> double {
    uint32_t n = 0;
    auto add = [&](absl::string_view t) {
      if (r.sa_body) {
        each_line(t, [&](absl::string_view line) {
          n += r.regex->Count(line, match_limit_, r.max_hits - n);
          return n >= r.max_hits;
        });
        return;
      }
      if (n < r.max_hits) n += r.regex->Count(t, match_limit_, r.max_hits - n);
    };
    switch (r.kind) {
      case Kind::kHeader:
        if (r.header.negate() || r.header.missing()) return 1;
        for (const std::string& v : values_of(r.header_slot)) add(v);
        break;
      case Kind::kBody:
      case Kind::kRawBody:
        for (absl::string_view t : body_texts(r.kind == Kind::kRawBody, r.with_subject, r.sa_body)) add(t);
        break;
      case Kind::kUri:
        for (const mime::Url& u : msg.Links().urls) add(u.url);
        break;
      case Kind::kFilename:
        for (absl::string_view name : filename_texts()) add(name);
        break;
      case Kind::kFull: add(msg.raw()); break;
      default: return 1;
    }
    return std::max<uint32_t>(n, 1);
  };
  // Sub-rules run when a meta rule first reads them (and not at all when its && or ||
  // is decided without them); every other rule runs in order.
  std::function<double(size_t)> demand;
  auto run = [&](const CompiledRule& r) {
    std::optional<std::string> option;
    double meta_value = 0;
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
        for (absl::string_view text : body_texts(r.kind == Kind::kRawBody, r.with_subject, r.sa_body)) {
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
        option = RunCheck(r.check, msg, data_, check_cache);
        break;
      case Kind::kMeta: {
        // A meta rule's value is its expression's (SpamAssassin's metas add up too).
        meta_value = Expression::At(meta_pool_.data(), r.meta_root, [&](size_t slot) -> double {
          const int at = static_cast<int32_t>(static_cast<uint32_t>(slot));
          if (at >= 0) return done[at] ? value[at] : demand(at);
          double& e = external[-1 - at];
          if (e < 0) e = std::max(0.0, known(external_[-1 - at]));
          return e;
        });
        if (meta_value != 0) option = "";
        break;
      }
    }
    if (option.has_value()) {
      value[&r - rules_.data()] = r.kind == Kind::kMeta                       ? meta_value
                                  : r.max_hits > 1 && r.regex.has_value() ? count_matches(r)
                                                                          : 1;
      hits.push_back({&r, std::move(*option)});
    }
  };
  demand = [&](size_t i) -> double {
    if (!done[i]) {
      done[i] = 1;
      if (off == nullptr || !(*off)[i]) run(rules_[i]);
    }
    return value[i];
  };
  // The first run leaves out the rules that read what only the network checks, Bayes and
  // the other later checks find; the second runs just those.
  for (uint32_t i : run_order_[late ? 1 : 0]) {
    if (done[i]) continue;  // a meta rule read it already
    done[i] = 1;
    if (off == nullptr || !(*off)[i]) run(rules_[i]);
  }
  return hits;
}

void RuleSet::MarkLate(const std::function<bool(const std::string&)>& late_symbol) {
  // Regex rules come first and metas follow in dependency order: one pass settles it.
  has_late_ = false;
  for (CompiledRule& r : rules_) {
    r.late = r.kind == Kind::kCheck && IsLateCheck(r.check);
    has_late_ |= r.late;
    if (r.kind != Kind::kMeta) continue;
    for (size_t k = 0; k < r.meta_slots.size() && !r.late; ++k) {
      const int at = r.meta_slots[k];
      r.late = at >= 0 ? rules_[at].late : late_symbol(external_[-1 - at]);
    }
    has_late_ |= r.late;
  }
  for (auto& order : run_order_) order.clear();
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (!rules_[i].on_demand) run_order_[rules_[i].late ? 1 : 0].push_back(static_cast<uint32_t>(i));
  }
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
