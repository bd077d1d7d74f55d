// Score to action, and SMTP reply parsing.
#include "lib/rules/actions.h"

#include "gtest/gtest.h"

namespace farside::rules {
namespace {

using farside::v1::Action;

farside::v1::ActionThresholds RspamdDefaults() {
  farside::v1::ActionThresholds t;
  t.set_greylist(4);
  t.set_add_header(6);
  t.set_reject(15);
  return t;
}

TEST(ActionForScore, HighestThresholdReachedWins) {
  auto t = RspamdDefaults();
  EXPECT_EQ(ActionForScore(-5, t), farside::v1::NO_ACTION);
  EXPECT_EQ(ActionForScore(3.99, t), farside::v1::NO_ACTION);
  EXPECT_EQ(ActionForScore(4, t), farside::v1::GREYLIST);
  EXPECT_EQ(ActionForScore(6, t), farside::v1::ADD_HEADER);
  EXPECT_EQ(ActionForScore(14.9, t), farside::v1::ADD_HEADER);
  EXPECT_EQ(ActionForScore(15, t), farside::v1::REJECT);
  EXPECT_EQ(ActionForScore(1000, t), farside::v1::REJECT);
  t.set_rewrite_subject(8);
  EXPECT_EQ(ActionForScore(9, t), farside::v1::REWRITE_SUBJECT);
}

TEST(ActionForScore, UnsetThresholdsNeverFireAndTiesGoToTheHarsher) {
  farside::v1::ActionThresholds none;
  EXPECT_EQ(ActionForScore(1e9, none), farside::v1::NO_ACTION);
  farside::v1::ActionThresholds tie;
  tie.set_add_header(5);
  tie.set_soft_reject(5);
  EXPECT_EQ(ActionForScore(5, tie), farside::v1::SOFT_REJECT);
  // An administrator may set a lower reject than greylist: thresholds, not order, decide.
  farside::v1::ActionThresholds odd;
  odd.set_reject(3);
  odd.set_greylist(4);
  EXPECT_EQ(ActionForScore(3.5, odd), farside::v1::REJECT);
  EXPECT_EQ(ActionForScore(4.5, odd), farside::v1::GREYLIST);
}

TEST(ThresholdsFromConfig, CopiesOnlyWhatIsSet) {
  farside::v1::ActionsConfig c;
  c.set_reject(12);
  auto t = ThresholdsFromConfig(c);
  EXPECT_TRUE(t.has_reject());
  EXPECT_FALSE(t.has_greylist());
}

TEST(ParseSmtpReply, WithAndWithoutEnhancedCode) {
  auto a = ParseSmtpReply("550 5.7.1 Message rejected as spam");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->code(), 550u);
  EXPECT_EQ(a->enhanced_code(), "5.7.1");
  EXPECT_EQ(a->text(), "Message rejected as spam");
  auto b = ParseSmtpReply("451 Try later");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->enhanced_code(), "");
  EXPECT_EQ(b->text(), "Try later");
}

TEST(ParseSmtpReply, RefusesBadReplies) {
  for (const char* bad : {"", "250 ok", "55 short", "abc def", "550", "550 4.7.1 class differs",
                          "600 6.0.0 too high"}) {
    EXPECT_FALSE(ParseSmtpReply(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace farside::rules
