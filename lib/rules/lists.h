// Lists from files, each bound to a symbol (Rspamd's multimap): client IPs and networks,
// domains (with their subdomains), e-mail addresses, exact header values and regexes. An
// allow list is one with a negative score. Files are read again when they change (checked
// at most once a second, on the scan path); a file that no longer parses keeps the last
// good contents and the error is logged.
#ifndef FARSIDE_LIB_RULES_LISTS_H_
#define FARSIDE_LIB_RULES_LISTS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "farside/v1/config.pb.h"
#include "farside/v1/scanner.pb.h"
#include "lib/mime/message.h"

namespace farside::rules {

class ListSet {
 public:
  // `lists` as declared in rule files; a relative file name is taken from `base_dir` (the
  // directory of the rule file). Every file must exist and parse at start.
  struct Declared {
    farside::v1::ListRule list;
    std::string base_dir, rule_file;
  };
  static absl::StatusOr<std::unique_ptr<ListSet>> Create(const std::vector<Declared>& lists);

  struct Hit {
    std::string symbol, description, group, option;
    double score = 0;
    std::optional<farside::v1::Action> force_action;
  };
  std::vector<Hit> Run(const mime::Message& msg, const farside::v1::Envelope& env) const;
  size_t size() const { return lists_.size(); }

  // Reads changed files now (Run does this at most once a second).
  void ReloadChanged() const;

  struct Entries;  // a parsed file

 private:
  struct List {
    farside::v1::ListRule rule;
    std::string path;
    std::optional<farside::v1::Action> force_action;
    mutable absl::Mutex mu;
    mutable std::shared_ptr<const Entries> entries ABSL_GUARDED_BY(mu);
    mutable int64_t mtime_ns ABSL_GUARDED_BY(mu) = 0;
    mutable int64_t size ABSL_GUARDED_BY(mu) = -1;
  };
  std::vector<std::unique_ptr<List>> lists_;
  mutable absl::Mutex check_mu_;
  mutable absl::Time last_check_ ABSL_GUARDED_BY(check_mu_);
};

// Parses one list file of the given type ("ip", "domain", "email", "header", "regex"):
// one entry per line, '#' starts a comment. Errors name the line.
absl::StatusOr<std::shared_ptr<const ListSet::Entries>> ParseListFile(absl::string_view type,
                                                                      absl::string_view text,
                                                                      const std::string& path);
// Whether `value` is on the parsed list (for ip lists, an address; for domains, a host
// name whose suffix may be listed; for regex lists, any text).
std::optional<std::string> ListMatch(const ListSet::Entries& e, absl::string_view value);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_LISTS_H_
