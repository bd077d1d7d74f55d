// The CLI's argument parser.
#include "tools/farside/args.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace farside::cli {

absl::StatusOr<Args> ParseArgs(int argc, char** argv, const std::set<std::string>& with_value,
                               const std::set<std::string>& boolean) {
  Args out;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (options_done || a == "-" || !absl::StartsWith(a, "-")) {
      out.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "-h") a = "--help";
    if (!absl::StartsWith(a, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option '", a, "' (see --help)"));
    }
    std::string name = a.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (boolean.count(name)) {
      if (has_value) {
        return absl::InvalidArgumentError(absl::StrCat("option --", name, " takes no value"));
      }
      out.switches.insert(name);
    } else if (with_value.count(name)) {
      if (!has_value) {
        if (i + 1 >= argc) {
          return absl::InvalidArgumentError(absl::StrCat("option --", name, " needs a value"));
        }
        value = argv[++i];
      }
      out.values[name] = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown option '--", name, "' (see --help)"));
    }
  }
  return out;
}

}  // namespace farside::cli
