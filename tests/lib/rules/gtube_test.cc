// GTUBE and its action variants.
#include "lib/rules/gtube.h"

#include <string>

#include "gtest/gtest.h"

namespace farside::rules {
namespace {

const std::string kTail = "JS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

TEST(Gtube, StandardStringForcesReject) {
  const std::string body = "Hello\n\nX" + kTail + "\nbye\n";
  auto m = FindGtube(body);  // the match points into body
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->forced_action, farside::v1::REJECT);
  EXPECT_EQ(m->matched, "X" + kTail);
}

TEST(Gtube, VariantsForceTheirActions) {
  EXPECT_EQ(FindGtube("Y" + kTail)->forced_action, farside::v1::ADD_HEADER);
  EXPECT_EQ(FindGtube("Z" + kTail)->forced_action, farside::v1::REWRITE_SUBJECT);
  EXPECT_EQ(FindGtube("A" + kTail)->forced_action, farside::v1::NO_ACTION);
}

TEST(Gtube, NearMissesDoNotMatch) {
  EXPECT_FALSE(FindGtube("What, I sent you the GTUBE? oops!").has_value());
  EXPECT_FALSE(FindGtube(kTail).has_value()) << "no leading letter";
  EXPECT_FALSE(FindGtube("Q" + kTail).has_value()) << "unknown letter";
  EXPECT_FALSE(FindGtube("X" + kTail.substr(0, kTail.size() - 1)).has_value()) << "truncated";
  EXPECT_FALSE(FindGtube("").has_value());
  // An unknown letter first, a real one later: the real one is found.
  auto m = FindGtube("Q" + kTail + " X" + kTail);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->forced_action, farside::v1::REJECT);
}

}  // namespace
}  // namespace farside::rules
