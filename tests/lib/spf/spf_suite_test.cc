// The OpenSPF RFC 7208 test suite (../shared/vectors/spf/openspf-pyspf) run against our
// evaluator, with each scenario's zone data answering its DNS queries.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "lib/spf/spf.h"
#include "tests/support/paths.h"

namespace farside::spf {
namespace {

using dns::Answer;
using dns::Query;
using dns::Type;

using ::farside::testing::SharedDir;

std::string Norm(std::string d) {
  d = absl::AsciiStrToLower(d);
  while (!d.empty() && d.back() == '.') d.pop_back();
  return d;
}

// One scenario's zone data: records by name and type, names that time out.
struct Zone {
  std::map<std::string, std::map<std::string, std::vector<std::string>>> records;
  std::map<std::string, bool> timeout;
  std::map<std::string, bool> exists;

  explicit Zone(const YAML::Node& zonedata) {
    for (const auto& kv : zonedata) {
      const std::string name = Norm(kv.first.as<std::string>());
      exists[name] = true;
      // As the suite's own driver does: SPF records double as TXT unless the name has TXT
      // of its own (or "TXT: NONE").
      bool has_txt = false;
      std::vector<std::string> spf;
      for (const auto& rr : kv.second) {
        if (rr.IsScalar()) {
          if (rr.as<std::string>() == "TIMEOUT") timeout[name] = true;
          continue;
        }
        for (const auto& tv : rr) {
          const std::string type = tv.first.as<std::string>();
          const YAML::Node& v = tv.second;
          std::string value;
          if (type == "MX") {
            value = v[1].as<std::string>();
          } else if (v.IsSequence()) {
            std::vector<std::string> parts;
            for (const auto& p : v) parts.push_back(p.as<std::string>());
            value = absl::StrJoin(parts, "");
          } else {
            value = v.as<std::string>();
          }
          if (type == "TXT") {
            has_txt = true;
            if (value == "NONE") continue;
          }
          if (type == "SPF") {
            spf.push_back(value);
            continue;
          }
          records[name][type].push_back(value);
        }
      }
      if (!has_txt) {
        for (const std::string& s : spf) records[name]["TXT"].push_back(s);
      }
    }
  }

  Answer Lookup(const Query& q) const {
    static const char* kTypes[] = {"A", "AAAA", "TXT", "MX", "PTR"};
    const std::string type = kTypes[static_cast<int>(q.type)];
    std::string name = Norm(q.name);
    Answer a;
    for (int hop = 0; hop < 8; ++hop) {
      auto it = records.find(name);
      // As in the suite's driver, TIMEOUT holds for the types the name has no records of.
      if (timeout.count(name) && (it == records.end() || !it->second.count(type))) {
        a.status = Answer::Status::kTimeout;
        return a;
      }
      if (it == records.end()) {
        a.status = exists.count(name) ? Answer::Status::kNoData : Answer::Status::kNxDomain;
        return a;
      }
      if (auto t = it->second.find(type); t != it->second.end()) {
        a.status = Answer::Status::kOk;
        a.records = t->second;
        return a;
      }
      if (auto c = it->second.find("CNAME"); c != it->second.end()) {
        name = Norm(c->second[0]);
        continue;
      }
      a.status = Answer::Status::kNoData;
      return a;
    }
    a.status = Answer::Status::kError;  // a CNAME loop is a server failure
    a.error = "CNAME loop";
    return a;
  }
};

struct Tally {
  int total = 0, passed = 0;
  std::vector<std::string> failures;
};

Tally RunSuite(const std::string& path) {
  Tally t;
  for (const YAML::Node& doc : YAML::LoadAllFromFile(path)) {
    const Zone zone(doc["zonedata"]);
    LookupFn lookup = [&zone](const std::vector<Query>& qs) {
      std::vector<Answer> out;
      for (const Query& q : qs) out.push_back(zone.Lookup(q));
      return out;
    };
    for (const auto& kv : doc["tests"]) {
      const std::string name = kv.first.as<std::string>();
      const YAML::Node& c = kv.second;
      Request req;
      req.ip = c["host"].as<std::string>();
      req.mail_from = c["mailfrom"].as<std::string>("");
      req.helo = c["helo"].as<std::string>("");
      std::vector<std::string> want;
      if (c["result"].IsSequence()) {
        for (const auto& r : c["result"]) want.push_back(r.as<std::string>());
      } else {
        want.push_back(c["result"].as<std::string>());
      }
      const Outcome o = Check(req, lookup);
      const std::string got(ResultName(o.result));
      bool ok = std::find(want.begin(), want.end(), got) != want.end();
      std::string why = absl::StrCat("got ", got, ", want ", absl::StrJoin(want, " or "));
      if (ok && c["explanation"] && got == "fail") {
        const std::string exp = c["explanation"].as<std::string>();
        // DEFAULT: the record's own explanation does not apply, so we give none.
        const std::string want_exp = exp == "DEFAULT" ? "" : exp;
        if (o.explanation != want_exp) {
          ok = false;
          why = absl::StrCat("explanation '", o.explanation, "', want '", want_exp, "'");
        }
      }
      ++t.total;
      if (ok) {
        ++t.passed;
      } else {
        t.failures.push_back(absl::StrCat(name, " (", c["spec"].as<std::string>(""), "): ", why,
                                          o.problem.empty() ? "" : absl::StrCat(" [", o.problem, "]")));
      }
    }
  }
  return t;
}

TEST(SpfSuite, Rfc7208) {
  const std::string path = SharedDir() + "/vectors/spf/openspf-pyspf/rfc7208-tests.yml";
  ASSERT_TRUE(std::filesystem::exists(path))
      << "this test needs ../shared/vectors (the RFC 7208 suite), not found at " << path
      << "; set FARSIDE_SHARED_DIR to the shared folder";
  const Tally t = RunSuite(path);
  std::cout << "RFC 7208 suite: " << t.passed << " of " << t.total << " cases pass ("
            << absl::StrFormat("%.1f", 100.0 * t.passed / t.total) << "%)\n";
  for (const std::string& f : t.failures) std::cout << "  FAILED " << f << "\n";
  EXPECT_EQ(t.total, 203);
  EXPECT_GE(t.passed * 100, t.total * 98) << "below 98% of the suite";
}

}  // namespace
}  // namespace farside::spf
