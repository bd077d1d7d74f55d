// The CLI's argument parser.
#include "tools/farside/args.h"

#include "gtest/gtest.h"

namespace farside::cli {
namespace {

absl::StatusOr<Args> Parse(std::vector<std::string> words) {
  words.insert(words.begin(), "farside");
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return ParseArgs(static_cast<int>(argv.size()), argv.data(), {"scanner", "timeout"},
                   {"json"});
}

TEST(Args, OptionsAnywhereBothSpellingsAndStdin) {
  auto a = Parse({"--scanner", "h:1", "scan", "--json", "-", "b.eml", "--timeout=5s"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->Get("scanner"), "h:1");
  EXPECT_EQ(a->Get("timeout"), "5s");
  EXPECT_TRUE(a->Has("json"));
  EXPECT_EQ(a->positional, (std::vector<std::string>{"scan", "-", "b.eml"}));
  auto b = Parse({"scan", "--", "--json"});
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->Has("json"));
  EXPECT_EQ(b->positional.back(), "--json");
}

TEST(Args, MistakesAreErrorsNamingTheOption) {
  EXPECT_EQ(Parse({"--nope"}).status().message(), "unknown option '--nope' (see --help)");
  EXPECT_EQ(Parse({"--scanner"}).status().message(), "option --scanner needs a value");
  EXPECT_EQ(Parse({"--json=1"}).status().message(), "option --json takes no value");
  EXPECT_FALSE(Parse({"-x"}).ok());
}

}  // namespace
}  // namespace farside::cli
