// Loading, checking and running native rules.
#include "lib/rules/rule_set.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/common/config_loader.h"

namespace farside::rules {
namespace {

using Kind = CompiledRule::Kind;

bool ValidName(absl::string_view n) {
  if (n.empty() || !absl::ascii_isupper(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n) {
    if (!absl::ascii_isupper(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
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

absl::StatusOr<CompiledRule> Compile(const farside::v1::Rule& r, const std::string& file) {
  CompiledRule c;
  c.name = r.name();
  c.description = r.description();
  c.group = r.group();
  c.score = r.score();
  c.file = file;
  if (!ValidName(r.name())) {
    return RuleError(file, r.name().empty() ? "(unnamed)" : r.name(),
                     "names are upper case letters, digits and '_', starting with a letter");
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
  if (kinds.size() != 1) {
    return RuleError(file, r.name(),
                     "give exactly one of header, body, rawbody, uri, filename, full, meta");
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
  }
  if (c.kind == Kind::kHeader) {
    c.header = r.header();
    const std::string& part = r.header().part();
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

absl::StatusOr<std::unique_ptr<RuleSet>> RuleSet::FromSources(const std::vector<Source>& sources,
                                                              uint32_t match_limit) {
  auto set = std::make_unique<RuleSet>();
  set->match_limit_ = match_limit;
  std::vector<CompiledRule> plain, metas;
  std::map<std::string, std::string> defined_in;
  for (const Source& src : sources) {
    farside::v1::RuleFile file;
    if (absl::Status s = config::MergeYaml(src.text, src.name, &file); !s.ok()) return s;
    for (const auto& r : file.rules()) {
      if (!r.enabled()) continue;
      absl::StatusOr<CompiledRule> c = Compile(r, src.name);
      if (!c.ok()) return c.status();
      if (auto [it, fresh] = defined_in.emplace(c->name, src.name); !fresh) {
        return RuleError(src.name, c->name, absl::StrCat("already defined in ", it->second));
      }
      (c->kind == Kind::kMeta ? metas : plain).push_back(std::move(*c));
    }
    for (const auto& g : file.groups()) set->groups_[g.name()] = g;
  }
  if (absl::Status s = OrderMeta(metas); !s.ok()) return s;
  set->rules_ = std::move(plain);
  for (CompiledRule& m : metas) set->rules_.push_back(std::move(m));
  return set;
}

absl::StatusOr<std::unique_ptr<RuleSet>> RuleSet::LoadDirs(const std::vector<std::string>& dirs,
                                                           uint32_t match_limit) {
  std::vector<Source> sources;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
      return absl::NotFoundError(absl::StrCat("rules directory '", dir, "' does not exist"));
    }
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) {
      absl::StatusOr<std::string> text = config::ReadFile(f);
      if (!text.ok()) return text.status();
      sources.push_back({f, std::move(*text)});
    }
  }
  return FromSources(sources, match_limit);
}

std::vector<RuleSet::Hit> RuleSet::Run(
    const mime::Message& msg, const std::function<double(const std::string&)>& known) const {
  std::vector<Hit> hits;
  std::set<std::string> hit_names;
  auto find = [&](const CompiledRule& r, absl::string_view text) -> std::optional<std::string> {
    if (!r.regex.has_value()) return std::string();
    std::optional<absl::string_view> m = r.regex->Find(text, match_limit_);
    if (!m.has_value()) return std::nullopt;
    return Shorten(*m);
  };
  for (const CompiledRule& r : rules_) {
    std::optional<std::string> option;
    switch (r.kind) {
      case Kind::kHeader: {
        std::vector<const mime::HeaderField*> fields = msg.headers().FindAll(r.header.name());
        if (r.header.missing()) {
          if (fields.empty()) option = "missing";
          break;
        }
        std::vector<std::string> values;
        const std::string& part = r.header.part();
        for (const mime::HeaderField* f : fields) {
          if (part == "value" || part == "raw") {
            values.push_back(part == "value" ? f->value : f->raw);
            continue;
          }
          for (const mime::Address& a : mime::ParseAddressList(f->raw)) {
            values.push_back(part == "address" ? a.addr_spec()
                             : part == "name"  ? a.display_name
                                               : a.domain);
          }
        }
        if (values.empty()) break;
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
        for (const mime::Part& p : msg.parts()) {
          if (!p.is_leaf() || !p.is_text() || p.is_attachment()) continue;
          absl::string_view text = r.kind == Kind::kRawBody ? absl::string_view(p.decoded)
                                   : p.is_html()            ? absl::string_view(p.Html().text)
                                                            : absl::string_view(p.text);
          if ((option = find(r, text))) break;
        }
        break;
      case Kind::kUri:
        for (const mime::Url& u : msg.Links().urls) {
          if ((option = find(r, u.url))) break;
        }
        break;
      case Kind::kFilename:
        for (const mime::Part& p : msg.parts()) {
          if (p.filename.has_value() && !p.filename->empty() && (option = find(r, *p.filename))) break;
          for (const mime::ArchiveEntry& e : p.archive.entries) {
            if ((option = find(r, e.name))) break;
          }
          if (option) break;
        }
        break;
      case Kind::kFull:
        option = find(r, msg.raw());
        break;
      case Kind::kMeta: {
        bool m = r.meta->Matches([&](const std::string& s) {
          return hit_names.count(s) ? 1.0 : known(s);
        });
        if (m) option = "";
        break;
      }
    }
    if (option.has_value()) {
      hit_names.insert(r.name);
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
