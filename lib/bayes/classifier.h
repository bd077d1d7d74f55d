// Naive-Bayes classification with Robinson's token probabilities and Fisher's chi-square
// combining (as SpamBayes, SpamAssassin and Rspamd do): robust to many weak tokens and
// honest about mail it cannot tell ("unsure" near 0.5).
#ifndef FARSIDE_LIB_BAYES_CLASSIFIER_H_
#define FARSIDE_LIB_BAYES_CLASSIFIER_H_

#include <cstdint>
#include <string>
#include <vector>

namespace farside::bayes {

// How often a token was seen in learned spam and in learned ham.
struct TokenCounts {
  uint32_t spam = 0;
  uint32_t ham = 0;
};

struct ClassifierOptions {
  uint64_t min_learned = 200;     // of each class before any answer is given
  double strength = 1.0;          // Robinson's s: weight of the prior for rare tokens
  double prior = 0.5;             // Robinson's x
  double min_deviation = 0.1;     // tokens with |f - 0.5| below this are ignored
  size_t max_tokens = 400;        // the strongest tokens used (150 lost 1-2% recall)
  uint32_t min_token_count = 1;   // a token seen fewer times (both classes) is ignored
};

struct Classification {
  bool ready = false;        // false: too little learned (reason says how much)
  double probability = 0.5;  // 0 = ham .. 1 = spam
  size_t tokens_used = 0;
  std::string reason;
};

// One token's spam probability f(w) from its counts and the learned totals.
double TokenProbability(const TokenCounts& c, uint64_t learned_spam, uint64_t learned_ham,
                        const ClassifierOptions& o);

Classification Classify(const std::vector<TokenCounts>& tokens, uint64_t learned_spam,
                        uint64_t learned_ham, const ClassifierOptions& options);

// Upper tail of the chi-square distribution with `dof` (even) degrees of freedom.
double Chi2Q(double x2, int dof);

}  // namespace farside::bayes

#endif  // FARSIDE_LIB_BAYES_CLASSIFIER_H_
