// HOST:PORT parsing.
#include "lib/common/host_port.h"

#include "gtest/gtest.h"

namespace farside {
namespace {

TEST(HostPort, ParsesNamesIpv4AndBracketedIpv6) {
  auto a = ParseHostPort("127.0.0.1:11433");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 11433);
  auto b = ParseHostPort("[::1]:25");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->ToString(), "[::1]:25");
  auto c = ParseHostPort("scanner.farside.svc:11433");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ToString(), "scanner.farside.svc:11433");
}

TEST(HostPort, RefusesWhatIsNotAnAddress) {
  for (const char* bad : {"", "localhost", ":25", "host:", "host:0", "host:65536", "host:x",
                          "::1:25", "[::1]25", "[::1"}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace farside
