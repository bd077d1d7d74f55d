// The scanner's SPF and block-list checks against a real dnsmasq on loopback serving test
// zones, and against a DNS server that never answers (the budget holds).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/shell.h"
#include "lib/common/config_loader.h"
#include "lib/common/digest.h"
#include "services/scanner/grpc_state_client.h"
#include "services/scanner/network.h"
#include "services/scanner/scanner.h"
#include "tests/support/dnsmasq.h"

namespace farside::scanner {
namespace {

const farside::v1::Symbol* Find(const farside::v1::ScanResult& r, const std::string& name) {
  for (const auto& s : r.symbols()) {
    if (s.name() == name) return &s;
  }
  return nullptr;
}

std::string Names(const farside::v1::ScanResult& r) {
  std::string s;
  for (const auto& x : r.symbols()) absl::StrAppend(&s, x.name(), " ");
  return s;
}

using farside::testing::Shell;

const farside::v1::HeaderChange* Header(const farside::v1::ScanResult& r, const std::string& name) {
  for (const auto& h : r.header_changes()) {
    if (h.name() == name && h.op() != farside::v1::HeaderChange::OP_REMOVE) return &h;
  }
  return nullptr;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const std::string kMessage =
    "From: Alice <alice@example.test>\nTo: bob@dest.test\nSubject: hi\nMessage-ID: <n1@example.test>\n"
    "Date: Thu, 03 Dec 2026 10:00:00 +0000\n\nSee http://www.spamsite.com/offer and http://clean.org/\n";

class NetworkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    log_ = ::testing::TempDir() + "/dnsmasq-network-test.log";
    unlink(log_.c_str());
    dir_ = ::testing::TempDir() + "/network-test-" + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
    ASSERT_EQ(system(("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + dir_ +
                      "/rsa.pem 2>/dev/null").c_str()),
              0);
    const std::string pub = Shell("openssl pkey -in " + dir_ + "/rsa.pem -pubout -outform DER | base64 -w0");
    // A 2048-bit key is longer than one TXT string (255 bytes): dnsmasq serves it in pieces,
    // as real zones do, and the resolver joins them.
    std::string key_record = "--txt-record=rsa._domainkey.example.test,v=DKIM1; k=rsa; p=";
    for (size_t i = 0; i < pub.size(); i += 200) {
      if (i > 0) key_record += ",";
      key_record += pub.substr(i, 200);
    }
    const std::string ebl = Sha1Hex("spammer@example.test");
    dns_ = new farside::testing::Dnsmasq({
        key_record,
        "--txt-record=_dmarc.example.test,v=DMARC1; p=reject; rua=mailto:d@example.test",
        "--txt-record=_dmarc.reject.test,v=DMARC1; p=reject",
        "--txt-record=_dmarc.quar.test,v=DMARC1; p=quarantine",
        "--txt-record=reject.test,v=spf1 ip4:192.0.2.200 -all",
        "--local=/test/", "--log-queries", "--log-facility=" + log_,
        "--txt-record=example.test,v=spf1 ip4:192.0.2.10 include:inc.test -all",
        "--txt-record=inc.test,v=spf1 ip4:198.51.100.0/24 -all",
        "--txt-record=soft.test,v=spf1 ~all",
        "--txt-record=broken.test,v=spf1 ip4:192.0.2.300 -all",
        "--txt-record=mx.helo.test,v=spf1 a -all",
        "--host-record=mx.helo.test,192.0.2.20",
        "--host-record=ready.test,192.0.2.1",
        // IP lists: one with codes, one plain, one that wildcards outside 127/8, one off.
        "--host-record=99.2.0.192.zen.test,127.0.0.2",
        "--host-record=98.2.0.192.zen.test,127.0.0.4",
        "--host-record=97.2.0.192.zen.test,127.255.255.254",
        "--host-record=99.2.0.192.plain.test,127.0.0.2",
        "--address=/wild.test/192.0.2.55",
        "--host-record=99.2.0.192.off.test,127.0.0.2",
        "--host-record=7.113.0.203.zen.test,127.0.0.2",
        // A URI list with bit-coded answers, and an e-mail list by SHA-1.
        "--host-record=spamsite.com.multi.test,127.0.0.6",
        "--host-record=" + ebl + ".ebl.test,127.0.0.2",
    });
    ASSERT_TRUE(dns_->WaitReady("ready.test")) << "dnsmasq did not answer on " << dns_->server();
  }
  static void TearDownTestSuite() {
    delete dns_;
    dns_ = nullptr;
  }

  void Make(const std::string& yaml) {
    farside::v1::Config cfg;
    config::ApplyDefaults(&cfg);
    const std::string base = absl::StrCat(R"(
scanner:
  dns:
    servers: [")", dns_->server(), R"("]
    query_timeout: 300ms
    message_budget: 1s
  dnsbl:
    lists:
      - {name: ZEN, zone: zen.test, check: received, codes: [
          {address: 127.0.0.2, symbol: ZEN_SBL, score: 4, description: "On the spam list"},
          {address: 127.0.0.4, symbol: ZEN_XBL, score: 3}]}
      - {name: PLAIN_BL, zone: plain.test, score: 1.5}
      - {name: WILD_BL, zone: wild.test}
      - {name: OFF_BL, zone: off.test, enabled: false}
      - {name: MULTI, zone: multi.test, check: domain, codes: [
          {bits: 2, symbol: MULTI_SPAM, score: 3}, {bits: 8, symbol: MULTI_PHISH, score: 5}]}
      - {name: EBL, zone: ebl.test, check: email, score: 2}
)");
    ASSERT_TRUE(config::MergeYaml(base, "base", &cfg).ok());
    auto st = config::MergeYaml(yaml, "test", &cfg);
    ASSERT_TRUE(st.ok()) << st;
    cfg.mutable_scanner()->mutable_rules()->set_cache_dir(::testing::TempDir() + "/prefilters");
    state_ = std::make_unique<GrpcStateClient>(
        GrpcStateClient::Options{.target = "127.0.0.1:1", .flush_interval = absl::Hours(1)}, &metrics_);
    auto s = Scanner::Create(cfg.scanner(), state_.get(), &metrics_);
    ASSERT_TRUE(s.ok()) << s.status();
    scanner_ = std::move(*s);
  }

  farside::v1::ScanResult Scan(const std::string& ip, const std::string& from, const std::string& helo = "mx.helo.test",
                               const std::string& message = kMessage, const std::string& user = "") {
    farside::v1::ScanRequest req;
    req.set_message(message);
    auto* e = req.mutable_envelope();
    e->set_client_ip(ip);
    e->set_mail_from(from);
    e->set_helo(helo);
    e->set_authenticated_user(user);
    e->add_rcpt_to("bob@dest.test");
    auto r = scanner_->Scan(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : farside::v1::ScanResult();
  }

  static farside::testing::Dnsmasq* dns_;
  static std::string log_, dir_;
  telemetry::ServiceMetrics metrics_{"scanner"};
  std::unique_ptr<GrpcStateClient> state_;
  std::unique_ptr<Scanner> scanner_;
};

farside::testing::Dnsmasq* NetworkTest::dns_ = nullptr;
std::string NetworkTest::log_, NetworkTest::dir_;

TEST_F(NetworkTest, SpfResultsBecomeSymbols) {
  Make("");
  auto r = Scan("192.0.2.10", "alice@example.test");
  const auto* s = Find(r, "SPF_PASS");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_LT(s->score(), 0);
  EXPECT_TRUE(absl::StrContains(s->options(0), "mailfrom=example.test ip4:192.0.2.10")) << s->options(0);

  r = Scan("198.51.100.7", "alice@example.test");  // through the include
  EXPECT_NE(Find(r, "SPF_PASS"), nullptr) << Names(r);

  r = Scan("203.0.113.5", "alice@example.test");
  s = Find(r, "SPF_FAIL");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_EQ(s->score(), 2);
  EXPECT_TRUE(absl::StrContains(s->options(0), "-all"));

  EXPECT_NE(Find(Scan("203.0.113.5", "x@soft.test"), "SPF_SOFTFAIL"), nullptr);
  EXPECT_NE(Find(Scan("203.0.113.5", "x@nospf.test"), "SPF_NONE"), nullptr);
  r = Scan("203.0.113.5", "x@broken.test");
  s = Find(r, "SPF_PERMERROR");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_TRUE(absl::StrContains(s->options(1), "bad address")) << s->options(1);

  // Bounces are checked by their HELO name.
  r = Scan("192.0.2.20", "", "mx.helo.test");
  s = Find(r, "SPF_PASS");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_TRUE(absl::StrContains(s->options(0), "helo=mx.helo.test"));
  EXPECT_NE(Find(Scan("192.0.2.21", "", "mx.helo.test"), "SPF_FAIL"), nullptr);

  // Authenticated senders are not checked, and the result says so.
  r = Scan("203.0.113.5", "alice@example.test", "mx.helo.test", kMessage, "alice");
  EXPECT_EQ(Find(r, "SPF_FAIL"), nullptr);
  bool said = false;
  for (const auto& sk : r.skipped()) said |= sk.check() == "spf";
  EXPECT_TRUE(said);
}

TEST_F(NetworkTest, BlockListsMapTheirAnswers) {
  Make("");
  auto r = Scan("192.0.2.99", "x@nospf.test");
  const auto* s = Find(r, "ZEN_SBL");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_EQ(s->score(), 4);
  EXPECT_EQ(s->description(), "On the spam list");
  EXPECT_EQ(s->options(0), "192.0.2.99 127.0.0.2");
  s = Find(r, "PLAIN_BL");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_EQ(s->score(), 1.5);
  EXPECT_EQ(Find(r, "WILD_BL"), nullptr) << "answers outside 127/8 are a wildcarding resolver";
  EXPECT_EQ(Find(r, "OFF_BL"), nullptr);
  // The URL's registered domain, by bits: 6 = 2|4, so MULTI_SPAM and not MULTI_PHISH.
  s = Find(r, "MULTI_SPAM");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_EQ(s->options(0), "spamsite.com 127.0.0.6");
  EXPECT_EQ(Find(r, "MULTI_PHISH"), nullptr);

  EXPECT_NE(Find(Scan("192.0.2.98", "x@nospf.test"), "ZEN_XBL"), nullptr);
  r = Scan("192.0.2.97", "x@nospf.test");
  EXPECT_EQ(Find(r, "ZEN_SBL"), nullptr) << "127.255.255.x means the list refused us";
  EXPECT_EQ(Find(r, "ZEN_XBL"), nullptr);

  // The e-mail list is asked for the SHA-1 of the envelope sender.
  EXPECT_NE(Find(Scan("192.0.2.50", "spammer@example.test"), "EBL"), nullptr);

  // A "received" list also reads the public relays of the Received fields.
  const std::string relayed = "Received: from relay.example (relay.example [203.0.113.7]) by mx.dest.test; "
                              "Thu, 03 Dec 2026 10:00:00 +0000\n" + kMessage;
  r = Scan("192.0.2.50", "x@nospf.test", "mx.helo.test", relayed);
  s = Find(r, "ZEN_SBL");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_EQ(s->options(0), "203.0.113.7 127.0.0.2");
  EXPECT_EQ(Find(r, "PLAIN_BL"), nullptr) << "an ip list reads the client only";
}

// Meta rules read what the network checks found: native rules by Farside's symbol names,
// imported SpamAssassin rules through their evals (check_for_spf_fail maps to SPF_FAIL).
TEST_F(NetworkTest, MetaRulesReadNetworkSymbols) {
  const std::string rules = dir_ + "/late-rules", sa = dir_ + "/late-sa";
  std::filesystem::create_directories(rules);
  std::filesystem::create_directories(sa);
  {
    std::ofstream(rules + "/late.yaml") << R"(
rules:
  - {name: OFFER, body: 'offer', score: 0.1}
  - {name: LISTED_OFFER, meta: 'OFFER && ZEN_SBL', score: 2, description: "A listed client sells"}
  - {name: UNSIGNED_OFFER, meta: 'OFFER && !DKIM_PASS && !SPF_PASS', score: 1}
)";
    std::ofstream(sa + "/late.cf") << "header SPF_FAIL eval:check_for_spf_fail()\n"
                                       "body __OFFER /offer/\n"
                                       "meta SPF_FAIL_OFFER SPF_FAIL && __OFFER\n"
                                       "score SPF_FAIL_OFFER 1.5\n"
                                       // Block lists: SpamAssassin's sets become the scanner's lists.
                                       "header __RCVD_IN_ZEN eval:check_rbl('zen', 'zen.test.')\n"
                                       "header RCVD_IN_SBL eval:check_rbl_sub('zen', '127.0.0.2')\n"
                                       "tflags RCVD_IN_SBL net\n"
                                       "score RCVD_IN_SBL 0 2.5 0 2.5\n"
                                       "header RCVD_IN_XBL eval:check_rbl('zen-lastexternal', 'zen.test.', "
                                       "'^127\\.0\\.0\\.[4567]$')\n"
                                       "meta ZEN_OFFER __RCVD_IN_ZEN && __OFFER\n"
                                       "urirhssub URIBL_MULTI multi.test. A 2\n"
                                       "body URIBL_MULTI eval:check_uridnsbl('URIBL_MULTI')\n"
                                       "enlist_uri_host (BADHOST) spamsite.com\n"
                                       "header URI_BADHOST eval:check_uri_host_listed('BADHOST')\n";
  }
  Make("scanner: {rules: {dirs: [\"" + rules + "\"], spamassassin_dirs: [\"" + sa + "\"]}}");
  auto r = Scan("192.0.2.99", "x@nospf.test");  // listed on zen.test
  EXPECT_NE(Find(r, "LISTED_OFFER"), nullptr) << Names(r);
  EXPECT_NE(Find(r, "UNSIGNED_OFFER"), nullptr) << Names(r);
  EXPECT_EQ(Find(r, "SPF_FAIL_OFFER"), nullptr) << Names(r);
  const farside::v1::Symbol* s = nullptr;

  s = Find(r, "RCVD_IN_SBL");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_EQ(s->score(), 2.5) << "a net rule scores as SpamAssassin's score set 1";
  EXPECT_NE(Find(r, "ZEN_OFFER"), nullptr) << Names(r);
  EXPECT_EQ(Find(r, "RCVD_IN_XBL"), nullptr) << Names(r);
  EXPECT_NE(Find(r, "URIBL_MULTI"), nullptr) << Names(r);
  EXPECT_NE(Find(r, "URI_BADHOST"), nullptr) << Names(r);
  EXPECT_NE(Find(Scan("192.0.2.98", "x@nospf.test"), "RCVD_IN_XBL"), nullptr) << "127.0.0.4 matches the regex";

  r = Scan("203.0.113.5", "alice@example.test");  // SPF fail, not listed
  EXPECT_EQ(Find(r, "LISTED_OFFER"), nullptr) << Names(r);
  EXPECT_EQ(Find(r, "RCVD_IN_SBL"), nullptr) << Names(r);
  EXPECT_EQ(Find(r, "ZEN_OFFER"), nullptr) << Names(r);
  s = Find(r, "SPF_FAIL_OFFER");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_EQ(s->score(), 1.5);
  int spf_fail = 0;
  for (const auto& x : r.symbols()) spf_fail += x.name() == "SPF_FAIL";
  EXPECT_EQ(spf_fail, 1) << "the imported SPF_FAIL is Farside's own, listed once: " << Names(r);

  r = Scan("192.0.2.10", "alice@example.test");  // SPF pass
  EXPECT_EQ(Find(r, "UNSIGNED_OFFER"), nullptr) << Names(r);
  EXPECT_EQ(Find(r, "SPF_FAIL_OFFER"), nullptr) << Names(r);
}

TEST_F(NetworkTest, NoQueryForListsSwitchedOffOrPrivateAddresses) {
  Make("");
  Scan("192.0.2.99", "x@nospf.test");
  Scan("10.1.2.3", "x@nospf.test");
  Scan("192.0.2.77", "x@nospf.test", "mx.helo.test",  // outbound
       absl::StrReplaceAll(kMessage, {{"www.spamsite.com", "www.outbound-only.com"}}), "alice");
  // dnsmasq logs each query it is asked.
  const std::string log = ReadFile(log_);
  EXPECT_TRUE(absl::StrContains(log, "99.2.0.192.zen.test")) << "the log is read: " << log.size() << " bytes";
  EXPECT_FALSE(absl::StrContains(log, "off.test"));
  EXPECT_FALSE(absl::StrContains(log, "3.2.1.10.")) << "private addresses are not looked up";
  EXPECT_FALSE(absl::StrContains(log, "77.2.0.192.")) << "nor is mail from authenticated senders";
  EXPECT_FALSE(absl::StrContains(log, "outbound-only.com.multi.test")) << "nor its links";
}

TEST_F(NetworkTest, SwitchedOffChecksAskNothing) {
  Make("scanner: {spf: {enabled: false}, dnsbl: {enabled: false}}");
  auto r = Scan("192.0.2.99", "alice@example.test");
  for (const auto& s : r.symbols()) {
    EXPECT_FALSE(absl::StartsWith(s.name(), "SPF_") || s.group() == "dnsbl") << s.name();
  }
}

TEST_F(NetworkTest, ABadListIsALoadErrorNamingIt) {
  farside::v1::Config cfg;
  config::ApplyDefaults(&cfg);
  ASSERT_TRUE(config::MergeYaml("scanner: {dnsbl: {lists: [{name: X, zone: x.test, check: rbl}]}}", "t", &cfg).ok());
  auto n = NetworkChecks::Create(cfg.scanner());
  ASSERT_FALSE(n.ok());
  EXPECT_TRUE(absl::StrContains(n.status().message(), "scanner.dnsbl.lists[0].check")) << n.status();
}

TEST_F(NetworkTest, DkimDmarcAndAuthenticationResults) {
  Make("scanner: {dmarc: {reject_action: reject}, auth_results: {authserv_id: mx.dest.test}}");
  // Signed by dkimpy (python3-dkim), a signer nobody here wrote.
  const std::string unsigned_path = dir_ + "/in.eml";
  {
    std::ofstream f(unsigned_path, std::ios::binary);
    f << "Authentication-Results: mx.dest.test; dkim=pass header.d=forged.test\r\n" << kMessage;
  }
  const std::string tool = absl::StrCat(std::getenv("FARSIDE_SOURCE_DIR") ? std::getenv("FARSIDE_SOURCE_DIR")
                                                                         : FARSIDE_SOURCE_DIR_DEFAULT,
                                        "/tests/lib/dkim/dkimpy_tool.py");
  const std::string signed_msg = Shell(absl::StrCat("/usr/bin/python3 ", tool, " sign ", dir_,
                                                    "/rsa.pem rsa example.test relaxed/simple rsa-sha256 < ",
                                                    unsigned_path));
  ASSERT_TRUE(absl::StartsWith(signed_msg, "DKIM-Signature:")) << signed_msg.substr(0, 200);

  // From a client SPF does not allow: DKIM alone makes DMARC pass.
  auto r = Scan("203.0.113.5", "alice@example.test", "mx.helo.test", signed_msg);
  const auto* s = Find(r, "DKIM_PASS");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_EQ(s->options(0), "example.test/rsa rsa-sha256");
  EXPECT_NE(Find(r, "SPF_FAIL"), nullptr);
  s = Find(r, "DMARC_PASS");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_EQ(r.action(), farside::v1::NO_ACTION);
  const auto* ar = Header(r, "Authentication-Results");
  ASSERT_NE(ar, nullptr);
  EXPECT_EQ(ar->op(), farside::v1::HeaderChange::OP_INSERT);
  EXPECT_EQ(ar->value(),
            "mx.dest.test; spf=fail smtp.mailfrom=alice@example.test; "
            "dkim=pass header.d=example.test header.s=rsa header.a=rsa-sha256; arc=none; "
            "dmarc=pass (p=reject dis=none) header.from=example.test");
  bool removed = false;  // the forged field claiming our id goes
  for (const auto& h : r.header_changes()) {
    removed |= h.op() == farside::v1::HeaderChange::OP_REMOVE && h.name() == "Authentication-Results" && h.index() == 1;
  }
  EXPECT_TRUE(removed);

  // A changed body: DKIM fails, SPF fails, and DMARC's p=reject forces the action set.
  r = Scan("203.0.113.5", "alice@example.test", "mx.helo.test",
           absl::StrReplaceAll(signed_msg, {{"See http", "Now see http"}}));
  s = Find(r, "DKIM_FAIL");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_TRUE(absl::StrContains(s->options(0), "body")) << s->options(0);
  s = Find(r, "DMARC_POLICY_REJECT");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_EQ(r.action(), farside::v1::REJECT);
  EXPECT_EQ(r.forced_by(), "DMARC_POLICY_REJECT");
  EXPECT_EQ(Header(r, "Authentication-Results"), nullptr) << "refused mail gets no fields";

  // SPF alone, aligned: pass. Unsigned mail from a domain with p=quarantine: that symbol.
  const std::string from_reject = absl::StrReplaceAll(kMessage, {{"alice@example.test", "a@reject.test"}});
  EXPECT_NE(Find(Scan("192.0.2.200", "bounce@reject.test", "mx.helo.test", from_reject), "DMARC_PASS"), nullptr);
  const std::string from_quar = absl::StrReplaceAll(kMessage, {{"alice@example.test", "a@quar.test"}});
  r = Scan("192.0.2.200", "x@nospf.test", "mx.helo.test", from_quar);
  s = Find(r, "DMARC_POLICY_QUARANTINE");
  ASSERT_NE(s, nullptr) << Names(r);
  EXPECT_EQ(s->score(), 2);
  EXPECT_NE(Find(Scan("192.0.2.200", "x@nospf.test", "mx.helo.test",
                      absl::StrReplaceAll(kMessage, {{"alice@example.test", "a@nodmarc.test"}})),
                 "DMARC_NONE"),
            nullptr);
}

TEST_F(NetworkTest, OutboundMailIsSignedAndTheSignatureVerifies) {
  Make(absl::StrCat("scanner: {dkim_signing: {enabled: true, keys: [{domain: example.test, selector: rsa, key_file: \"",
                    dir_, "/rsa.pem\"}]}}"));
  auto r = Scan("192.0.2.10", "alice@example.test", "mx.helo.test", kMessage, "alice");
  const auto* sig = Header(r, "DKIM-Signature");
  ASSERT_NE(sig, nullptr);
  EXPECT_EQ(sig->op(), farside::v1::HeaderChange::OP_INSERT);
  EXPECT_EQ(Header(r, "Authentication-Results"), nullptr) << "outbound mail gets no Authentication-Results";
  // The signed message, as the proxy would pass it on, verifies here (the key through dnsmasq).
  const std::string signed_msg = absl::StrCat("DKIM-Signature: ", sig->value(), "\n", kMessage);
  r = Scan("203.0.113.5", "alice@example.test", "mx.helo.test", signed_msg);
  EXPECT_NE(Find(r, "DKIM_PASS"), nullptr) << Names(r);
  // Mail from another domain is not signed.
  r = Scan("192.0.2.10", "x@other.test", "mx.helo.test",
           absl::StrReplaceAll(kMessage, {{"alice@example.test", "x@other.test"}}), "x");
  EXPECT_EQ(Header(r, "DKIM-Signature"), nullptr);
}

TEST_F(NetworkTest, ABadSigningKeyIsALoadError) {
  farside::v1::Config cfg;
  config::ApplyDefaults(&cfg);
  ASSERT_TRUE(config::MergeYaml("scanner: {dkim_signing: {enabled: true, keys: [{domain: a.test, selector: s, "
                                "key_file: /nonexistent.pem}]}}", "t", &cfg).ok());
  auto n = NetworkChecks::Create(cfg.scanner());
  ASSERT_FALSE(n.ok());
  EXPECT_TRUE(absl::StrContains(n.status().message(), "scanner.dkim_signing.keys[0].key_file")) << n.status();
}

// A server that takes queries and never answers: every scan still ends within its budget.
TEST(NetworkBudgetTest, ASilentServerCostsAtMostTheBudget) {
  int port = 0;
  const int fd = farside::testing::BindUdp(&port);
  ASSERT_GE(fd, 0);
  farside::v1::Config cfg;
  config::ApplyDefaults(&cfg);
  ASSERT_TRUE(config::MergeYaml(absl::StrCat("scanner: {dns: {servers: [\"127.0.0.1:", port,
                                             "\"], query_timeout: 2s, message_budget: 300ms}, "
                                             "dnsbl: {lists: [{name: BL, zone: bl.test}]}}"),
                                "t", &cfg)
                  .ok());
  cfg.mutable_scanner()->mutable_rules()->set_cache_dir(::testing::TempDir() + "/prefilters");
  telemetry::ServiceMetrics metrics{"scanner"};
  GrpcStateClient state(GrpcStateClient::Options{.target = "127.0.0.1:1", .flush_interval = absl::Hours(1)},
                        &metrics);
  auto s = Scanner::Create(cfg.scanner(), &state, &metrics);
  ASSERT_TRUE(s.ok()) << s.status();
  for (int i = 0; i < 3; ++i) {
    farside::v1::ScanRequest req;
    req.set_message(kMessage);
    req.mutable_envelope()->set_client_ip(absl::StrCat("192.0.2.", 60 + i));
    req.mutable_envelope()->set_mail_from(absl::StrCat("a@silent", i, ".test"));
    const absl::Time t0 = absl::Now();
    auto r = (*s)->Scan(req);
    const absl::Duration took = absl::Now() - t0;
    ASSERT_TRUE(r.ok());
    EXPECT_LT(took, absl::Milliseconds(450)) << "the budget is 300 ms";
    EXPECT_GE(took, absl::Milliseconds(250)) << "it waited for the server, as it should";
    EXPECT_NE(Find(*r, "SPF_TEMPERROR"), nullptr) << Names(*r);
    bool said = false;
    for (const auto& sk : r->skipped()) said |= sk.check() == "dnsbl:BL";
    EXPECT_TRUE(said);
  }
  close(fd);
}

}  // namespace
}  // namespace farside::scanner
