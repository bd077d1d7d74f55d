// Command-line parsing for the farside CLI: global and command options in any order,
// "--name value" or "--name=value", boolean switches, "-" as a positional (stdin).
#ifndef FARSIDE_TOOLS_FARSIDE_ARGS_H_
#define FARSIDE_TOOLS_FARSIDE_ARGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace farside::cli {

struct Args {
  std::map<std::string, std::string> values;  // option name (without --) -> value
  std::set<std::string> switches;             // boolean options present
  std::vector<std::string> positional;

  std::string Get(const std::string& name, const std::string& fallback = "") const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
  bool Has(const std::string& name) const { return switches.count(name) > 0; }
};

// `with_value` lists the options that take a value, `boolean` the switches; anything else
// starting with "--" is an error naming it.
absl::StatusOr<Args> ParseArgs(int argc, char** argv, const std::set<std::string>& with_value,
                               const std::set<std::string>& boolean);

}  // namespace farside::cli

#endif  // FARSIDE_TOOLS_FARSIDE_ARGS_H_
