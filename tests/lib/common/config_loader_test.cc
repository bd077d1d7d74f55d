// The YAML loader: defaults from the schema, overlays, and errors that name file, line and key.
#include "lib/common/config_loader.h"

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace farside::config {
namespace {

using ::testing::HasSubstr;
using google::protobuf::util::TimeUtil;

farside::v1::Config Defaults() {
  farside::v1::Config c;
  ApplyDefaults(&c);
  return c;
}

TEST(ConfigDefaults, EveryServiceHasItsDocumentedDefaults) {
  farside::v1::Config c = Defaults();
  EXPECT_EQ(c.scanner().listen(), "127.0.0.1:11433");
  EXPECT_EQ(c.scanner().metrics_listen(), "127.0.0.1:11533");
  EXPECT_EQ(c.controller().listen(), "127.0.0.1:11434");
  EXPECT_EQ(c.controller().http_listen(), "127.0.0.1:11480");
  EXPECT_EQ(c.controller().metrics_listen(), "127.0.0.1:11534");
  EXPECT_EQ(c.proxy().milter_listen(), "127.0.0.1:11432");
  EXPECT_EQ(c.proxy().smtp_listen(), "127.0.0.1:11425");
  EXPECT_EQ(c.proxy().metrics_listen(), "127.0.0.1:11532");
  ASSERT_EQ(c.proxy().scanners_size(), 1);
  EXPECT_EQ(c.proxy().fail_policy(), farside::v1::FAIL_POLICY_TEMPFAIL);
  EXPECT_DOUBLE_EQ(c.scanner().actions().reject(), 15);
  EXPECT_DOUBLE_EQ(c.scanner().actions().add_header(), 6);
  EXPECT_DOUBLE_EQ(c.scanner().actions().greylist(), 4);
  EXPECT_DOUBLE_EQ(c.scanner().actions().rewrite_subject(), 8);
  EXPECT_FALSE(c.scanner().actions().has_soft_reject());
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(c.scanner().controller_timeout()), 250);
  EXPECT_EQ(c.scanner().headers().subject_prefix(), "*** SPAM *** ");
  EXPECT_TRUE(c.scanner().gtube().enabled());
  EXPECT_EQ(c.logging().level(), "info");
}

TEST(ConfigMerge, OverlaysOnlyWhatTheFileSays) {
  farside::v1::Config c = Defaults();
  ASSERT_TRUE(MergeYaml(R"(
scanner:
  listen: 0.0.0.0:1433
  actions:
    reject: 20
    greylist: null      # switched off
  drain_timeout: 1m30s
proxy:
  scanners: [a:1, b:2]
  fail_policy: accept
)",
                        "t.yaml", &c)
                  .ok());
  EXPECT_EQ(c.scanner().listen(), "0.0.0.0:1433");
  EXPECT_DOUBLE_EQ(c.scanner().actions().reject(), 20);
  EXPECT_DOUBLE_EQ(c.scanner().actions().add_header(), 6) << "untouched default";
  EXPECT_FALSE(c.scanner().actions().has_greylist());
  EXPECT_EQ(TimeUtil::DurationToSeconds(c.scanner().drain_timeout()), 90);
  ASSERT_EQ(c.proxy().scanners_size(), 2);
  EXPECT_EQ(c.proxy().scanners(1), "b:2");
  EXPECT_EQ(c.proxy().fail_policy(), farside::v1::FAIL_POLICY_ACCEPT);
  EXPECT_EQ(c.controller().listen(), "127.0.0.1:11434");
}

TEST(ConfigMerge, ExplicitZeroOverridesANonZeroDefault) {
  farside::v1::Config c = Defaults();
  ASSERT_TRUE(MergeYaml("scanner:\n  actions:\n    reject: 0\n", "t", &c).ok());
  EXPECT_TRUE(c.scanner().actions().has_reject());
  EXPECT_DOUBLE_EQ(c.scanner().actions().reject(), 0);
}

struct BadCase {
  const char* yaml;
  const char* want;
};

class ConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigErrors, NameTheKeyAndLine) {
  farside::v1::Config c = Defaults();
  absl::Status s = MergeYaml(GetParam().yaml, "farside.yaml", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(GetParam().want));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigErrors,
    ::testing::Values(
        BadCase{"scanner:\n  actions:\n    rejct: 1\n",
                "farside.yaml:3:5: scanner.actions.rejct: unknown key"},
        BadCase{"scaner:\n  listen: x\n", "farside.yaml:1:1: scaner: unknown key"},
        BadCase{"scanner:\n  actions:\n    reject: high\n",
                "scanner.actions.reject: expected a number, got 'high'"},
        BadCase{"scanner:\n  max_pending_records: -3\n",
                "scanner.max_pending_records: expected a non-negative integer"},
        BadCase{"scanner:\n  gtube:\n    enabled: maybe\n",
                "scanner.gtube.enabled: expected true or false"},
        BadCase{"scanner:\n  drain_timeout: 10\n", "expected a duration such as 300ms"},
        BadCase{"proxy:\n  fail_policy: sometimes\n",
                "proxy.fail_policy: unknown value 'sometimes' (one of: tempfail, accept, reject)"},
        BadCase{"proxy:\n  scanners: a:1\n", "proxy.scanners: expected a list"},
        BadCase{"scanner:\n  listen: [a, b]\n", "scanner.listen: expected a single value"},
        BadCase{"scanner: 5\n", "scanner: expected a mapping"},
        BadCase{"scanner:\n  listen: a\n  listen: b\n", "scanner.listen: duplicate key"},
        BadCase{"scanner: {listen: [\n", "YAML syntax error"},
        BadCase{"- just\n- a list\n", "expected a mapping"}));

TEST(ConfigSetPath, FlagsOverrideFieldsByPath) {
  farside::v1::Config c = Defaults();
  ASSERT_TRUE(SetPath(&c, "controller.redis.address", "127.0.0.1:7000").ok());
  EXPECT_EQ(c.controller().redis().address(), "127.0.0.1:7000");
  ASSERT_TRUE(SetPath(&c, "proxy.scanners", "a:1, b:2,c:3").ok());
  EXPECT_EQ(c.proxy().scanners_size(), 3);
  EXPECT_EQ(c.proxy().scanners(2), "c:3");
  EXPECT_THAT(std::string(SetPath(&c, "proxy.nope", "x").message()), HasSubstr("proxy.nope"));
  EXPECT_FALSE(SetPath(&c, "proxy.scanners.x", "1").ok());
}

TEST(ConfigLoad, MissingFileIsNotFound) {
  absl::StatusOr<farside::v1::Config> c = LoadConfig("/nonexistent/farside.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("/nonexistent/farside.yaml"));
}

TEST(ConfigLoad, NoPathMeansDefaults) {
  absl::StatusOr<farside::v1::Config> c = LoadConfig("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->scanner().listen(), "127.0.0.1:11433");
}

}  // namespace
}  // namespace farside::config
