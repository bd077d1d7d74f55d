// The Bayes tokenizer (normalisation, words, OSB pairs, headers, URLs) and the
// Robinson-Fisher classifier.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/bayes/classifier.h"
#include "lib/bayes/tokenizer.h"
#include "lib/mime/message.h"

namespace farside::bayes {
namespace {

using V = std::vector<std::string>;

TEST(WordsTest, NormalisesCaseWidthAndCompatibilityForms) {
  TokenizerOptions o;
  EXPECT_EQ(Words("FREE Free ＦＲＥＥ ﬁnance", o), (V{"free", "free", "free", "finance"}));
  EXPECT_EQ(Words("Straße STRASSE", o), (V{"strasse", "strasse"}));
  EXPECT_EQ(Words("Viagra!!! v1agra, café-crème", o),
            (V{"viagra", "v1agra", "café", "crème"}));
}

TEST(WordsTest, SplitsUnspacedScriptsAndShortensRunsThatAreNotWords) {
  TokenizerOptions o;
  EXPECT_EQ(Words("無料で今すぐ", o), (V{"無", "料", "で", "今", "す", "ぐ"}));
  EXPECT_EQ(Words("a I ok", o), (V{"ok"})) << "one-byte words are noise";
  V longw = Words(std::string(100, 'q'), o);
  ASSERT_EQ(longw.size(), 1u);
  EXPECT_EQ(longw[0], "\x01long10qqqqqq");
  EXPECT_EQ(Words("ab\xff\xfe" "cd", o), (V{"ab", "cd"})) << "invalid UTF-8 separates";
}

std::vector<uint64_t> Tokens(const std::string& raw, TokenizerOptions o = {}) {
  mime::Message m = mime::Message::Parse(raw, mime::Message::DefaultLimits());
  std::vector<uint64_t> t = Tokenize(m, o);
  std::sort(t.begin(), t.end());
  return t;
}

bool Has(const std::vector<uint64_t>& t, uint64_t token) {
  return std::binary_search(t.begin(), t.end(), token);
}

TEST(TokenizeTest, WordsPairsSubjectHeadersAndUrls) {
  auto t = Tokens("From: Alice <alice@example.test>\r\nSubject: Cheap Meds\r\n"
                  "Content-Type: text/html\r\n\r\n<p>Buy <b>cheap</b> pills at "
                  "<a href=\"http://shop.pills.example.com/offer\">here</a></p>\r\n");
  EXPECT_TRUE(Has(t, WordToken("s", "cheap")));
  EXPECT_TRUE(Has(t, PairToken("s", "cheap", "meds", 1)));
  EXPECT_TRUE(Has(t, WordToken("t", "buy"))) << "the HTML as a reader sees it";
  EXPECT_FALSE(Has(t, WordToken("t", "href")));
  EXPECT_TRUE(Has(t, PairToken("t", "buy", "cheap", 1)));
  EXPECT_FALSE(Has(t, PairToken("t", "cheap", "buy", 1))) << "pairs keep their order";
  EXPECT_FALSE(Has(t, PairToken("t", "buy", "cheap", 2))) << "and their distance";
  EXPECT_TRUE(Has(t, PairToken("t", "buy", "pills", 2))) << "a sparse pair, one word skipped";
  EXPECT_FALSE(Has(t, PairToken("t", "buy", "at", 3))) << "beyond the window (3 words)";
  EXPECT_TRUE(Has(t, WordToken("p", "offer"))) << "the link's path";
  EXPECT_TRUE(Has(t, WordToken("h:from", "alice")));
  EXPECT_TRUE(Has(t, WordToken("u", "shop.pills.example.com")));
  EXPECT_TRUE(Has(t, WordToken("d", "example.com")));
  EXPECT_EQ(std::adjacent_find(t.begin(), t.end()), t.end()) << "each token once";
}

TEST(TokenizeTest, TheNewestRelaysAreTokens) {
  std::string header;
  for (int i = 1; i <= 4; ++i) {
    header += "Received: from helo" + std::to_string(i) + ".example (rdns" + std::to_string(i) +
              ".example [192.0.2." + std::to_string(i) + "]) by mx.example.org with ESMTP id X" +
              std::to_string(i) + "; Thu, 3 Dec 2026 10:00:00 +0000\r\n";
  }
  auto t = Tokens(header + "Subject: x\r\n\r\nbody\r\n");
  EXPECT_TRUE(Has(t, WordToken("r:helo", "helo1.example")));
  EXPECT_TRUE(Has(t, WordToken("r:rdns", "rdns1.example")));
  EXPECT_TRUE(Has(t, WordToken("r:ip", "192.0.2.1")));
  EXPECT_TRUE(Has(t, WordToken("r:net", "192.0.2")));
  EXPECT_TRUE(Has(t, WordToken("r:with", "esmtp")));
  EXPECT_TRUE(Has(t, WordToken("r:by", "mx.example.org")));
  EXPECT_TRUE(Has(t, WordToken("r:ip", "192.0.2.3"))) << "the third newest";
  EXPECT_FALSE(Has(t, WordToken("r:ip", "192.0.2.4"))) << "but not the fourth (received_hops 3)";
}

TEST(TokenizeTest, TheTokenCountIsBounded) {
  std::string body;
  for (int i = 0; i < 20000; ++i) body += "w" + std::to_string(i) + " ";
  TokenizerOptions o;
  o.max_tokens = 500;
  EXPECT_EQ(Tokens("Subject: x\r\n\r\n" + body + "\r\n", o).size(), 500u);
}

TEST(ClassifierTest, ChiSquareTail) {
  EXPECT_NEAR(Chi2Q(0, 2), 1.0, 1e-12);
  EXPECT_NEAR(Chi2Q(2, 2), std::exp(-1.0), 1e-12);
  EXPECT_NEAR(Chi2Q(10, 10), 0.4405, 1e-3);  // tables: P(X2 > 10 | 10 dof)
}

TEST(ClassifierTest, SilentUntilEnoughIsLearned) {
  ClassifierOptions o;
  Classification c = Classify({{50, 0}}, 199, 500, o);
  EXPECT_FALSE(c.ready);
  EXPECT_NE(c.reason.find("199 spam"), std::string::npos) << c.reason;
}

TEST(ClassifierTest, SpammyHammyAndUnsureMail) {
  ClassifierOptions o;
  std::vector<TokenCounts> spammy(30, {80, 1}), hammy(30, {1, 80}), mixed;
  for (int i = 0; i < 15; ++i) {
    mixed.push_back({80, 1});
    mixed.push_back({1, 80});
  }
  EXPECT_GT(Classify(spammy, 1000, 1000, o).probability, 0.99);
  EXPECT_LT(Classify(hammy, 1000, 1000, o).probability, 0.01);
  Classification u = Classify(mixed, 1000, 1000, o);
  EXPECT_NEAR(u.probability, 0.5, 0.05) << "strong evidence both ways is unsure, not extreme";
  // Unknown tokens say nothing at all.
  Classification none = Classify(std::vector<TokenCounts>(50), 1000, 1000, o);
  EXPECT_TRUE(none.ready);
  EXPECT_EQ(none.tokens_used, 0u);
  EXPECT_DOUBLE_EQ(none.probability, 0.5);
}

TEST(ClassifierTest, RatesNotCountsSoAnUnbalancedCorpusDoesNotTilt) {
  ClassifierOptions o;
  // Seen in 10% of each class, with ten times more ham learned: neutral.
  EXPECT_NEAR(TokenProbability({100, 1000}, 1000, 10000, o), 0.5, 1e-3);
  // A rare token is pulled towards the prior.
  EXPECT_LT(TokenProbability({1, 0}, 1000, 1000, o), 0.76);
  EXPECT_GT(TokenProbability({50, 0}, 1000, 1000, o), 0.97);
}

}  // namespace
}  // namespace farside::bayes
