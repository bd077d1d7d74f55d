// The ARC test suite's validation cases (../shared/vectors/arc/valimail-arc_test_suite) run
// against our chain validation, each document's txt-records answering the key queries.
#include "lib/arc/arc.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/support/paths.h"

namespace farside::arc {
namespace {

using ::farside::testing::SharedDir;

TEST(ArcSuite, Validation) {
  const std::string path = SharedDir() + "/vectors/arc/valimail-arc_test_suite/tests/arc-draft-validation-tests.yml";
  ASSERT_TRUE(std::filesystem::exists(path)) << "this test needs ../shared/vectors (the ARC suite), not at " << path
                                             << "; set FARSIDE_SHARED_DIR";
  int total = 0, passed = 0, unspecified = 0;
  std::string failures;
  for (const YAML::Node& doc : YAML::LoadAllFromFile(path)) {
    std::map<std::string, std::string> records;
    for (const auto& r : doc["txt-records"]) {
      records[absl::AsciiStrToLower(r.first.as<std::string>())] = r.second.as<std::string>();
    }
    for (const auto& t : doc["tests"]) {
      const std::string name = t.first.as<std::string>();
      const std::string message = t.second["message"].as<std::string>("");
      const std::string cv = absl::AsciiStrToLower(t.second["cv"].as<std::string>(""));
      // Three cases (chains whose seal says cv=fail) give no expected result at all.
      if (cv.empty()) {
        ++unspecified;
        continue;
      }
      const Result want = cv == "pass" ? Result::kPass : cv == "fail" ? Result::kFail : Result::kNone;
      const Prepared p = Prepare(message);
      std::vector<dns::Answer> keys;
      for (const dns::Query& q : p.key_queries) {
        dns::Answer a;
        auto it = records.find(absl::AsciiStrToLower(q.name));
        a.status = it == records.end() ? dns::Answer::Status::kNxDomain : dns::Answer::Status::kOk;
        if (it != records.end()) a.records = {it->second};
        keys.push_back(a);
      }
      const Outcome o = Validate(p, keys);
      ++total;
      if (o.result == want) {
        ++passed;
      } else {
        absl::StrAppend(&failures, "  FAILED ", name, ": got ", ResultName(o.result), ", want ", ResultName(want),
                        o.reason.empty() ? "" : absl::StrCat(" (", o.reason, ")"), "\n");
      }
    }
  }
  std::cout << "ARC validation suite: " << passed << " of " << total << " pass ("
            << absl::StrFormat("%.1f", 100.0 * passed / total) << "%)\n" << failures;
  std::cout << "  (" << unspecified << " cases name no expected result and are not counted)\n";
  EXPECT_GE(total, 168);
  EXPECT_GE(passed * 100, total * 95) << failures;
}

// A real chain Google sealed (stalwart's vector: key lines, a blank line, the message).
TEST(ArcSuite, ARealGoogleChainValidates) {
  const std::string path = SharedDir() + "/vectors/arc/stalwart-mail-auth/arc/001.txt";
  ASSERT_TRUE(std::filesystem::exists(path)) << "this test needs ../shared/vectors; set FARSIDE_SHARED_DIR";
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  const size_t blank = text.find("\n\n");
  ASSERT_NE(blank, std::string::npos);
  std::map<std::string, std::string> records;
  for (absl::string_view line : absl::StrSplit(text.substr(0, blank), '\n')) {
    const size_t sp = line.find(' ');
    records[std::string(line.substr(0, sp))] = std::string(line.substr(sp + 1));
  }
  const Prepared p = Prepare(text.substr(blank + 2));
  std::vector<dns::Answer> keys;
  for (const dns::Query& q : p.key_queries) {
    dns::Answer a;
    a.status = records.count(q.name) ? dns::Answer::Status::kOk : dns::Answer::Status::kNxDomain;
    if (records.count(q.name)) a.records = {records[q.name]};
    keys.push_back(a);
  }
  const Outcome o = Validate(p, keys);
  EXPECT_EQ(o.result, Result::kPass) << o.reason;
  EXPECT_GE(o.instances, 1);
  // The same chain with its body changed fails at the newest message signature.
  std::string changed = text.substr(blank + 2);
  changed.insert(changed.find("\n\n") + 2, "X");
  const Outcome bad = Validate(Prepare(changed), keys);
  EXPECT_EQ(bad.result, Result::kFail);
}

}  // namespace
}  // namespace farside::arc
