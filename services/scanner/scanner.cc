// The scan pipeline.
#include "services/scanner/scanner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmath>
#include <cstring>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "lib/bayes/classifier.h"
#include "lib/bayes/tokenizer.h"
#include "lib/common/log.h"
#include "lib/common/names.h"
#include "lib/mime/charset.h"
#include "lib/mime/message.h"
#include "lib/rules/actions.h"
#include "lib/rules/gtube.h"
#include "lib/rules/prefilter.h"
#include "lib/rules/sa_import.h"
#include "services/scanner/greylist.h"
#include "services/scanner/verdict.h"

namespace farside::scanner {

using farside::v1::Action;
using google::protobuf::util::TimeUtil;

namespace {

// The value of one rate-limit selector for this message ("" when it has none).
std::string SelectorValue(const std::string& sel, const farside::v1::Envelope& env,
                          const std::string& rcpt) {
  if (sel == "ip") return env.client_ip();
  if (sel == "network") return ClientNetwork(env.client_ip(), 24, 64);
  if (sel == "from") return absl::AsciiStrToLower(env.mail_from());
  if (sel == "from_domain") {
    size_t at = env.mail_from().rfind('@');
    return at == std::string::npos ? "" : absl::AsciiStrToLower(env.mail_from().substr(at + 1));
  }
  if (sel == "rcpt") return absl::AsciiStrToLower(rcpt);
  if (sel == "user") return env.authenticated_user();
  return "";
}

// The bucket queries of one message: one per limit, or one per recipient when a limit is
// keyed by rcpt; none for a limit whose selectors this message lacks or that allows them.
void AddRateLimitQueries(const farside::v1::ScannerConfig& config, const farside::v1::Envelope& env,
                         farside::v1::MessageQuery* query) {
  for (const farside::v1::RateLimit& rl : config.ratelimits()) {
    const bool per_rcpt = std::find(rl.selectors().begin(), rl.selectors().end(), "rcpt") != rl.selectors().end();
    std::vector<std::string> rcpts;
    if (per_rcpt) {
      for (int i = 0; i < env.rcpt_to_size() && i < 50; ++i) rcpts.push_back(env.rcpt_to(i));
    } else {
      rcpts.push_back("");
    }
    for (const std::string& rcpt : rcpts) {
      std::string key;
      bool skip = false;
      for (const std::string& sel : rl.selectors()) {
        std::string v = SelectorValue(sel, env, rcpt);
        if (v.empty()) skip = true;
        for (const std::string& allowed : rl.allow()) skip |= absl::EqualsIgnoreCase(v, allowed);
        absl::StrAppend(&key, key.empty() ? "" : "|", sel, "=", v);
      }
      if (skip) continue;
      auto* q = query->add_ratelimits();
      q->set_name(rl.name());
      q->set_key(key);
      q->set_burst(rl.burst());
      q->set_rate(rl.rate());
    }
  }
}

// Whose Bayes statistics apply: per recipient or per domain when configured and the message
// has exactly one recipient; else the shared ones.
std::string BayesUser(const farside::v1::BayesConfig& bc, const farside::v1::Envelope& env) {
  if (bc.per().empty() || env.rcpt_to_size() != 1) return "";
  const std::string& r = env.rcpt_to(0);
  if (bc.per() == "domain") {
    size_t at = r.rfind('@');
    return at == std::string::npos ? "" : "@" + r.substr(at + 1);
  }
  return r;
}

// Returns the spam probability, when Bayes gave one.
std::optional<double> AddBayesSymbol(const farside::v1::BayesConfig& bc,
                                     const farside::v1::BayesCounts& counts,
                                     farside::v1::ScanResult* result) {
  std::vector<bayes::TokenCounts> tc(static_cast<size_t>(counts.spam_size()));
  for (int i = 0; i < counts.spam_size() && i < counts.ham_size(); ++i) {
    tc[static_cast<size_t>(i)] = {counts.spam(i), counts.ham(i)};
  }
  bayes::ClassifierOptions co;
  co.min_learned = bc.min_learned();
  bayes::Classification c = bayes::Classify(tc, counts.learned_spam(), counts.learned_ham(), co);
  if (!c.ready) {
    auto* sk = result->add_skipped();
    sk->set_check("bayes");
    sk->set_reason(c.reason);
    return std::nullopt;
  }
  const double p = c.probability;
  const char* name = nullptr;
  double score = 0;
  if (p >= bc.spam_probability()) {
    name = "BAYES_SPAM";
    score = bc.spam_score();
  } else if (p >= bc.likely_spam_probability()) {
    name = "BAYES_LIKELY_SPAM";
    score = bc.likely_spam_score();
  } else if (p <= bc.ham_probability()) {
    name = "BAYES_HAM";
    score = bc.ham_score();
  } else if (p <= bc.likely_ham_probability()) {
    name = "BAYES_LIKELY_HAM";
    score = bc.likely_ham_score();
  }
  if (name == nullptr) return p;
  auto* sym = result->add_symbols();
  sym->set_name(name);
  sym->set_score(score);
  sym->set_group("bayes");
  sym->set_description("The Bayes classifier, trained on this site's mail, rates it this way");
  sym->add_options(absl::StrFormat("%.4f (%d tokens)", p, static_cast<int>(c.tokens_used)));
  return p;
}

// The entities whose reputation a message asks for: its client, its sender's domain, and the
// registered domains it links to (the first `max_urls`).
void AddReputationKeys(const farside::v1::ReputationConfig& rc, const mime::Message& msg,
                       const farside::v1::Envelope& env, farside::v1::MessageQuery* q) {
  if (!rc.enabled()) return;
  if (!env.client_ip().empty()) q->add_reputation_keys("ip:" + env.client_ip());
  const size_t at = env.mail_from().rfind('@');
  if (at != std::string::npos && at + 1 < env.mail_from().size()) {
    q->add_reputation_keys("from:" + absl::AsciiStrToLower(env.mail_from().substr(at + 1)));
  }
  std::set<std::string> seen;
  for (const mime::Url& u : msg.Links().urls) {
    if (seen.size() >= rc.max_urls()) break;
    const std::string& d = u.domain.empty() ? u.host : u.domain;
    if (!d.empty() && seen.insert(d).second) q->add_reputation_keys("url:" + d);
  }
}

// Reputation symbols: the share of spam among an entity's decayed past verdicts, scaled to
// its kind's max_score (negative for mostly ham). Links count once, by the worst domain.
void AddReputationSymbols(const farside::v1::ReputationConfig& rc,
                          const google::protobuf::RepeatedPtrField<farside::v1::ReputationAnswer>& answers,
                          farside::v1::ScanResult* result) {
  const farside::v1::ReputationAnswer* worst_url = nullptr;
  double worst = -2;
  for (const auto& a : answers) {
    const double n = a.spam() + a.ham();
    if (n < rc.min_messages() || n <= 0) continue;
    const double r = (a.spam() - a.ham()) / n;
    const std::string kind = a.key().substr(0, a.key().find(':'));
    if (kind == "url") {
      if (r > worst) {
        worst = r;
        worst_url = &a;
      }
      continue;
    }
    const double max = kind == "ip" ? rc.ip_max_score() : rc.from_domain_max_score();
    if (std::abs(r) < 0.2) continue;
    auto* sym = result->add_symbols();
    sym->set_name(absl::StrCat(kind == "ip" ? "REP_IP" : "REP_FROM_DOMAIN", r > 0 ? "_SPAM" : "_HAM"));
    sym->set_score(r * max);
    sym->set_group("reputation");
    sym->set_description(kind == "ip" ? "What this client address sent before was mostly spam (or ham)"
                                      : "What this sender domain sent before was mostly spam (or ham)");
    sym->add_options(absl::StrFormat("%s: %.1f spam, %.1f ham", a.key().substr(a.key().find(':') + 1),
                                     a.spam(), a.ham()));
  }
  if (worst_url != nullptr && std::abs(worst) >= 0.2) {
    auto* sym = result->add_symbols();
    sym->set_name(worst > 0 ? "REP_URL_SPAM" : "REP_URL_HAM");
    sym->set_score(worst * rc.url_max_score());
    sym->set_group("reputation");
    sym->set_description("Mail linking to this domain was mostly spam (or ham) before");
    sym->add_options(absl::StrFormat("%s: %.1f spam, %.1f ham", worst_url->key().substr(4), worst_url->spam(),
                                     worst_url->ham()));
  }
}

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "scanner";
  return buf;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Scanner>> Scanner::Create(const farside::v1::ScannerConfig& config,
                                                         StateClient* state,
                                                         telemetry::ServiceMetrics* metrics) {
  std::unique_ptr<Scanner> s(new Scanner(config, state, metrics));
  const std::pair<const std::string*, farside::v1::SmtpReply*> replies[] = {
      {&config.replies().reject(), &s->reject_reply_},
      {&config.replies().soft_reject(), &s->soft_reject_reply_},
      {&config.replies().greylist(), &s->greylist_reply_},
  };
  const char* names[] = {"reject", "soft_reject", "greylist"};
  for (size_t i = 0; i < 3; ++i) {
    absl::StatusOr<farside::v1::SmtpReply> r = rules::ParseSmtpReply(*replies[i].first);
    if (!r.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("scanner.replies.", names[i], ": ", r.status().message()));
    }
    *replies[i].second = *r;
  }
  // The tokenizer keeps a table of twice this many slots per thread.
  constexpr uint32_t kMaxBayesTokens = 100000;
  if (config.bayes().max_tokens() < 1 || config.bayes().max_tokens() > kMaxBayesTokens) {
    return absl::InvalidArgumentError(absl::StrCat("scanner.bayes.max_tokens: ", config.bayes().max_tokens(),
                                                   " is outside 1..", kMaxBayesTokens));
  }
  std::vector<rules::RuleSet::Skipped> skipped;
  absl::StatusOr<std::unique_ptr<rules::RuleSet>> rs = rules::RuleSet::Load(
      {config.rules().dirs().begin(), config.rules().dirs().end()},
      {config.rules().spamassassin_dirs().begin(), config.rules().spamassassin_dirs().end()},
      config.rules().match_limit(), &skipped,
      {.prefilter = config.rules().prefilter(),
       .cache_dir = config.rules().cache_dir(),
       .body_part_scan_size = config.rules().body_part_scan_size(),
       .rawbody_part_scan_size = config.rules().rawbody_part_scan_size()});
  if (!rs.ok()) return rs.status();
  if (!skipped.empty()) {
    log::Info("SpamAssassin rules left out (see `farside rules import DIR --verbose`)",
              {{"skipped", skipped.size()}, {"loaded", (*rs)->size()}});
  }
  s->rules_ = std::move(*rs);
  // What the network checks, clamd, Bayes, reputation and rate limits add after the rules
  // run; meta rules that read these wait for them.
  std::set<std::string> late_names;
  for (const auto& l : config.dnsbl().lists()) {
    late_names.insert(l.name());
    for (const auto& c : l.codes()) late_names.insert(c.symbol());
  }
  s->rules_->MarkLate([late_names](const std::string& name) {
    for (const char* prefix : {"SPF_", "DKIM_", "DMARC_", "ARC_", "BAYES_", "REP_", "RATELIMIT_", "CLAMAV_"}) {
      if (absl::StartsWith(name, prefix)) return true;
    }
    return late_names.count(name) > 0;
  });
  absl::StatusOr<std::unique_ptr<rules::ListSet>> lists = rules::ListSet::Create(s->rules_->lists());
  if (!lists.ok()) return lists.status();
  s->lists_ = std::move(*lists);
  // Block lists that imported rules ask for join the configured ones (scanner.dnsbl.enabled
  // switches them off too).
  farside::v1::ScannerConfig net_config = config;
  for (const farside::v1::DnsblList& l : s->rules_->dnsbl_lists()) *net_config.mutable_dnsbl()->add_lists() = l;
  absl::StatusOr<std::unique_ptr<NetworkChecks>> net = NetworkChecks::Create(net_config);
  if (!net.ok()) return net.status();
  s->network_ = std::move(*net);
  absl::StatusOr<std::unique_ptr<Antivirus>> av = Antivirus::Create(config.antivirus());
  if (!av.ok()) return av.status();
  s->antivirus_ = std::move(*av);
  for (int i = 0; i < config.profiles_size(); ++i) {
    const farside::v1::SettingsProfile& p = config.profiles(i);
    const std::string path = absl::StrCat("scanner.profiles[", i, "]");
    if (p.name().empty() || p.name() == "default") {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".name: give each profile a name other than 'default'"));
    }
    if (s->profiles_.count(p.name())) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".name: '", p.name(), "' is defined twice"));
    }
    Profile& prof = s->profiles_[p.name()];
    prof.thresholds = rules::ThresholdsFromConfig(p.actions());
    std::vector<std::string> unknown;
    prof.off = s->rules_->Mask({p.disabled_symbols().begin(), p.disabled_symbols().end()}, &unknown);
    for (const auto& d : s->rules_->lists()) {
      auto it = std::find(unknown.begin(), unknown.end(), d.list.name());
      if (it == unknown.end()) continue;
      prof.lists_off.insert(d.list.name());
      unknown.erase(it);
    }
    if (!unknown.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".disabled_symbols: no rule is named '", unknown[0], "'"));
    }
    for (const auto& o : p.scores()) prof.scores[o.symbol()] = o.score();
  }
  for (int i = 0; i < config.ratelimits_size(); ++i) {
    const farside::v1::RateLimit& rl = config.ratelimits(i);
    const std::string path = absl::StrCat("scanner.ratelimits[", i, "]");
    if (rl.name().empty() || !std::all_of(rl.name().begin(), rl.name().end(), [](char c) {
          return absl::ascii_isalnum(c) || c == '_';
        })) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".name: letters, digits and '_'"));
    }
    if (rl.selectors().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".selectors: name at least one"));
    }
    for (const std::string& sel : rl.selectors()) {
      if (sel != "ip" && sel != "network" && sel != "from" && sel != "from_domain" &&
          sel != "rcpt" && sel != "user") {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ".selectors: unknown '", sel, "' (ip, network, from, from_domain, rcpt, user)"));
      }
    }
    if (!(rl.burst() >= 1) || !(rl.rate() > 0)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": burst must be at least 1 and rate above 0"));
    }
    Action a;
    if (!farside::v1::Action_Parse(absl::AsciiStrToUpper(rl.action()), &a)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".action: unknown action '", rl.action(), "'"));
    }
    s->ratelimit_actions_[rl.name()] = a;
  }
  absl::StatusOr<std::unique_ptr<Greylister>> grey = Greylister::Create(config.greylist());
  if (!grey.ok()) return grey.status();
  s->greylist_ = std::move(*grey);
  log::Info("rules loaded", {{"rules", s->rules_->size()},
                             {"prefiltered", s->rules_->prefiltered()},
                             {"prefilter", rules::Prefilter::Runtime()}});
  return s;
}

Scanner::Scanner(const farside::v1::ScannerConfig& config, StateClient* state,
                 telemetry::ServiceMetrics* metrics)
    : config_(config),
      state_(state),
      name_(config.name().empty() ? HostName() : config.name()),
      thresholds_(rules::ThresholdsFromConfig(config.actions())) {
  auto& reg = *metrics->registry();
  scans_ = &prometheus::BuildCounter()
                .Name(metrics->Name("scans_total"))
                .Help("Messages scanned, by action")
                .Register(reg);
  symbol_hits_ = &prometheus::BuildCounter()
                      .Name(metrics->Name("symbol_hits_total"))
                      .Help("Symbols found, by symbol")
                      .Register(reg);
  scan_seconds_ = &prometheus::BuildHistogram()
                       .Name(metrics->Name("scan_duration_seconds"))
                       .Help("Time to scan one message, state call included")
                       .Register(reg)
                       .Add({}, telemetry::LatencyBuckets());
}

absl::StatusOr<farside::v1::ScanResult> Scanner::Scan(const farside::v1::ScanRequest& request) {
  const absl::Time start = absl::Now();
  const std::string& bytes = request.message();
  if (bytes.empty()) return absl::InvalidArgumentError("the request has no message bytes");
  if (bytes.size() > config_.max_message_bytes()) {
    return absl::InvalidArgumentError(absl::StrCat("message of ", bytes.size(),
                                                   " bytes is over scanner.max_message_bytes (",
                                                   config_.max_message_bytes(), ")"));
  }
  const farside::v1::Envelope& env = request.envelope();
  // Parsed once; every check reads this model.
  const mime::Message msg = mime::Message::Parse(bytes, config_.mime());
  // DNS goes on the wire now and answers while the rules run.
  const NetworkChecks::Plan net = network_->Start(bytes, msg, env, start);

  farside::v1::ScanResult result;
  result.set_queue_id(env.queue_id());
  result.set_message_id(msg.MessageId());
  result.set_scanner(name_);
  result.set_settings_profile("default");
  const Profile* profile = nullptr;
  if (auto it = profiles_.find(env.settings_profile()); it != profiles_.end()) {
    profile = &it->second;
    result.set_settings_profile(it->first);
  } else if (!env.settings_profile().empty() && env.settings_profile() != "default") {
    auto* sk = result.add_skipped();
    sk->set_check("settings");
    sk->set_reason(absl::StrCat("unknown settings profile '", env.settings_profile(),
                                "'; the default applied"));
  }
  const farside::v1::ActionThresholds& thresholds = profile ? profile->thresholds : thresholds_;
  *result.mutable_thresholds() = thresholds;

  std::optional<Action> forced;
  if (config_.gtube().enabled()) {
    // In the decoded text of any text part (so base64 or QP does not hide it), else in the
    // raw body of a message that has no text part.
    std::optional<rules::GtubeMatch> g;
    bool any_text = false;
    for (const mime::Part& p : msg.parts()) {
      if (!p.is_leaf() || !p.is_text() || p.is_attachment()) continue;
      any_text = true;
      if ((g = rules::FindGtube(p.text))) break;
    }
    if (!any_text) g = rules::FindGtube(msg.root().body);
    if (g.has_value()) {
      auto* sym = result.add_symbols();
      sym->set_name("GTUBE");
      sym->set_score(0);
      sym->set_group("gtube");
      sym->set_description("The message carries a GTUBE anti-spam test string");
      sym->add_options(std::string(g->matched.substr(0, 3)) + "...");
      forced = g->forced_action;
      result.set_forced_by("GTUBE");
    }
  }
  // What the parser found odd about the message's structure. Scores come with the rule set;
  // until then they explain, and count nothing.
  for (const std::string& a : msg.anomalies()) {
    auto* sym = result.add_symbols();
    sym->set_name(a);
    sym->set_score(0);
    sym->set_group("mime");
    sym->set_description("The message's MIME structure is unusual or broken (see docs/mime.md)");
  }

  // Lists (IP, domain, e-mail, header, regex files): symbols meta rules can read too.
  for (const rules::ListSet::Hit& h : lists_->Run(msg, env)) {
    if (profile != nullptr && profile->lists_off.count(h.symbol)) continue;
    auto* sym = result.add_symbols();
    sym->set_name(h.symbol);
    sym->set_score(h.score);
    sym->set_group(h.group);
    sym->set_description(h.description);
    sym->add_options(h.option);
    if (h.force_action.has_value() && (!forced.has_value() || *h.force_action > *forced)) {
      forced = h.force_action;
      result.set_forced_by(h.symbol);
    }
  }

  // The rule set, which may read what the checks above found (meta rules). The rules that
  // read what the network checks and Bayes find run again once those are in (RunLate).
  rules::RuleSet::RunState rule_state;
  std::set<std::string> found;
  const auto known = [&](const std::string& name) { return found.count(name) ? 1.0 : 0.0; };
  const auto add_hits = [&](const std::vector<rules::RuleSet::Hit>& hits) {
    for (const rules::RuleSet::Hit& h : hits) {
      // "__" sub-rules only feed meta rules; a result lists what a person should read. An
      // imported rule named as the symbol it reads (SpamAssassin's SPF_PASS) is already there.
      if (h.rule->name.rfind("__", 0) == 0 && h.rule->score == 0 && !h.rule->force_action) continue;
      if (h.rule->late && found.count(h.rule->name)) continue;
      auto* sym = result.add_symbols();
      sym->set_name(h.rule->name);
      sym->set_score(h.rule->score);
      sym->set_group(h.rule->group);
      sym->set_description(h.rule->description);
      if (!h.option.empty()) sym->add_options(h.option);
      // The harshest forced action wins; the enum runs mildest first.
      if (h.rule->force_action.has_value() &&
          (!forced.has_value() || *h.rule->force_action > *forced)) {
        forced = h.rule->force_action;
        result.set_forced_by(h.rule->name);
      }
    }
  };
  for (const auto& sym : result.symbols()) found.insert(sym.name());
  add_hits(rules_->Run(msg, known, profile ? &profile->off : nullptr, &rule_state));

  // clamd works while the DNS answers come in.
  antivirus_->Run(bytes, msg, &result, &forced);
  const NetworkChecks::Auth auth = network_->Finish(net, msg, env, &result, &forced);
  rule_state.checks.dkim_pass_domains = auth.dkim_pass_domains;
  rule_state.checks.dkim_checked = auth.dkim_checked;

  // The one shared-state call for this message.
  farside::v1::MessageQuery query;
  query.set_queue_id(env.queue_id());
  query.set_message_id(result.message_id());
  const farside::v1::BayesConfig& bc = config_.bayes();
  if (bc.enabled()) {
    bayes::TokenizerOptions to;
    to.max_tokens = bc.max_tokens();
    for (uint64_t t : bayes::Tokenize(msg, to)) query.add_bayes_tokens(t);
    query.set_bayes_user(BayesUser(bc, env));
  }
  AddRateLimitQueries(config_, env, &query);
  const std::optional<farside::v1::GreylistKeys> grey_keys = greylist_->Keys(msg, env);
  if (grey_keys.has_value()) *query.mutable_greylist() = *grey_keys;
  AddReputationKeys(config_.reputation(), msg, env, &query);
  absl::StatusOr<farside::v1::ExchangeResponse> state =
      state_->Exchange(query, absl::Milliseconds(TimeUtil::DurationToMilliseconds(
                                  config_.controller_timeout())));
  if (!state.ok()) {
    auto* sk = result.add_skipped();
    sk->set_check("controller");
    sk->set_reason(std::string(state.status().message()));
  } else {
    if (bc.enabled()) rule_state.bayes_probability = AddBayesSymbol(bc, state->bayes(), &result);
    AddReputationSymbols(config_.reputation(), state->reputation(), &result);
    for (const farside::v1::RateLimitAnswer& a : state->ratelimits()) {
      if (a.allowed()) continue;
      auto* sym = result.add_symbols();
      sym->set_name(absl::StrCat("RATELIMIT_", absl::AsciiStrToUpper(a.name())));
      sym->set_group("ratelimit");
      sym->set_description("More mail than this rate limit allows");
      sym->add_options(a.key());
      const Action act = ratelimit_actions_[a.name()];
      if (!forced.has_value() || act > *forced) {
        forced = act;
        result.set_forced_by(sym->name());
      }
    }
  }

  if (rules_->has_late()) {
    found.clear();
    for (const auto& sym : result.symbols()) found.insert(sym.name());
    add_hits(rules_->RunLate(msg, known, profile ? &profile->off : nullptr, &rule_state));
  }

  if (profile != nullptr) {
    for (auto& sym : *result.mutable_symbols()) {
      if (auto it = profile->scores.find(sym.name()); it != profile->scores.end()) sym.set_score(it->second);
    }
  }
  std::vector<std::pair<std::string, double>> scored;
  for (const auto& s : result.symbols()) scored.emplace_back(s.group(), s.score());
  const double score = rules_->Total(scored);  // group caps applied
  result.set_score(score);
  std::sort(result.mutable_symbols()->begin(), result.mutable_symbols()->end(),
            [](const farside::v1::Symbol& a, const farside::v1::Symbol& b) {
              return a.score() != b.score() ? a.score() > b.score() : a.name() < b.name();
            });
  Action action = forced.has_value() ? *forced : rules::ActionForScore(score, thresholds);
  farside::v1::GreylistUpdate grey_update;
  greylist_->Apply(grey_keys, state.ok() && state->has_greylist() ? &state->greylist() : nullptr,
                   thresholds, &result, &action, &grey_update);
  result.set_action(action);
  switch (action) {
    case farside::v1::REJECT: *result.mutable_smtp_reply() = reject_reply_; break;
    case farside::v1::SOFT_REJECT: *result.mutable_smtp_reply() = soft_reject_reply_; break;
    case farside::v1::GREYLIST: *result.mutable_smtp_reply() = greylist_reply_; break;
    default: break;
  }
  AddHeaderChanges(config_.headers(), msg, &result);
  network_->AddHeaders(auth, bytes, msg, env, name_, &result);
  // Matched text and header values come from the mail: make them valid proto3 strings.
  mime::SanitizeUtf8Fields(&result);

  absl::Duration took = absl::Now() - start;
  *result.mutable_scan_time() = TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(took));

  farside::v1::ScanRecord rec;
  *rec.mutable_time() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(start));
  rec.set_queue_id(env.queue_id());
  rec.set_message_id(result.message_id());
  rec.set_action(action);
  if (grey_update.has_keys()) *rec.mutable_greylist() = std::move(grey_update);
  if (query.reputation_keys_size() > 0 && result.forced_by() != "GTUBE") {
    // The vote leaves reputation's own share out, so a name does not keep itself bad.
    double without = score;
    for (const auto& s : result.symbols()) {
      if (s.group() == "reputation") without -= s.score();
    }
    const bool spam = (forced.has_value() && *forced >= farside::v1::ADD_HEADER && *forced != farside::v1::SOFT_REJECT) ||
                      (thresholds.has_add_header() && without >= thresholds.add_header());
    const double ham_below = thresholds.has_greylist() ? thresholds.greylist()
                             : thresholds.has_add_header() ? thresholds.add_header() : 0;
    const bool ham = !forced.has_value() && without < ham_below;
    *rec.mutable_reputation_keys() = query.reputation_keys();
    rec.set_reputation_vote(spam ? 1 : ham ? -1 : 0);
  }
  if (bc.enabled() && bc.autolearn() && state.ok() && query.bayes_tokens_size() > 0 &&
      result.forced_by() != "GTUBE") {
    // By the score without Bayes's own symbols, and only what Bayes does not already know.
    double without_bayes = score;
    bool bayes_spam = false, bayes_ham = false;
    for (const auto& s : result.symbols()) {
      if (s.group() != "bayes") continue;
      without_bayes -= s.score();
      bayes_spam |= s.name() == "BAYES_SPAM";
      bayes_ham |= s.name() == "BAYES_HAM";
    }
    farside::v1::LearnClass label = farside::v1::LEARN_CLASS_UNSPECIFIED;
    if (without_bayes >= bc.autolearn_spam_score() && !bayes_spam) label = farside::v1::LEARN_CLASS_SPAM;
    if (without_bayes <= bc.autolearn_ham_score() && !bayes_ham) label = farside::v1::LEARN_CLASS_HAM;
    if (label != farside::v1::LEARN_CLASS_UNSPECIFIED) {
      auto* al = rec.mutable_autolearn();
      al->set_label(label);
      *al->mutable_tokens() = query.bayes_tokens();
      al->set_digest(bayes::LearnDigest(msg));
      al->set_user(query.bayes_user());
    }
  }
  rec.set_score(score);
  for (const auto& s : result.symbols()) rec.add_symbols(s.name());
  rec.set_client_ip(env.client_ip());
  rec.set_mail_from(env.mail_from());
  for (const auto& r : env.rcpt_to()) rec.add_rcpt_to(r);
  rec.set_subject(msg.Subject());
  rec.set_size(bytes.size());
  *rec.mutable_scan_time() = result.scan_time();
  rec.set_scanner(name_);
  rec.set_direction(env.direction() != farside::v1::DIRECTION_UNSPECIFIED ? env.direction()
                    : env.authenticated_user().empty() ? farside::v1::DIRECTION_INBOUND
                                                       : farside::v1::DIRECTION_OUTBOUND);
  mime::SanitizeUtf8Fields(&rec);
  state_->Record(std::move(rec));

  scans_->Add({{"action", ActionName(action)}}).Increment();
  for (const auto& s : result.symbols()) symbol_hits_->Add({{"symbol", s.name()}}).Increment();
  scan_seconds_->Observe(absl::ToDoubleSeconds(took));
  log::Info("scanned", {{"queue_id", env.queue_id()},
                        {"message_id", result.message_id()},
                        {"action", ActionName(action)},
                        {"score", absl::StrFormat("%.2f", score)},
                        {"ms", absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(took))}});
  return result;
}

}  // namespace farside::scanner
