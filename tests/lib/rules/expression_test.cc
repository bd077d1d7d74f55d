// The composite expression language: precedence, operators, errors and limits.
#include "lib/rules/expression.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace farside::rules {
namespace {

double Eval(const std::string& text, const std::map<std::string, double>& hits) {
  absl::StatusOr<Expression> e = Expression::Parse(text);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status();
  if (!e.ok()) return -1;
  return e->Evaluate([&](const std::string& s) {
    auto it = hits.find(s);
    return it == hits.end() ? 0.0 : it->second;
  });
}

TEST(Expression, LogicOverSymbolsAsMetaRulesUseIt) {
  std::map<std::string, double> hits = {{"FROM_OTHER_DOMAIN", 1}, {"DKIM_PASS", 0}};
  EXPECT_EQ(Eval("FROM_OTHER_DOMAIN && !DKIM_PASS", hits), 1);
  EXPECT_EQ(Eval("FROM_OTHER_DOMAIN && DKIM_PASS", hits), 0);
  EXPECT_EQ(Eval("DKIM_PASS || FROM_OTHER_DOMAIN", hits), 1);
  EXPECT_EQ(Eval("!(DKIM_PASS || UNKNOWN_SYMBOL)", hits), 1) << "unknown symbols are 0";
}

TEST(Expression, SumsAndComparisonsCountHits) {
  std::map<std::string, double> hits = {{"A", 1}, {"B", 1}, {"C", 0}, {"URI_COUNT", 7}};
  EXPECT_EQ(Eval("A + B + C > 1", hits), 1);
  EXPECT_EQ(Eval("A + B + C >= 3", hits), 0);
  EXPECT_EQ(Eval("URI_COUNT <= 7 && URI_COUNT != 6 && URI_COUNT == 7", hits), 1);
  EXPECT_EQ(Eval("URI_COUNT < 7", hits), 0);
  EXPECT_EQ(Eval("2 * URI_COUNT - 4 / 2", hits), 12);
  EXPECT_EQ(Eval("-A + 2", hits), 1);
}

TEST(Expression, PrecedenceOrIsLowestThenAndThenComparisonThenArithmetic) {
  std::map<std::string, double> hits = {{"A", 1}, {"B", 0}, {"C", 1}};
  EXPECT_EQ(Eval("A || B && C", hits), 1);      // A || (B && C)
  EXPECT_EQ(Eval("(A || B) && !C", hits), 0);
  EXPECT_EQ(Eval("A + C > 1 && !B", hits), 1);  // ((A + C) > 1) && !B
  EXPECT_EQ(Eval("1 + 2 * 3", hits), 7);
}

TEST(Expression, DivisionByZeroIsZeroNotNan) { EXPECT_EQ(Eval("A / B", {{"A", 1}}), 0); }

TEST(Expression, SymbolsAreListedOnceInOrderOfUse) {
  auto e = Expression::Parse("B && (A || B) && !C_1");
  ASSERT_TRUE(e.ok());
  EXPECT_THAT(e->symbols(), ::testing::ElementsAre("B", "A", "C_1"));
}

TEST(Expression, MistakesNameTheColumn) {
  for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
           {"A &&", "at column 5: expected a symbol, a number or '(' at the end"},
           {"(A || B", "expected ')'"},
           {"A B", "at column 3: unexpected 'B'"},
           {"A & B", "unexpected '&'"},
           {"A || $B", "got '$'"},
           {"1.2.3 > A", "bad number '1.2.3'"},
           {"", "at the end"}}) {
    auto e = Expression::Parse(text);
    ASSERT_FALSE(e.ok()) << text;
    EXPECT_THAT(std::string(e.status().message()), ::testing::HasSubstr(want)) << text;
  }
}

TEST(Expression, LimitsStopHostileInput) {
  std::string deep(100, '(');
  deep += "A" + std::string(100, ')');
  auto d = Expression::Parse(deep);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(std::string(d.status().message()), ::testing::HasSubstr("nested too deeply"));
  EXPECT_TRUE(Expression::Parse(std::string(50, '(') + "A" + std::string(50, ')')).ok());
  auto bangs = Expression::Parse(std::string(5000, '!') + "A");
  EXPECT_FALSE(bangs.ok()) << "unary chains count as nesting too";
  EXPECT_FALSE(Expression::Parse(std::string(20000, 'A')).ok()) << "over max_length";
}

}  // namespace
}  // namespace farside::rules
