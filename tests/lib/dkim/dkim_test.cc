// DKIM verification of messages signed by dkimpy and opendkim (keys made here with openssl),
// of RFC 8463's example and of stalwart's vectors; our signatures verified by dkimpy.
#include "lib/dkim/dkim.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/support/paths.h"
#include "tests/support/shell.h"

namespace farside::dkim {
namespace {

using ::farside::testing::SharedDir;
using ::farside::testing::SourceDir;

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
}

using farside::testing::Shell;

const std::string kMessage =
    "From: Alice Example <alice@example.test>\r\n"
    "To: Bob <bob@dest.test>\r\n"
    "Subject: The quarterly figures\r\n"
    "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
    "Message-ID: <q1@example.test>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "\r\n"
    "the figures   are attached.  \r\n"
    "\r\n"
    "\r\n";

// Keys made once for the suite with openssl: RSA 2048 and Ed25519, with their records.
class DkimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = ::testing::TempDir() + "/dkim-test-" + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
    int rc = 0;
    Shell(absl::StrCat("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ", dir_,
                     "/rsa.pem 2>/dev/null"), &rc);
    ASSERT_EQ(rc, 0) << "openssl genpkey RSA";
    rsa_pub_ = std::string(absl::StripAsciiWhitespace(
        Shell(absl::StrCat("openssl pkey -in ", dir_, "/rsa.pem -pubout -outform DER | base64 -w0"))));
    Shell(absl::StrCat("openssl genpkey -algorithm ed25519 -out ", dir_, "/ed.pem"), &rc);
    ASSERT_EQ(rc, 0);
    ed_pub_ = std::string(absl::StripAsciiWhitespace(
        Shell(absl::StrCat("openssl pkey -in ", dir_, "/ed.pem -pubout -outform DER | tail -c 32 | base64 -w0"))));
    // dkimpy takes an Ed25519 key as its base64 seed.
    Shell(absl::StrCat("openssl pkey -in ", dir_, "/ed.pem -outform DER | tail -c 32 | base64 -w0 > ", dir_,
                     "/ed.seed"), &rc);
    ASSERT_EQ(rc, 0);
    WriteFile(dir_ + "/records",
              absl::StrCat("rsa._domainkey.example.test\tv=DKIM1; k=rsa; p=", rsa_pub_, "\n",
                           "ed._domainkey.example.test\tv=DKIM1; k=ed25519; p=", ed_pub_, "\n"));
    WriteFile(dir_ + "/msg.eml", kMessage);
  }

  static std::string Dkimpy(const std::string& args, const std::string& input_file, int* rc = nullptr) {
    return Shell(absl::StrCat("/usr/bin/python3 ", SourceDir(), "/tests/lib/dkim/dkimpy_tool.py ", args, " < ",
                            input_file),
               rc);
  }

  static dns::Answer Txt(const std::string& record) {
    dns::Answer a;
    a.status = dns::Answer::Status::kOk;
    a.records = {record};
    return a;
  }

  // Our verdicts with the suite's keys answering every key query.
  static std::vector<Verdict> Check(const std::string& msg, Options o = Options{}) {
    const Prepared p = Prepare(msg, o);
    std::vector<dns::Answer> answers;
    for (const dns::Query& q : p.key_queries) {
      if (q.name == "rsa._domainkey.example.test") answers.push_back(Txt("v=DKIM1; k=rsa; p=" + rsa_pub_));
      else if (q.name == "ed._domainkey.example.test") answers.push_back(Txt("v=DKIM1; k=ed25519; p=" + ed_pub_));
      else answers.push_back(dns::Answer{dns::Answer::Status::kNxDomain, {}, 0, false, ""});
    }
    return Verify(p, answers, o);
  }

  static std::string dir_, rsa_pub_, ed_pub_;
};
std::string DkimTest::dir_, DkimTest::rsa_pub_, DkimTest::ed_pub_;

TEST_F(DkimTest, DkimpySignaturesVerify) {
  for (const char* canon : {"relaxed/simple", "simple/simple", "relaxed/relaxed", "simple/relaxed"}) {
    int rc = 0;
    const std::string signed_msg = Dkimpy(absl::StrCat("sign ", dir_, "/rsa.pem rsa example.test ", canon,
                                                       " rsa-sha256"), dir_ + "/msg.eml", &rc);
    ASSERT_EQ(rc, 0) << "dkimpy could not sign";
    auto v = Check(signed_msg);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].result, Result::kPass) << canon << ": " << v[0].reason;
    EXPECT_EQ(v[0].domain, "example.test");
    EXPECT_FALSE(v[0].weak);
  }
  int rc = 0;
  const std::string ed = Dkimpy(absl::StrCat("sign ", dir_, "/ed.seed ed example.test relaxed/relaxed ed25519-sha256"),
                                dir_ + "/msg.eml", &rc);
  ASSERT_EQ(rc, 0) << "dkimpy could not sign with ed25519 (python3-nacl?)";
  auto v = Check(ed);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].result, Result::kPass) << v[0].reason;
  EXPECT_EQ(v[0].algorithm, Algorithm::kEd25519Sha256);

  const std::string sha1 = Dkimpy(absl::StrCat("sign ", dir_, "/rsa.pem rsa example.test relaxed/simple rsa-sha1"),
                                  dir_ + "/msg.eml", &rc);
  v = Check(sha1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].result, Result::kPass) << v[0].reason;
  EXPECT_TRUE(v[0].weak) << "rsa-sha1 is flagged weak";
}

TEST_F(DkimTest, ChangedBodiesAndSignedHeadersFail) {
  int rc = 0;
  const std::string s = Dkimpy(absl::StrCat("sign ", dir_, "/rsa.pem rsa example.test relaxed/simple rsa-sha256"),
                               dir_ + "/msg.eml", &rc);
  ASSERT_EQ(rc, 0);
  auto v = Check(absl::StrReplaceAll(s, {{"figures   are", "figures were"}}));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].result, Result::kFail);
  EXPECT_TRUE(absl::StrContains(v[0].reason, "body")) << v[0].reason;
  v = Check(absl::StrReplaceAll(s, {{"Subject: The quarterly", "Subject: Urgent: the quarterly"}}));
  EXPECT_EQ(v[0].result, Result::kFail);
  EXPECT_TRUE(absl::StrContains(v[0].reason, "signed headers")) << v[0].reason;
  // An added From is caught: dkimpy signs From, and the new one is the bottom-most.
  v = Check(absl::StrReplaceAll(s, {{"To: Bob", "From: mallory@evil.test\r\nTo: Bob"}}));
  EXPECT_EQ(v[0].result, Result::kFail);
  // Unsigned headers may change, and relaxed header canonicalisation forgives refolding.
  v = Check(absl::StrReplaceAll(s, {{"To: Bob", "X-Added: yes\r\nTo: Bob"}}));
  EXPECT_EQ(v[0].result, Result::kPass) << v[0].reason;
  // Simple body canonicalisation forgives trailing empty lines only.
  v = Check(s + "\r\n\r\n");
  EXPECT_EQ(v[0].result, Result::kPass) << v[0].reason;
}

TEST_F(DkimTest, LengthLimitedSignaturesIgnoreWhatComesAfter) {
  int rc = 0;
  const std::string s = Dkimpy(absl::StrCat("sign ", dir_, "/rsa.pem rsa example.test relaxed/simple rsa-sha256 length"),
                               dir_ + "/msg.eml", &rc);
  ASSERT_EQ(rc, 0);
  ASSERT_TRUE(absl::StrContains(s, "l=")) << s;
  auto v = Check(s + "Appended by a list.\r\n");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].result, Result::kPass) << v[0].reason;
}

// opendkim's own milter signs (opendkim-testmsg 2.11 prints a broken b= tail, so the real
// filter is driven with miltertest), and we verify what it added.
std::string OpendkimSign(const std::string& dir, const std::string& key, const std::string& selector,
                         const std::string& canon, const std::string& alg) {
  const int port = farside::testing::FreeTcpPort();
  const std::string conf = dir + "/opendkim-" + selector + ".conf";
  WriteFile(conf, absl::StrCat("Syslog no\nMode s\nDomain example.test\nSelector ", selector, "\nKeyFile ", key,
                               "\nSocket inet:", port, "@127.0.0.1\nCanonicalization ", canon,
                               "\nSignatureAlgorithm ", alg, "\nBackground no\nUserID root\nRequireSafeKeys no\n"));
  const pid_t pid = fork();
  if (pid == 0) {
    execlp("opendkim", "opendkim", "-f", "-x", conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const std::string lua = dir + "/sign-" + selector + ".lua";
  WriteFile(lua, absl::StrCat(R"(
conn = mt.connect("inet:)", port, R"(@127.0.0.1", 50, 0.1)
if conn == nil then error("no connection to opendkim") end
mt.conninfo(conn, "localhost", "127.0.0.1")
mt.mailfrom(conn, "alice@example.test")
mt.rcptto(conn, "bob@dest.test")
mt.header(conn, "From", "Alice Example <alice@example.test>")
mt.header(conn, "To", "Bob <bob@dest.test>")
mt.header(conn, "Subject", "The quarterly figures")
mt.header(conn, "Date", "Thu, 03 Dec 2026 10:00:00 +0000")
mt.eoh(conn)
mt.bodystring(conn, "Hello Bob,\r\n\r\nthe figures   are attached.  \r\n\r\n")
mt.eom(conn)
io.write(mt.getheader(conn, "DKIM-Signature", 0))
mt.disconnect(conn)
)"));
  int rc = 0;
  const std::string sig = Shell("miltertest -s " + lua + " 2>&1", &rc);
  kill(pid, SIGKILL);  // it takes seconds to stop on SIGTERM, and holds nothing we need
  waitpid(pid, nullptr, 0);
  if (rc != 0) return "";
  return absl::StrCat("DKIM-Signature:", absl::StrReplaceAll(sig, {{"\n", "\r\n"}}), "\r\n",
                      "From: Alice Example <alice@example.test>\r\nTo: Bob <bob@dest.test>\r\n"
                      "Subject: The quarterly figures\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\n"
                      "Hello Bob,\r\n\r\nthe figures   are attached.  \r\n\r\n");
}

TEST_F(DkimTest, OpendkimSignaturesVerify) {
  for (const char* canon : {"relaxed/simple", "simple/simple", "relaxed/relaxed"}) {
    const std::string s = OpendkimSign(dir_, dir_ + "/rsa.pem", "rsa", canon, "rsa-sha256");
    ASSERT_FALSE(s.empty()) << "opendkim did not sign (" << canon << ")";
    auto v = Check(s);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].result, Result::kPass) << canon << ": " << v[0].reason << "\n" << s;
    v = Check(absl::StrReplaceAll(s, {{"Hello Bob", "Hello Eve"}}));
    EXPECT_EQ(v[0].result, Result::kFail);
  }
  const std::string ed = OpendkimSign(dir_, dir_ + "/ed.pem", "ed", "relaxed/relaxed", "ed25519-sha256");
  ASSERT_FALSE(ed.empty()) << "opendkim did not sign with ed25519";
  auto v = Check(ed);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].algorithm, Algorithm::kEd25519Sha256);
  EXPECT_EQ(v[0].result, Result::kPass) << v[0].reason;
}

TEST_F(DkimTest, OurSignaturesVerifyWithDkimpy) {
  for (const char* key : {"rsa", "ed"}) {
    SignOptions o;
    o.domain = "example.test";
    o.selector = key;
    o.private_key_pem = ReadFile(absl::StrCat(dir_, "/", key, ".pem"));
    auto sig = Sign(kMessage, o);
    ASSERT_TRUE(sig.ok()) << sig.status();
    const std::string signed_msg = absl::StrCat("DKIM-Signature: ", *sig, "\r\n", kMessage);
    WriteFile(dir_ + "/ours.eml", signed_msg);
    int rc = 0;
    const std::string out = Dkimpy(absl::StrCat("verify ", dir_, "/records"), dir_ + "/ours.eml", &rc);
    EXPECT_EQ(out, "pass\n") << key << ": " << *sig;
    EXPECT_EQ(rc, 0);
    auto v = Check(signed_msg);
    EXPECT_EQ(v[0].result, Result::kPass) << v[0].reason;
    // dkimpy also says no to a changed message.
    WriteFile(dir_ + "/ours-bad.eml", absl::StrReplaceAll(signed_msg, {{"Hello Bob", "Hello Eve"}}));
    EXPECT_EQ(Dkimpy(absl::StrCat("verify ", dir_, "/records"), dir_ + "/ours-bad.eml"), "fail\n");
  }
}

TEST_F(DkimTest, KeyRecordsAndClock) {
  SignOptions o;
  o.domain = "example.test";
  o.selector = "rsa";
  o.private_key_pem = ReadFile(dir_ + "/rsa.pem");
  o.now = 1700000000;
  o.expire_after = 3600;
  auto sig = Sign(kMessage, o);
  ASSERT_TRUE(sig.ok());
  const std::string msg = absl::StrCat("DKIM-Signature: ", *sig, "\r\n", kMessage);
  Options at;
  at.now = 1700000100;
  EXPECT_EQ(Check(msg, at)[0].result, Result::kPass);
  at.now = 1700000000 + 3600 + 301;  // past x= and the skew
  EXPECT_EQ(Check(msg, at)[0].result, Result::kFail);
  EXPECT_TRUE(absl::StrContains(Check(msg, at)[0].reason, "expired"));
  at.now = 1700000000 - 400;  // t= in the future
  EXPECT_EQ(Check(msg, at)[0].result, Result::kFail);

  const Prepared p = Prepare(msg);
  ASSERT_EQ(p.key_queries.size(), 1u);
  EXPECT_EQ(p.key_queries[0].name, "rsa._domainkey.example.test");
  at.now = 1700000100;
  auto with = [&](const std::string& record) { return Verify(p, {Txt(record)}, at)[0]; };
  Verdict v = with("v=DKIM1; k=rsa; p=");
  EXPECT_EQ(v.result, Result::kPermError);
  EXPECT_TRUE(absl::StrContains(v.reason, "revoked"));
  EXPECT_EQ(with("v=DKIM1; k=rsa; h=sha1; p=" + rsa_pub_).result, Result::kPermError) << "h= excludes sha256";
  EXPECT_EQ(with("v=DKIM1; k=ed25519; p=" + ed_pub_).result, Result::kPermError) << "key type mismatch";
  EXPECT_EQ(with("v=DKIM1; s=tlsrpt; p=" + rsa_pub_).result, Result::kPermError) << "not an e-mail key";
  v = with("v=DKIM1; t=y; p=" + rsa_pub_);
  EXPECT_EQ(v.result, Result::kPass);
  EXPECT_TRUE(v.testing);
  dns::Answer timeout;
  timeout.status = dns::Answer::Status::kTimeout;
  EXPECT_EQ(Verify(p, {timeout}, at)[0].result, Result::kTempError);
  dns::Answer nx;
  nx.status = dns::Answer::Status::kNxDomain;
  EXPECT_EQ(Verify(p, {nx}, at)[0].result, Result::kPermError);
}

TEST_F(DkimTest, BrokenSignaturesArePermerrors) {
  for (const char* f : {"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=x; h=to; bh=AAAA; b=AAAA\r\n",
                        "DKIM-Signature: v=2; a=rsa-sha256; d=example.test; s=x; h=from; bh=AAAA; b=AAAA\r\n",
                        "DKIM-Signature: v=1; a=rsa-md5; d=example.test; s=x; h=from; bh=AAAA; b=AAAA\r\n",
                        "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=x; h=from; bh=AAAA; b=AAAA; i=@other.test\r\n",
                        "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; h=from; bh=AAAA; b=AAAA\r\n"}) {
    auto v = Check(f + kMessage);
    ASSERT_EQ(v.size(), 1u) << f;
    EXPECT_EQ(v[0].result, Result::kPermError) << f;
    EXPECT_FALSE(v[0].reason.empty());
  }
}

// RFC 8463 appendix A (dkimpy's copy) and stalwart's vectors, keys from their DNS lines.
TEST(DkimVectors, Rfc8463AndStalwart) {
  const std::string dir = SharedDir() + "/vectors/dkim";
  ASSERT_TRUE(std::filesystem::exists(dir)) << "this test needs ../shared/vectors/dkim; set FARSIDE_SHARED_DIR";
  std::map<std::string, std::string> keys = {
      {"brisbane._domainkey.football.example.com", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
      {"test._domainkey.football.example.com", std::string(absl::StripAsciiWhitespace(ReadFile(dir + "/dkimpy/test.txt")))}};
  auto verify = [&](const std::string& msg, int64_t now) {
    Options o;
    o.now = now;
    const Prepared p = Prepare(msg, o);
    std::vector<dns::Answer> answers;
    for (const auto& q : p.key_queries) {
      dns::Answer a;
      auto it = keys.find(q.name);
      a.status = it == keys.end() ? dns::Answer::Status::kNxDomain : dns::Answer::Status::kOk;
      if (it != keys.end()) a.records = {it->second};
      answers.push_back(a);
    }
    return Verify(p, answers, o);
  };
  auto v = verify(ReadFile(dir + "/dkimpy/rfc6376.signed.msg"), 1528637909);
  ASSERT_EQ(v.size(), 2u);
  for (const Verdict& x : v) EXPECT_EQ(x.result, Result::kPass) << x.selector << ": " << x.reason;
  EXPECT_EQ(v[0].algorithm, Algorithm::kEd25519Sha256);

  int checked = 0;
  for (int i = 1; i <= 6; ++i) {
    const std::string text = ReadFile(absl::StrCat(dir, "/stalwart-mail-auth/dkim/00", i, ".txt"));
    const size_t blank = text.find("\n\n");
    ASSERT_NE(blank, std::string::npos);
    for (absl::string_view line : absl::StrSplit(text.substr(0, blank), '\n')) {
      const size_t sp = line.find(' ');
      keys[std::string(line.substr(0, sp))] = std::string(line.substr(sp + 1));
    }
    // 005 expires (x=) on 2022-11-08, and the newest signature (t=) is from just before.
    v = verify(text.substr(blank + 2), 1667900000);
    ASSERT_FALSE(v.empty()) << i;
    for (const Verdict& x : v) {
      EXPECT_EQ(x.result, Result::kPass) << "00" << i << " " << x.domain << "/" << x.selector << ": " << x.reason;
      ++checked;
    }
  }
  EXPECT_GE(checked, 6);
}

TEST(DkimCanon, BodiesAsTheRfcSaysThem) {
  // RFC 6376 section 3.4.5's example.
  EXPECT_EQ(CanonBody(" C \r\nD \t E\r\n\r\n\r\n", true), " C\r\nD E\r\n");
  EXPECT_EQ(CanonBody(" C \r\nD \t E\r\n\r\n\r\n", false), " C \r\nD \t E\r\n");
  EXPECT_EQ(CanonBody("", false), "\r\n");
  EXPECT_EQ(CanonBody("", true), "");
  EXPECT_EQ(CanonHeader({"A", "A: X\r\n"}, true).size(), 0u + std::string("a:X\r\n").size() + 0);
  RawMessage m = Split("A: X\nB : Y\t\n\tZ  \n\n C \nD \t E\n");
  ASSERT_EQ(m.fields.size(), 2u);
  EXPECT_EQ(CanonHeader(m.fields[0], true), "a:X\r\n");
  EXPECT_EQ(CanonHeader(m.fields[1], true), "b:Y Z\r\n");
  EXPECT_EQ(m.body, " C \r\nD \t E\r\n");
}

}  // namespace
}  // namespace farside::dkim
