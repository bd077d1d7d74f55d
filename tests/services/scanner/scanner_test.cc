// The scan pipeline without gRPC in front: GTUBE and its variants, thresholds and replies
// from config, header changes, and a scan that goes on when the controller is away.
#include "services/scanner/scanner.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "lib/common/config_loader.h"
#include "services/scanner/grpc_state_client.h"

namespace farside::scanner {
namespace {

const std::string kTail = "JS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

class ScannerTest : public ::testing::Test {
 protected:
  void Make(const std::string& yaml = "") {
    farside::v1::Config cfg;
    config::ApplyDefaults(&cfg);
    ASSERT_TRUE(config::MergeYaml(yaml, "test", &cfg).ok());
    // Compiled prefilters go to the test's own directory, not /var/cache/farside.
    cfg.mutable_scanner()->mutable_rules()->set_cache_dir(::testing::TempDir() + "/prefilters");
    // Port 1 on loopback: nothing listens, so the state call fails at once, for real.
    state_ = std::make_unique<GrpcStateClient>(
        GrpcStateClient::Options{.target = "127.0.0.1:1", .flush_interval = absl::Hours(1)},
        &metrics_);
    auto s = Scanner::Create(cfg.scanner(), state_.get(), &metrics_);
    ASSERT_TRUE(s.ok()) << s.status();
    scanner_ = std::move(*s);
  }
  farside::v1::ScanResult Scan(const std::string& message) {
    farside::v1::ScanRequest req;
    req.set_message(message);
    req.mutable_envelope()->set_queue_id("Q1");
    auto r = scanner_->Scan(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : farside::v1::ScanResult();
  }
  const farside::v1::HeaderChange* Change(const farside::v1::ScanResult& r,
                                          const std::string& name) {
    for (const auto& h : r.header_changes()) {
      if (h.name() == name) return &h;
    }
    return nullptr;
  }

  telemetry::ServiceMetrics metrics_{"scanner"};
  std::unique_ptr<GrpcStateClient> state_;
  std::unique_ptr<Scanner> scanner_;
};

TEST_F(ScannerTest, GtubeRejectsWithTheConfiguredReply) {
  Make();
  auto r = Scan("Subject: t\nMessage-ID: <m1@x.test>\n\nX" + kTail + "\n");
  EXPECT_EQ(r.action(), farside::v1::REJECT);
  ASSERT_EQ(r.symbols_size(), 1);
  EXPECT_EQ(r.symbols(0).name(), "GTUBE");
  EXPECT_FALSE(r.symbols(0).description().empty());
  EXPECT_EQ(r.forced_by(), "GTUBE");
  EXPECT_EQ(r.smtp_reply().code(), 550u);
  EXPECT_EQ(r.smtp_reply().enhanced_code(), "5.7.1");
  EXPECT_EQ(r.message_id(), "m1@x.test");
  EXPECT_EQ(r.queue_id(), "Q1");
  EXPECT_EQ(r.header_changes_size(), 0) << "refused mail gets no headers";
  EXPECT_TRUE(r.has_scan_time());
}

TEST_F(ScannerTest, PlainMailIsNoActionAndTheControllerIsReportedSkipped) {
  Make();
  auto r = Scan("Subject: hello\n\nJust a note.\n");
  EXPECT_EQ(r.action(), farside::v1::NO_ACTION);
  EXPECT_EQ(r.symbols_size(), 0);
  EXPECT_EQ(r.smtp_reply().code(), 0u);
  // SPF needs the client's address, which this envelope lacks; DMARC a From domain, which
  // the message lacks; the controller is away.
  ASSERT_EQ(r.skipped_size(), 3);
  EXPECT_EQ(r.skipped(0).check(), "spf");
  EXPECT_EQ(r.skipped(1).check(), "dmarc");
  EXPECT_EQ(r.skipped(2).check(), "controller");
  EXPECT_TRUE(absl::StrContains(r.skipped(2).reason(), "127.0.0.1:1")) << r.skipped(2).reason();
  EXPECT_EQ(state_->pending(), 1u) << "the record waits for the controller";
}

TEST_F(ScannerTest, CleanMailSaysItWasScannedUnlessSwitchedOff) {
  Make();
  auto r = Scan("Subject: hello\n\nJust a note.\n");
  ASSERT_NE(Change(r, "X-Spam-Status"), nullptr);
  EXPECT_EQ(Change(r, "X-Spam-Status")->value(), "No, score=0.00 required=6.00");
  ASSERT_NE(Change(r, "X-Spam-Score"), nullptr);
  EXPECT_EQ(Change(r, "X-Spam-Flag"), nullptr) << "the flag is for spam only";
  Make("scanner:\n  headers:\n    ham_headers: false\n");
  r = Scan("Subject: hello\n\nJust a note.\n");
  EXPECT_EQ(Change(r, "X-Spam-Status"), nullptr);
}

TEST_F(ScannerTest, ThresholdsAndRepliesComeFromConfig) {
  Make("scanner:\n  replies:\n    reject: \"554 5.7.0 Go away\"\n  actions:\n    reject: 20\n");
  auto r = Scan("Subject: t\n\nX" + kTail + "\n");
  EXPECT_EQ(r.smtp_reply().code(), 554u);
  EXPECT_EQ(r.smtp_reply().text(), "Go away");
  EXPECT_DOUBLE_EQ(r.thresholds().reject(), 20);
  EXPECT_DOUBLE_EQ(r.thresholds().add_header(), 6);
}

TEST_F(ScannerTest, AddHeaderVariantAddsSpamHeadersAndDropsForgedOnes) {
  Make();
  auto r = Scan("Subject: t\nX-Spam-Flag: NO\n\nY" + kTail + "\n");
  EXPECT_EQ(r.action(), farside::v1::ADD_HEADER);
  ASSERT_GE(r.header_changes_size(), 2);
  EXPECT_EQ(r.header_changes(0).op(), farside::v1::HeaderChange::OP_REMOVE);
  EXPECT_EQ(r.header_changes(0).name(), "X-Spam-Flag");
  const auto* flag = Change(r, "X-Spam-Status");
  ASSERT_NE(flag, nullptr);
  EXPECT_EQ(flag->value(), "Yes, score=0.00 required=6.00");
  ASSERT_NE(Change(r, "X-Spam-Symbols"), nullptr);
  EXPECT_EQ(Change(r, "X-Spam-Symbols")->value(), "GTUBE");
}

TEST_F(ScannerTest, RewriteSubjectVariantPrefixesTheSubject) {
  Make();
  auto r = Scan("Subject: Cheap\n  watches\n\nZ" + kTail + "\n");
  EXPECT_EQ(r.action(), farside::v1::REWRITE_SUBJECT);
  const auto* subj = Change(r, "Subject");
  ASSERT_NE(subj, nullptr);
  EXPECT_EQ(subj->op(), farside::v1::HeaderChange::OP_CHANGE);
  // Unfolding removes only the line break (RFC 5322 2.2.3); the raw value is kept.
  EXPECT_EQ(subj->value(), "*** SPAM *** Cheap  watches");
}

TEST_F(ScannerTest, EightBitMailGivesAResultThatCrossesGrpc) {
  // A Latin-1 subject with no encoded-word, and a rule whose matched text is 8-bit: proto3
  // refuses invalid UTF-8 in strings, so the result must hold none.
  Make();
  auto r = Scan("Subject: Caf\xe9 cheap\n\nZ" + kTail + "\n");
  EXPECT_EQ(r.action(), farside::v1::REWRITE_SUBJECT);
  std::string wire;
  ASSERT_TRUE(r.SerializeToString(&wire));
  farside::v1::ScanResult back;
  EXPECT_TRUE(back.ParseFromString(wire)) << "the proxy could not read this result";
  const auto* subj = Change(r, "Subject");
  ASSERT_NE(subj, nullptr);
  EXPECT_TRUE(absl::StartsWith(subj->value(), "*** SPAM *** =?UTF-8?B?")) << subj->value();
}

TEST_F(ScannerTest, GtubeIsFoundInDecodedTextAndAnomaliesBecomeSymbols) {
  Make();
  // The GTUBE string base64-encoded in the second part of a multipart without MIME-Version.
  std::string b64 =
      "WEpTKkM0SkRCUUFETjEuTlNCTjMqMklETkVOKkdUVUJFLVNUQU5EQVJELUFOVEktVUJFLVRFU1QtRU1BSUwqQy4zNFg=";
  auto r = Scan("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nhello\n--b\n"
                "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n" + b64 +
                "\n--b--\n");
  EXPECT_EQ(r.action(), farside::v1::REJECT);
  bool anomaly = false;
  for (const auto& s : r.symbols()) anomaly |= s.name() == "MIME_MULTIPART_WITHOUT_MIME_VERSION";
  EXPECT_TRUE(anomaly);
}

TEST_F(ScannerTest, GtubeCanBeSwitchedOff) {
  Make("scanner:\n  gtube:\n    enabled: false\n");
  EXPECT_EQ(Scan("Subject: t\n\nX" + kTail + "\n").action(), farside::v1::NO_ACTION);
}

TEST_F(ScannerTest, RequestsItCannotTakeAreInvalidArgument) {
  Make("scanner:\n  max_message_bytes: 10\n");
  farside::v1::ScanRequest empty;
  EXPECT_EQ(scanner_->Scan(empty).status().code(), absl::StatusCode::kInvalidArgument);
  farside::v1::ScanRequest big;
  big.set_message("Subject: this is longer than ten bytes\n\n");
  auto r = scanner_->Scan(big);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "max_message_bytes"));
}

TEST_F(ScannerTest, MalformedMailIsScoredNotRefused) {
  Make();
  for (std::string junk : {std::string("\0\0\0", 3), std::string("\n\n\n"),
                           std::string(": no name\n\n"), std::string(100000, '\xff')}) {
    farside::v1::ScanRequest req;
    req.set_message(junk);
    auto r = scanner_->Scan(req);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->action(), farside::v1::NO_ACTION);
  }
}

TEST(ScannerCreate, ABadReplyInConfigIsAnErrorNamingTheKey) {
  farside::v1::Config cfg;
  config::ApplyDefaults(&cfg);
  cfg.mutable_scanner()->mutable_replies()->set_greylist("later please");
  telemetry::ServiceMetrics metrics("scanner");
  GrpcStateClient state({.target = "127.0.0.1:1", .flush_interval = absl::Hours(1)}, &metrics);
  auto s = Scanner::Create(cfg.scanner(), &state, &metrics);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.status().message(), "scanner.replies.greylist"));
}

TEST(ScannerCreate, ABayesTokenBudgetOutOfRangeIsAnErrorNamingTheKey) {
  telemetry::ServiceMetrics metrics("scanner");
  GrpcStateClient state({.target = "127.0.0.1:1", .flush_interval = absl::Hours(1)}, &metrics);
  for (uint32_t n : {0u, 100001u, 4000000000u}) {
    farside::v1::Config cfg;
    config::ApplyDefaults(&cfg);
    cfg.mutable_scanner()->mutable_bayes()->set_max_tokens(n);
    auto s = Scanner::Create(cfg.scanner(), &state, &metrics);
    ASSERT_FALSE(s.ok()) << n;
    EXPECT_TRUE(absl::StrContains(s.status().message(), "scanner.bayes.max_tokens")) << s.status();
  }
  farside::v1::Config cfg;
  config::ApplyDefaults(&cfg);
  cfg.mutable_scanner()->mutable_bayes()->set_max_tokens(100000);
  EXPECT_TRUE(Scanner::Create(cfg.scanner(), &state, &metrics).ok());
}

TEST_F(ScannerTest, DefaultThresholdsAndSettingsProfiles) {
  const std::string dir = ::testing::TempDir() + "/profile_rules";
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir + "/r.yaml");
    f << "rules:\n"
         "  - {name: CHEAP, body: 'cheap', score: 5}\n"
         "  - {name: PILLS, body: 'pills', score: 4}\n"
         "  - {name: BOTH, meta: 'CHEAP && PILLS', score: 0.5}\n";
  }
  Make("scanner:\n  rules: {dirs: ['" + dir + "']}\n"
       "  profiles:\n"
       "    - name: outbound\n"
       "      actions: {add_header: 3, reject: 9}\n"
       "      disabled_symbols: [PILLS]\n"
       "      scores: [{symbol: CHEAP, score: 9.5}]\n");
  const std::string m = "Subject: t\nMessage-ID: <p@x.test>\n\ncheap pills\n";
  // Default profile: 9.5 points, between rewrite_subject (8) and reject (15).
  auto r = Scan(m);
  EXPECT_EQ(r.settings_profile(), "default");
  EXPECT_DOUBLE_EQ(r.score(), 9.5);
  EXPECT_EQ(r.action(), farside::v1::REWRITE_SUBJECT);
  EXPECT_DOUBLE_EQ(r.thresholds().rewrite_subject(), 8);
  // The outbound profile: PILLS does not run (so BOTH does not hit), CHEAP scores 9.5,
  // and its reject threshold is 9.
  farside::v1::ScanRequest req;
  req.set_message(m);
  req.mutable_envelope()->set_settings_profile("outbound");
  auto o = scanner_->Scan(req);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->settings_profile(), "outbound");
  ASSERT_EQ(o->symbols_size(), 1);
  EXPECT_EQ(o->symbols(0).name(), "CHEAP");
  EXPECT_DOUBLE_EQ(o->score(), 9.5);
  EXPECT_EQ(o->action(), farside::v1::REJECT);
  EXPECT_DOUBLE_EQ(o->thresholds().add_header(), 3);
  EXPECT_DOUBLE_EQ(o->thresholds().greylist(), 4) << "not given: the built-in default";
  // An unknown profile: the default settings, and the result says so.
  req.mutable_envelope()->set_settings_profile("nosuch");
  auto u = scanner_->Scan(req);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->settings_profile(), "default");
  ASSERT_EQ(u->skipped_size() > 0, true);
}

TEST_F(ScannerTest, ProfileMistakesAreErrorsWithAPath) {
  farside::v1::Config cfg;
  config::ApplyDefaults(&cfg);
  ASSERT_TRUE(config::MergeYaml("scanner:\n  profiles:\n    - {name: out, disabled_symbols: [NOPE]}\n",
                                "test", &cfg).ok());
  auto s = Scanner::Create(cfg.scanner(), nullptr, &metrics_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "scanner.profiles[0].disabled_symbols: no rule is named 'NOPE'");
}

TEST_F(ScannerTest, ListsFromRuleFilesScoreAndFeedMetaRules) {
  const std::string dir = ::testing::TempDir() + "/list_rules";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/senders.txt") << "# partners\n@partner.test\n";
  std::ofstream(dir + "/nets.txt") << "203.0.113.0/24\n";
  std::ofstream(dir + "/r.yaml")
      << "lists:\n"
         "  - {name: FROM_PARTNER, type: email, file: senders.txt, score: -3,\n"
         "     description: 'A partner we trust'}\n"
         "  - {name: CLIENT_BAD_NET, type: ip, file: nets.txt, score: 2}\n"
         "rules:\n"
         "  - {name: BAD_NET_NOT_PARTNER, meta: 'CLIENT_BAD_NET && !FROM_PARTNER', score: 4}\n";
  Make("scanner:\n  rules: {dirs: ['" + dir + "']}\n");
  farside::v1::ScanRequest req;
  req.set_message("From: a@partner.test\nSubject: hi\n\nbody\n");
  req.mutable_envelope()->set_client_ip("203.0.113.5");
  auto r = scanner_->Scan(req);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->score(), -1);  // 2 - 3, and the meta stays quiet
  req.set_message("From: a@elsewhere.test\nSubject: hi\n\nbody\n");
  r = scanner_->Scan(req);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->score(), 6);
  ASSERT_GE(r->symbols_size(), 2);
  EXPECT_EQ(r->symbols(0).name(), "BAD_NET_NOT_PARTNER");
  EXPECT_EQ(r->symbols(1).options(0), "203.0.113.5");
}

}  // namespace
}  // namespace farside::scanner
