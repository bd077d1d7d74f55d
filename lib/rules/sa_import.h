// SpamAssassin compatibility: reads SpamAssassin .cf rule files (header, body, rawbody,
// uri, full, meta, score, describe, tflags, priority, ifplugin/if/else/endif) into
// Farside rules, and reports what it left out and why (eval: rules without a native
// check, pseudo-headers Farside does not have, patterns PCRE2 refuses).
#ifndef FARSIDE_LIB_RULES_SA_IMPORT_H_
#define FARSIDE_LIB_RULES_SA_IMPORT_H_

#include <map>
#include <string>
#include <vector>

#include "farside/v1/config.pb.h"
#include "lib/rules/rule_set.h"

namespace farside::rules {

struct SaImport {
  farside::v1::RuleFile rules;
  struct Count {
    int loaded = 0;
    int skipped = 0;
    int disabled = 0;  // of the loaded: switched off by a zero score, as SpamAssassin does
  };
  std::map<std::string, Count> by_type;  // header, body, rawbody, uri, full, meta, ...
  std::vector<RuleSet::Skipped> skipped;
  int loaded() const;
  int skipped_count() const;
  int disabled_count() const;
};

// Imports the given .cf files (in the order given: later definitions override earlier ones,
// as in SpamAssassin). Rules whose patterns do not compile are moved to `skipped` too.
SaImport ImportSpamAssassin(const std::vector<RuleSet::Source>& cf_files, uint32_t match_limit);

// Every *.cf file of `dir`, in name order (the order SpamAssassin reads them).
absl::StatusOr<std::vector<RuleSet::Source>> ReadCfDir(const std::string& dir);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_SA_IMPORT_H_
