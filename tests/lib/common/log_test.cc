// The logger's configuration checks.
#include "lib/common/log.h"

#include "gtest/gtest.h"

namespace farside::log {
namespace {

TEST(Log, LevelsFilterAndBadSettingsAreErrors) {
  ASSERT_TRUE(Configure("test", "warning", "json").ok());
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
  ASSERT_TRUE(Configure("test", "debug", "text").ok());
  EXPECT_TRUE(Enabled(Level::kDebug));
  EXPECT_FALSE(Configure("test", "loud", "text").ok());
  EXPECT_FALSE(Configure("test", "info", "xml").ok());
}

}  // namespace
}  // namespace farside::log
