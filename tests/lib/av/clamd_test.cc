// The zINSTREAM codec, and the client against a real clamd (TCP and unix socket), one that
// is not there, and a socket that takes the stream and never answers.
#include "lib/av/clamd.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/clamd.h"

namespace farside::av {
namespace {

TEST(ClamdCodec, FramesAndReplies) {
  const std::string f = FrameInstream("abcde", 2);
  EXPECT_EQ(f, std::string("zINSTREAM\0\0\0\0\2ab\0\0\0\2cd\0\0\0\1e\0\0\0\0", 10 + 6 + 6 + 5 + 4));
  EXPECT_EQ(FrameInstream(""), std::string("zINSTREAM\0\0\0\0\0", 14));
  auto v = ParseReply(std::string("stream: OK\0", 11));
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->infected);
  v = ParseReply("stream: Win.Test.EICAR_HDB-1 FOUND\n");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->infected);
  EXPECT_EQ(v->virus, "Win.Test.EICAR_HDB-1");
  EXPECT_FALSE(ParseReply("INSTREAM size limit exceeded. ERROR").ok());
  EXPECT_FALSE(ParseReply("garbage").ok());
  EXPECT_FALSE(Clamd::Create("nohost").ok());
  EXPECT_FALSE(Clamd::Create("127.0.0.1:99999").ok());
}

TEST(ClamdClient, ARealClamdFindsEicar) {
  farside::testing::Clamd clamd(::testing::TempDir() + "/clamd-test-" + std::to_string(getpid()));
  ASSERT_TRUE(clamd.ready()) << "clamd did not start (Debian's clamav-daemon)";
  for (const std::string& addr : {clamd.tcp(), clamd.unix_socket()}) {
    auto c = Clamd::Create(addr);
    ASSERT_TRUE(c.ok()) << c.status();
    auto v = (*c)->Scan("Just some text.\n", absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_FALSE(v->infected);
    v = (*c)->Scan("Here it comes: " + farside::testing::EicarTestFile() + "\n", absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_TRUE(v->infected);
    EXPECT_TRUE(absl::StartsWith(v->virus, "Farside.Test.EICAR")) << v->virus;
  }
  const int port = clamd.port();
  clamd.Stop();
  auto c = Clamd::Create("127.0.0.1:" + std::to_string(port));
  auto v = (*c)->Scan("x", absl::Now() + absl::Seconds(2));
  EXPECT_TRUE(absl::IsUnavailable(v.status())) << v.status();
}

TEST(ClamdClient, ASilentPeerEndsAtTheDeadline) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  listen(fd, 4);  // connections complete in the kernel; nobody ever reads or answers
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  auto c = Clamd::Create("127.0.0.1:" + std::to_string(ntohs(a.sin_port)));
  const absl::Time t0 = absl::Now();
  auto v = (*c)->Scan("x", absl::Now() + absl::Milliseconds(300));
  const absl::Duration took = absl::Now() - t0;
  EXPECT_TRUE(absl::IsDeadlineExceeded(v.status())) << v.status();
  EXPECT_LT(took, absl::Milliseconds(600));
  close(fd);
}

}  // namespace
}  // namespace farside::av
