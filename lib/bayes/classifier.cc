// Robinson-Fisher classification.
#include "lib/bayes/classifier.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace farside::bayes {

double Chi2Q(double x2, int dof) {
  // Closed form for even degrees of freedom: e^-m * sum_{i<dof/2} m^i / i!.
  const double m = x2 / 2.0;
  double term = std::exp(-m);
  double sum = term;
  for (int i = 1; i < dof / 2; ++i) {
    term *= m / i;
    sum += term;
  }
  return std::min(sum, 1.0);
}

double TokenProbability(const TokenCounts& c, uint64_t learned_spam, uint64_t learned_ham,
                        const ClassifierOptions& o) {
  if (learned_spam == 0 || learned_ham == 0) return o.prior;
  // Rates, not raw counts, so an unbalanced training set does not tilt every token.
  const double spam_rate = std::min(1.0, static_cast<double>(c.spam) / static_cast<double>(learned_spam));
  const double ham_rate = std::min(1.0, static_cast<double>(c.ham) / static_cast<double>(learned_ham));
  if (spam_rate + ham_rate == 0) return o.prior;
  const double p = spam_rate / (spam_rate + ham_rate);
  const double n = static_cast<double>(c.spam) + static_cast<double>(c.ham);
  return (o.strength * o.prior + n * p) / (o.strength + n);
}

Classification Classify(const std::vector<TokenCounts>& tokens, uint64_t learned_spam,
                        uint64_t learned_ham, const ClassifierOptions& o) {
  Classification r;
  if (learned_spam < o.min_learned || learned_ham < o.min_learned) {
    r.reason = absl::StrCat("learned ", learned_spam, " spam and ", learned_ham,
                            " ham; ", o.min_learned, " of each are needed");
    return r;
  }
  r.ready = true;
  std::vector<double> f;
  f.reserve(tokens.size());
  for (const TokenCounts& t : tokens) {
    if (t.spam + t.ham < o.min_token_count) continue;
    double p = TokenProbability(t, learned_spam, learned_ham, o);
    if (std::fabs(p - 0.5) >= o.min_deviation) f.push_back(p);
  }
  if (f.size() > o.max_tokens) {
    std::nth_element(f.begin(), f.begin() + static_cast<long>(o.max_tokens), f.end(),
                     [](double a, double b) { return std::fabs(a - 0.5) > std::fabs(b - 0.5); });
    f.resize(o.max_tokens);
  }
  r.tokens_used = f.size();
  if (f.empty()) {
    r.reason = "no token says anything";
    return r;
  }
  // Sums of logs, not products: a thousand small factors underflow a double.
  double ln_spam = 0, ln_ham = 0;
  for (double p : f) {
    p = std::clamp(p, 1e-6, 1.0 - 1e-6);
    ln_ham += std::log(p);        // small when the tokens are spammy
    ln_spam += std::log(1.0 - p);  // small when the tokens are hammy
  }
  const int dof = 2 * static_cast<int>(f.size());
  const double s = 1.0 - Chi2Q(-2.0 * ln_spam, dof);  // evidence for spam
  const double h = 1.0 - Chi2Q(-2.0 * ln_ham, dof);   // evidence for ham
  r.probability = (s - h + 1.0) / 2.0;
  return r;
}

}  // namespace farside::bayes
