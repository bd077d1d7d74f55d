// The resolver against a real dnsmasq on loopback (started here, stopped by PID), and
// against a UDP socket that never answers; the wire helper on hand-made replies.
#include "lib/dns/resolver.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/dns/wire.h"
#include "tests/support/dnsmasq.h"

namespace farside::dns {
namespace {

using farside::testing::BindUdp;
using farside::testing::Dnsmasq;

std::unique_ptr<Resolver> Make(int port, absl::Duration timeout = absl::Milliseconds(500)) {
  Resolver::Options o;
  o.servers = {absl::StrCat("127.0.0.1:", port)};
  o.query_timeout = timeout;
  o.tries = 2;
  auto r = Resolver::Create(o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::move(*r) : nullptr;
}

// Waits until dnsmasq answers (it starts in a few ms).
bool Ready(Resolver& r) {
  for (int i = 0; i < 50; ++i) {
    auto a = r.Lookup({{"a.example.test", Type::kA}}, absl::Now() + absl::Milliseconds(200));
    if (a[0].status == Answer::Status::kOk) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

TEST(Resolver, AnswersFromARealServerInOneBatchAndCachesByTtl) {
  if (access("/usr/sbin/dnsmasq", X_OK) != 0) GTEST_FAIL() << "dnsmasq is not installed (package dnsmasq-base)";
  Dnsmasq d({"--local=/example.test/", "--local-ttl=300", "--host-record=a.example.test,192.0.2.1,2001:db8::1",
             "--txt-record=example.test,v=spf1-part-one.,part-two",
             "--txt-record=two.example.test,first", "--txt-record=two.example.test,second"});
  auto r = Make(d.port());
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(Ready(*r)) << "dnsmasq did not answer on " << d.port();
  const absl::Time start = absl::Now();
  std::vector<Answer> a = r->Lookup({{"a.example.test", Type::kA},
                                     {"a.example.test", Type::kAaaa},
                                     {"example.test", Type::kTxt},
                                     {"two.example.test", Type::kTxt},
                                     {"nothere.example.test", Type::kA}},
                                    absl::Now() + absl::Seconds(3));
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a[0].status, Answer::Status::kOk);
  ASSERT_EQ(a[0].records.size(), 1u);
  EXPECT_EQ(a[0].records[0], "192.0.2.1");
  EXPECT_TRUE(a[0].cached) << "the readiness probe asked it already";
  EXPECT_EQ(a[1].status, Answer::Status::kOk);
  ASSERT_EQ(a[1].records.size(), 1u);
  EXPECT_EQ(a[1].records[0], "2001:db8::1");
  EXPECT_EQ(a[1].ttl, 300u);
  EXPECT_EQ(a[2].status, Answer::Status::kOk);
  ASSERT_EQ(a[2].records.size(), 1u);
  EXPECT_EQ(a[2].records[0], "v=spf1-part-one.part-two") << "the strings of one record are one text";
  EXPECT_EQ(a[2].ttl, 300u) << "TXT TTLs come from the wire";
  EXPECT_EQ(a[3].records.size(), 2u) << "two records stay two";
  EXPECT_EQ(a[4].status, Answer::Status::kNxDomain);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));

  // With the server gone, the cache still answers, NXDOMAIN included.
  d.Stop();
  a = r->Lookup({{"example.test", Type::kTxt}, {"nothere.example.test", Type::kA}}, absl::Now() + absl::Seconds(1));
  EXPECT_EQ(a[0].status, Answer::Status::kOk);
  EXPECT_TRUE(a[0].cached);
  EXPECT_EQ(a[1].status, Answer::Status::kNxDomain);
  EXPECT_TRUE(a[1].cached);
}

TEST(Resolver, AServerThatNeverAnswersCostsNoMoreThanTheDeadline) {
  int port = 0;
  const int silent = BindUdp(&port);  // reads nothing, answers nothing
  ASSERT_GE(silent, 0);
  auto r = Make(port, absl::Seconds(5));
  ASSERT_NE(r, nullptr);
  std::vector<Query> many;
  for (int i = 0; i < 20; ++i) many.push_back({absl::StrCat("h", i, ".example.test"), Type::kA});
  const absl::Time start = absl::Now();
  std::vector<Answer> a = r->Lookup(many, absl::Now() + absl::Milliseconds(300));
  const absl::Duration took = absl::Now() - start;
  for (const Answer& x : a) EXPECT_EQ(x.status, Answer::Status::kTimeout);
  EXPECT_GE(took, absl::Milliseconds(290));
  EXPECT_LT(took, absl::Milliseconds(600)) << "the whole batch waits once, for its deadline";
  close(silent);
}

TEST(Resolver, BadServersAreAnError) {
  Resolver::Options o;
  o.servers = {};
  EXPECT_FALSE(Resolver::Create(o).ok());
  o.servers = {"not an address"};
  EXPECT_FALSE(Resolver::Create(o).ok());
}

// A reply to one question, "a.test A", with the given answers' TTLs.
std::string Reply(const std::vector<uint32_t>& ttls) {
  std::string b = {0, 1, char(0x81), char(0x80), 0, 1, 0, static_cast<char>(ttls.size()), 0, 0, 0, 0};
  b += std::string("\x01" "a" "\x04" "test" "\x00", 8);
  b += std::string("\x00\x01\x00\x01", 4);
  for (uint32_t t : ttls) {
    b += std::string("\xc0\x0c\x00\x01\x00\x01", 6);
    for (int s = 24; s >= 0; s -= 8) b += static_cast<char>((t >> s) & 0xff);
    b += std::string("\x00\x04\xc0\x00\x02\x01", 6);
  }
  return b;
}

TEST(Wire, MinAnswerTtlReadsTheAnswersAndRefusesWhatRunsShort) {
  EXPECT_EQ(MinAnswerTtl(Reply({300, 60, 900})), 60u);
  EXPECT_EQ(MinAnswerTtl(Reply({0x80000001u})), 0u) << "a TTL with the top bit set is zero";
  EXPECT_FALSE(MinAnswerTtl(Reply({})).has_value());
  std::string cut = Reply({300});
  for (size_t n = 0; n < cut.size(); ++n) EXPECT_FALSE(MinAnswerTtl(cut.substr(0, n)).has_value()) << n;
}

}  // namespace
}  // namespace farside::dns
