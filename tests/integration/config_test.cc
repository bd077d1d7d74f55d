// Start-up with bad configuration: each service refuses to start, naming the key, and a
// --config that names a missing file is an error rather than a silent default.
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace farside::testing {
namespace {

struct ServiceCase {
  std::string binary;
  std::string section;
};

class BadConfigTest : public ::testing::TestWithParam<ServiceCase> {
 protected:
  std::string Write(const std::string& text) {
    std::string path = TempDir("cfg") + "/farside.yaml";
    std::ofstream(path) << text;
    return path;
  }
  CommandResult Start(const std::string& config) {
    // A valid config would start the server and block; Run's timeout bounds that case.
    return RunCommand({Binary(GetParam().binary), "--config", config}, absl::Seconds(10));
  }
};

TEST_P(BadConfigTest, UnknownKeyIsNamedWithItsPath) {
  const std::string s = GetParam().section;
  CommandResult r = Start(Write(absl::StrCat("logging:\n  level: info\n", s,
                                             ":\n  drain_timeout: 5s\n  drian_timeout: 5s\n")));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, absl::StrCat(s, ".drian_timeout"))) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "unknown key")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "farside.yaml:5:")) << "line of the key: " << r.err;
}

TEST_P(BadConfigTest, MistypedValueIsNamedWithItsPath) {
  const std::string s = GetParam().section;
  CommandResult r = Start(Write(absl::StrCat(s, ":\n  drain_timeout: soon\n")));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, absl::StrCat(s, ".drain_timeout"))) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "expected a duration")) << r.err;
}

TEST_P(BadConfigTest, MissingConfigFileIsAnError) {
  CommandResult r = Start("/nonexistent/farside.yaml");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "cannot read '/nonexistent/farside.yaml'")) << r.err;
}

INSTANTIATE_TEST_SUITE_P(AllServices, BadConfigTest,
                         ::testing::Values(ServiceCase{"farside-scanner", "scanner"},
                                           ServiceCase{"farside-controller", "controller"},
                                           ServiceCase{"farside-proxy", "proxy"}),
                         [](const auto& p) { return p.param.section; });

TEST(ConfigCheck, ScannerRejectsAMistypedThreshold) {
  std::string path = TempDir("cfg") + "/farside.yaml";
  std::ofstream(path) << "scanner:\n  actions:\n    reject: lots\n";
  CommandResult r = RunCommand({Binary("farside-scanner"), "--config", path}, absl::Seconds(10));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "scanner.actions.reject: expected a number, got 'lots'"))
      << r.err;
}

TEST(ConfigCheck, ShippedExampleLoadsAndCliPrintsTheEffectiveConfig) {
  CommandResult r = RunCommand({Binary("farside"), "config", SourcePath("farside.yaml")},
                        absl::Seconds(10));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "\"reject\": 15")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\"listen\": \"127.0.0.1:11433\"")) << r.out;

  std::string bad = TempDir("cfg") + "/bad.yaml";
  std::ofstream(bad) << "proxy:\n  fail_policy: maybe\n";
  CommandResult b = RunCommand({Binary("farside"), "config", bad}, absl::Seconds(10));
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(b.err, "proxy.fail_policy: unknown value 'maybe'")) << b.err;
}

TEST(ConfigCheck, ABrokenRuleFileStopsTheScannerNamingFileAndRule) {
  std::string dir = TempDir("rules");
  std::ofstream(dir + "/10-bad.yaml") << "rules:\n  - {name: BROKEN_RULE, body: '(unclosed'}\n";
  CommandResult r = RunCommand({Binary("farside-scanner"), "--rules_dir", dir}, absl::Seconds(10));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "10-bad.yaml: rule BROKEN_RULE: bad regex")) << r.err;
  CommandResult missing = RunCommand({Binary("farside-scanner"), "--rules_dir", "/nonexistent"},
                                     absl::Seconds(10));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(missing.err, "rules directory '/nonexistent' does not exist"))
      << missing.err;
}

TEST(CliRules, ImportCountsLoadedAndSkippedByTypeAndSaysWhy) {
  CommandResult r = RunCommand(
      {Binary("farside"), "rules", "import", SourcePath("tests/data/sa"), "--json", "--verbose"},
      absl::Seconds(10));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &json).ok()) << r.out;
  const auto& f = json.fields();
  EXPECT_EQ(f.at("loaded").number_value(), 5);
  EXPECT_EQ(f.at("skipped").number_value(), 2);
  const auto& by = f.at("by_type").struct_value().fields();
  EXPECT_EQ(by.at("header").struct_value().fields().at("loaded").number_value(), 2);
  EXPECT_EQ(by.at("header").struct_value().fields().at("skipped").number_value(), 1);
  EXPECT_EQ(by.at("meta").struct_value().fields().at("loaded").number_value(), 1);
  EXPECT_TRUE(absl::StrContains(r.out, "eval: check_razor2")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "bad regex")) << r.out;

  CommandResult text = RunCommand({Binary("farside"), "rules", "import", SourcePath("tests/data/sa")},
                                  absl::Seconds(10));
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(text.out, "7 rules: 5 loaded, 2 skipped")) << text.out;
}

TEST(CliParse, JsonModelOfAMessageNeedsNoServer) {
  CommandResult r = RunCommand({Binary("farside"), "parse", "--json",
                                SourcePath("tests/data/gtube.eml")},
                               absl::Seconds(10));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &json).ok()) << r.out;
  const auto& f = json.fields();
  EXPECT_EQ(f.at("subject").string_value(), "Farside chain test (GTUBE)");
  ASSERT_EQ(f.at("parts").list_value().values_size(), 1);
  const auto& part = f.at("parts").list_value().values(0).struct_value().fields();
  EXPECT_EQ(part.at("content_type").string_value(), "text/plain");
  EXPECT_EQ(part.at("charset").string_value(), "us-ascii");
  EXPECT_TRUE(part.at("filename").has_null_value());
  for (const char* key : {"headers", "urls", "emails", "attachments", "anomalies"}) {
    EXPECT_TRUE(f.at(key).has_list_value()) << key;
  }

  CommandResult text = RunCommand({Binary("farside"), "parse", SourcePath("tests/data/plain.eml")},
                                  absl::Seconds(10));
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(text.out, "subject: Minutes of Tuesday's meeting")) << text.out;

  CommandResult missing = RunCommand({Binary("farside"), "parse", "/nonexistent.eml"},
                                     absl::Seconds(10));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(missing.err, "cannot read '/nonexistent.eml'")) << missing.err;
}

}  // namespace
}  // namespace farside::testing
