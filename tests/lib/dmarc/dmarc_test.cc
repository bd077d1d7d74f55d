// DMARC records (OpenDMARC's parse table), alignment (its alignment table), organisational
// domains (the Public Suffix List's own checks) and policy evaluation.
#include "lib/dmarc/dmarc.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/paths.h"

namespace farside::dmarc {
namespace {

using ::farside::testing::SharedDir;

dns::Answer Txt(std::vector<std::string> records) {
  dns::Answer a;
  a.status = dns::Answer::Status::kOk;
  a.records = std::move(records);
  return a;
}
dns::Answer Status(dns::Answer::Status s) {
  dns::Answer a;
  a.status = s;
  return a;
}

TEST(DmarcVectors, OpendmarcParseAndAlignmentTables) {
  const std::string path = SharedDir() + "/vectors/dmarc/opendmarc-unit-cases.json";
  ASSERT_TRUE(std::filesystem::exists(path)) << "this test needs ../shared/vectors; set FARSIDE_SHARED_DIR";
  const YAML::Node d = YAML::LoadFile(path);  // JSON is YAML
  int n = 0;
  for (const auto& c : d["record_parse"]) {
    const std::string rec = c["record"].as<std::string>();
    const bool want_ok = c["expect"].as<std::string>() == "ok";
    // OpenDMARC takes "p=n" as a prefix of none; RFC 7489's grammar does not, nor do we.
    if (rec == "v=DMARC1; p=n;") {
      EXPECT_FALSE(ParseRecord(rec).ok());
      continue;
    }
    EXPECT_EQ(ParseRecord(rec).ok(), want_ok) << rec;
    ++n;
  }
  EXPECT_EQ(n, 18);
  for (const auto& c : d["alignment"]) {
    EXPECT_EQ(Aligned(c["domain_a"].as<std::string>(), c["domain_b"].as<std::string>(),
                      c["mode"].as<std::string>() == "strict"),
              c["aligned"].as<bool>())
        << c["domain_a"].as<std::string>() << " ~ " << c["domain_b"].as<std::string>();
  }
}

// The PSL's test_psl.txt, run against the list this machine has (Debian's publicsuffix).
TEST(DmarcVectors, OrganisationalDomainsByThePslChecks) {
  const std::string path = SharedDir() + "/vectors/psl/tests/test_psl.txt";
  ASSERT_TRUE(std::filesystem::exists(path)) << "this test needs ../shared/vectors; set FARSIDE_SHARED_DIR";
  std::ifstream f(path);
  const std::regex check(R"(checkPublicSuffix\((null|'([^']*)'), (null|'([^']*)')\);)");
  std::string line;
  int total = 0, passed = 0;
  std::string failures;
  while (std::getline(f, line)) {
    std::smatch m;
    if (line.rfind("checkPublicSuffix", 0) != 0) continue;  // "//" lines are comments, or cases left out
    if (!std::regex_search(line, m, check) || m[1] == "null") continue;
    const std::string in = m[2], want = m[3] == "null" ? "" : std::string(m[4]);
    // Leading dots and IDN (non-ASCII) input are the caller's to clean; mail domains reach
    // us lower-cased and in punycode.
    if (!in.empty() && in[0] == '.') continue;
    bool ascii = true;
    for (unsigned char c : in) ascii &= c < 0x80;
    if (!ascii) continue;
    ++total;
    const std::string got = OrgDomain(in);
    if (got == want) {
      ++passed;
    } else {
      absl::StrAppend(&failures, in, " -> '", got, "' want '", want, "'\n");
    }
  }
  std::cout << "PSL checks: " << passed << " of " << total << "\n" << failures;
  EXPECT_GE(total, 50);
  EXPECT_EQ(passed, total) << failures;
}

TEST(Dmarc, PolicyAndAlignment) {
  const std::vector<dns::Query> q = Queries("mail.example.co.uk");
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].name, "_dmarc.mail.example.co.uk");
  EXPECT_EQ(q[1].name, "_dmarc.example.co.uk");
  EXPECT_EQ(Queries("example.com").size(), 1u);

  const dns::Answer reject = Txt({"v=DMARC1; p=reject; sp=quarantine; adkim=s; rua=mailto:d@example.com"});
  Input in;
  in.from_domain = "example.com";
  Outcome o = Evaluate(in, {reject});
  EXPECT_EQ(o.result, Result::kFail);
  EXPECT_EQ(o.policy, Policy::kReject);
  EXPECT_EQ(o.record_domain, "example.com");

  in.spf_domain = "bounce.example.com";  // relaxed SPF alignment
  o = Evaluate(in, {reject});
  EXPECT_EQ(o.result, Result::kPass);
  EXPECT_TRUE(o.spf_aligned);
  in.spf_domain.clear();
  in.dkim_domains = {"mail.example.com"};  // adkim=s: a subdomain does not align
  EXPECT_EQ(Evaluate(in, {reject}).result, Result::kFail);
  in.dkim_domains = {"other.test", "example.com"};
  EXPECT_EQ(Evaluate(in, {reject}).result, Result::kPass);

  // A subdomain with no record of its own gets the organisation's sp=.
  Input sub;
  sub.from_domain = "news.example.com";
  o = Evaluate(sub, {Status(dns::Answer::Status::kNxDomain), reject});
  EXPECT_EQ(o.result, Result::kFail);
  EXPECT_EQ(o.policy, Policy::kQuarantine);
  EXPECT_EQ(o.record_domain, "example.com");

  // pct: messages outside the sample get the next milder policy.
  const dns::Answer half = Txt({"v=DMARC1; p=reject; pct=50"});
  in.dkim_domains.clear();
  in.sample = 10;
  EXPECT_EQ(Evaluate(in, {half}).policy, Policy::kReject);
  in.sample = 70;
  EXPECT_EQ(Evaluate(in, {half}).policy, Policy::kQuarantine);

  EXPECT_EQ(Evaluate(in, {Status(dns::Answer::Status::kNxDomain)}).result, Result::kNone);
  EXPECT_EQ(Evaluate(in, {Txt({"v=spf1 -all"})}).result, Result::kNone);
  EXPECT_EQ(Evaluate(in, {Status(dns::Answer::Status::kTimeout)}).result, Result::kTempError);
  EXPECT_EQ(Evaluate(in, {Txt({"v=DMARC1; p=bogus"})}).result, Result::kPermError);
  // Two records are no record (section 6.6.3).
  EXPECT_EQ(Evaluate(in, {Txt({"v=DMARC1; p=reject", "v=DMARC1; p=none"})}).result, Result::kNone);
}

}  // namespace
}  // namespace farside::dmarc
