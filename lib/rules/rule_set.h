// Farside's native rules: loaded from YAML files (farside.v1.RuleFile), checked at load (a
// mistake names the file, the rule and the reason), and run over the parsed message. Only
// the content kinds some rule reads are built (URLs and HTML text are built on first use).
#ifndef FARSIDE_LIB_RULES_RULE_SET_H_
#define FARSIDE_LIB_RULES_RULE_SET_H_

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "farside/v1/config.pb.h"
#include "farside/v1/scanner.pb.h"
#include "lib/mime/message.h"
#include "lib/rules/checks.h"
#include "lib/rules/expression.h"
#include "lib/rules/lists.h"
#include "lib/rules/prefilter.h"
#include "lib/rules/regex.h"

namespace farside::rules {

struct CompiledRule {
  enum class Kind { kHeader, kBody, kRawBody, kUri, kFilename, kFull, kMeta, kCheck };
  // What every message reads comes first, so a rule's hot fields share a cache line or two:
  // a message walks thousands of rules.
  Kind kind = Kind::kBody;
  // A sub-rule ("__" name, no score, no forced action): run only when a meta rule reads it.
  bool on_demand = false;
  // Reads what the network checks and Bayes find (RuleSet::RunLate runs it).
  bool late = false;
  bool with_subject = false;   // body rules: the Subject is one more text
  bool sa_body = false;        // body rules: read SaBodyText, not each part's text
  int filter = -1;             // the prefilter that covers this rule, if any
  uint32_t filter_pattern = 0;  // and its pattern's index there
  int header_slot = -1;        // header rules: which (field, part) values it reads
  uint32_t max_hits = 1;       // above 1: the rule's value is its match count, up to this
  uint32_t meta_root = 0;      // meta rules: the root of its nodes in RuleSet::meta_pool_
  std::optional<Regex> regex;
  farside::v1::HeaderRule header;
  std::optional<Expression> meta;
  // Meta rules: for each of meta->symbols(), the rule's index in the set, or -1 - k for
  // the k-th symbol found by other checks (RuleSet::external_).
  std::vector<int> meta_slots;
  double score = 0;
  std::optional<farside::v1::Action> force_action;
  CheckSpec check;  // check rules
  std::string name, description, group, file;
  std::string pattern, flags;  // for the prefilter: as written, or its prefilter_pattern
  bool own_prefilter_pattern = false;
  std::string plain_pattern;   // its prefilter_plain_pattern, for plain texts (may be empty)
};

// How a rule set is built and how much of a message its rules read (see RulesConfig).
struct LoadOptions {
  // Whether regex rules get a Vectorscan prefilter, and where compiled ones are kept.
  bool prefilter = true;
  std::string cache_dir;
  // Body rules read at most about this many bytes of each text part, rawbody rules of each
  // decoded part, as SpamAssassin's body_part_scan_size and rawbody_part_scan_size. 0: all.
  size_t body_part_scan_size = 50000;
  size_t rawbody_part_scan_size = 500000;
};

// `text` cut to about `limit` bytes as SpamAssassin cuts a part: after the first of
// `breaks` (tried in order) found within 1 KiB past the limit, else at the limit itself,
// moved back to the start of a UTF-8 character. Shorter texts, and limit 0, are whole.
absl::string_view CutForScan(absl::string_view text, size_t limit, absl::string_view breaks);

class RuleSet {
 public:
  struct Source {
    std::string name;  // file name, for errors
    std::string text;  // YAML
  };
  static absl::StatusOr<std::unique_ptr<RuleSet>> FromSources(const std::vector<Source>& sources,
                                                              uint32_t match_limit);

  struct Skipped {
    std::string file, rule, kind, reason;
  };
  struct File {
    std::string name;
    farside::v1::RuleFile rules;
    bool imported = false;  // a native rule of the same name replaces an imported one
  };
  // From rule files already in proto form. With `skipped` null any bad rule is an error;
  // otherwise (imported rules) bad rules are left out and listed there.
  static absl::StatusOr<std::unique_ptr<RuleSet>> FromRuleFiles(const std::vector<File>& files,
                                                                uint32_t match_limit,
                                                                std::vector<Skipped>* skipped,
                                                                const LoadOptions& options = {});
  // Adds SpamAssassin *.cf directories, imported leniently (see sa_import.h).
  static absl::StatusOr<std::unique_ptr<RuleSet>> Load(const std::vector<std::string>& dirs,
                                                       const std::vector<std::string>& sa_dirs,
                                                       uint32_t match_limit,
                                                       std::vector<Skipped>* skipped,
                                                       const LoadOptions& options = {});
  // Every *.yaml file of each directory, in name order.
  static absl::StatusOr<std::unique_ptr<RuleSet>> LoadDirs(const std::vector<std::string>& dirs,
                                                           uint32_t match_limit);

  struct Hit {
    const CompiledRule* rule;
    std::string option;  // what matched, shortened
  };
  // Runs the rules. `known(symbol)` is the value of symbols other checks found (GTUBE,
  // anomalies, ...), read by meta rules; meta rules see earlier rules' hits too. Sub-rules
  // ("__" names with no score) run only as far as meta rules read them, so their hits are
  // listed only then.
  // `off`, if given, has one entry per rule (see Mask): rules marked there do not run.
  // What one message's rules found so far, for RunLate.
  struct RunState {
    std::vector<double> value;
    std::vector<char> done;
    std::optional<double> bayes_probability;  // set before RunLate, when Bayes answered
    std::vector<std::vector<char>> maybe;     // per prefilter: the patterns that may match
    CheckCache checks;
    // Header values by slot, and parsed address fields: read once for both runs.
    std::vector<std::optional<std::vector<std::string>>> header_values;
    std::map<const mime::HeaderField*, std::vector<mime::Address>> addresses;
    std::optional<std::string> sa_body;  // SaBodyText, built when a rule first reads it
  };
  std::vector<Hit> Run(const mime::Message& msg,
                       const std::function<double(const std::string&)>& known,
                       const std::vector<char>* off = nullptr, RunState* state = nullptr) const;
  // The rules Run leaves out: those that read the symbols of checks made after it (SPF,
  // DKIM, DMARC, ARC, block lists, Bayes: see MarkLate), now that `known` has them. `state`
  // is the one Run filled for the same message.
  std::vector<Hit> RunLate(const mime::Message& msg,
                           const std::function<double(const std::string&)>& known,
                           const std::vector<char>* off, RunState* state) const;
  // Which symbols that no rule here makes come from checks made after Run (the scanner's
  // network checks, Bayes, ...): meta rules that read them, and the symbol() and bayes()
  // checks, wait for RunLate.
  void MarkLate(const std::function<bool(const std::string&)>& late_symbol);
  // One entry per rule, set for the rules named in `names`; names of no rule here are
  // returned in `unknown` (if given).
  std::vector<char> Mask(const std::vector<std::string>& names,
                         std::vector<std::string>* unknown = nullptr) const;

  // The total of scored symbols after group caps: a group's sum is held within its limits.
  double Total(const std::vector<std::pair<std::string, double>>& group_and_score) const;

  size_t size() const { return rules_.size(); }
  // Whether any rule waits for RunLate.
  bool has_late() const { return has_late_; }
  // The lists the rule files declare (the scanner runs them: they read the envelope).
  const std::vector<ListSet::Declared>& lists() const { return lists_; }
  // The block lists the rule files ask the network checks to query (imported ones).
  const std::vector<farside::v1::DnsblList>& dnsbl_lists() const { return dnsbl_lists_; }
  // How many regex rules a prefilter covers (the others run on every message).
  size_t prefiltered() const;
  const std::vector<CompiledRule>& rules() const { return rules_; }

 private:
  // One prefilter per text the rules read: body, rawbody, uri, full, each (header, part).
  struct Filter {
    CompiledRule::Kind kind;
    std::string header, part;          // header filters only
    bool mime_parts = false;
    std::vector<size_t> rules;         // pattern k of the prefilter is rules_[rules[k]]
    std::unique_ptr<Prefilter> prefilter;
  };
  void BuildPrefilters();
  std::vector<Hit> Evaluate(const mime::Message& msg,
                            const std::function<double(const std::string&)>& known,
                            const std::vector<char>* off, bool late, RunState& state) const;
  void BindMetaSymbols();
  void BindHeaderSlots();
  struct HeaderSlot {
    std::string name, part;
    bool mime_parts = false;
  };
  std::vector<HeaderSlot> header_slots_;

  std::vector<CompiledRule> rules_;  // regex rules first, then meta rules in dependency order
  // Every meta rule's expression nodes in one array, in rule order (a message evaluates
  // hundreds, so they are read in one sweep, not from hundreds of allocations); a symbol
  // node's slot is what meta_slots says of it, as an int32.
  std::vector<Expression::Flat> meta_pool_;
  // The rules each run starts, in order (Run: [0], RunLate: [1]): not the sub-rules, which
  // run when read. A message walks these, not every rule's flags.
  std::vector<uint32_t> run_order_[2];
  std::vector<Filter> filters_;
  std::vector<ListSet::Declared> lists_;
  std::vector<farside::v1::DnsblList> dnsbl_lists_;
  CheckData data_;  // what the checks read (free mail domains, address lists, ...)
  std::vector<std::string> external_;  // symbols meta rules read that no rule here makes
  std::map<std::string, farside::v1::RuleGroup> groups_;
  uint32_t match_limit_ = 100000;
  bool has_late_ = false;
  LoadOptions options_;
};

// The files of `dir` ending in `extension`, read in name order. `what` names the directory
// in errors ("rules directory").
absl::StatusOr<std::vector<RuleSet::Source>> ReadSources(const std::string& dir,
                                                         absl::string_view extension,
                                                         absl::string_view what);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_RULE_SET_H_
