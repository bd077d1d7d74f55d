// Bayes on its own, offline: the same split as bench/accuracy (under each spam/ and ham/
// directory, files sorted by name, every fifth held out), counts kept in memory, so
// tokenizer and classifier settings can be compared in seconds. Prints recall and false
// positives at the symbol thresholds, and tokens per message and tokenizing speed.
//
// usage: build/bench/bayes_eval CORPUS_DIR [--fold F] [--misses] [--scores] [--headers A,B,...]
//          [--window N] [--max_tokens N] [--min_word N] [--max_word N] [--received_hops N] [--strength S]
//          [--prior X] [--min_deviation D] [--max_used N] [--min_count N]
// --fold F holds out the files whose index is F mod 5 (4, the default, is bench/accuracy's
// split); running all five folds and summing gives a figure a setting cannot be fitted to.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "lib/bayes/classifier.h"
#include "lib/bayes/tokenizer.h"
#include "lib/mime/message.h"

namespace {

struct Sample {
  bool spam;
  bool test;
  std::vector<uint64_t> tokens;
  std::string path;
};

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bayes_eval CORPUS_DIR [--fold F] [--misses] [--scores] [--headers A,B,...] "
                         "[--window N] [--max_tokens N] [--min_word N] [--max_word N] [--received_hops N] [--strength S] "
                         "[--prior X] [--min_deviation D] [--max_used N] [--min_count N]\n");
    return 2;
  }
  farside::bayes::TokenizerOptions to;
  farside::bayes::ClassifierOptions co;
  bool misses = false, scores = false;
  size_t fold = 4;  // which fifth is held out: 4 is bench/accuracy's; others cross-validate
  for (int i = 2; i < argc; i += 2) {
    if (std::string(argv[i]) == "--headers" && i + 1 < argc) {
      to.headers = absl::StrSplit(argv[i + 1], ',', absl::SkipEmpty());
      continue;
    }
    if (std::string(argv[i]) == "--misses" || std::string(argv[i]) == "--scores") {
      (std::string(argv[i]) == "--misses" ? misses : scores) = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) return 2;
    const std::string k = argv[i], v = argv[i + 1];
    double d = 0;
    if (!absl::SimpleAtod(v, &d)) return 2;
    if (k == "--window") to.window = static_cast<size_t>(d);
    else if (k == "--max_tokens") to.max_tokens = static_cast<size_t>(d);
    else if (k == "--strength") co.strength = d;
    else if (k == "--min_deviation") co.min_deviation = d;
    else if (k == "--max_used") co.max_tokens = static_cast<size_t>(d);
    else if (k == "--min_word") to.min_word_bytes = static_cast<size_t>(d);
    else if (k == "--max_word") to.max_word_bytes = static_cast<size_t>(d);
    else if (k == "--min_count") co.min_token_count = static_cast<uint32_t>(d);
    else if (k == "--prior") co.prior = d;
    else if (k == "--received_hops") to.received_hops = static_cast<size_t>(d);
    else if (k == "--fold") fold = static_cast<size_t>(d) % 5;
    else return 2;
  }
  std::map<std::string, std::vector<std::filesystem::path>> sets;
  for (const auto& e : std::filesystem::recursive_directory_iterator(argv[1])) {
    if (!e.is_regular_file()) continue;
    const std::string parent = e.path().parent_path().filename().string();
    if (parent == "spam" || parent == "ham") sets[parent].push_back(e.path());
  }
  std::vector<Sample> samples;
  size_t tokens = 0;
  double seconds = 0;
  for (auto& [label, files] : sets) {
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.filename() < b.filename(); });
    for (size_t i = 0; i < files.size(); ++i) {
      const std::string bytes = Read(files[i]);
      const auto t0 = std::chrono::steady_clock::now();
      farside::mime::Message msg = farside::mime::Message::Parse(bytes, farside::mime::Message::DefaultLimits());
      Sample s{label == "spam", i % 5 == fold, farside::bayes::Tokenize(msg, to), files[i].string()};
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      tokens += s.tokens.size();
      samples.push_back(std::move(s));
    }
  }
  absl::flat_hash_map<uint64_t, farside::bayes::TokenCounts> counts;
  uint64_t ns = 0, nh = 0;
  for (const Sample& s : samples) {
    if (s.test) continue;
    (s.spam ? ns : nh)++;
    for (uint64_t t : s.tokens) (s.spam ? counts[t].spam : counts[t].ham)++;
  }
  int spam = 0, ham = 0, s90 = 0, s99 = 0, h90 = 0, h99 = 0, unsure_spam = 0;
  for (const Sample& s : samples) {
    if (!s.test) continue;
    std::vector<farside::bayes::TokenCounts> tc;
    tc.reserve(s.tokens.size());
    for (uint64_t t : s.tokens) {
      auto it = counts.find(t);
      tc.push_back(it == counts.end() ? farside::bayes::TokenCounts{} : it->second);
    }
    const double p = farside::bayes::Classify(tc, ns, nh, co).probability;
    // --misses: name each held-out message on the wrong side of 0.9.
    // --scores: every held-out message's label and probability, for ROC curves across folds.
    if (scores) std::printf("score %s %.9f %s\n", s.spam ? "spam" : "ham", p, s.path.c_str());
    if (misses && (s.spam ? p < 0.9 : p >= 0.9)) std::printf("miss %.4f %s\n", p, s.path.c_str());
    if (s.spam) {
      ++spam;
      s90 += p >= 0.9;
      s99 += p >= 0.99;
      unsure_spam += p > 0.1 && p < 0.9;
    } else {
      ++ham;
      h90 += p >= 0.9;
      h99 += p >= 0.99;
    }
  }
  std::printf("trained %llu spam + %llu ham, %zu distinct tokens; %.0f tokens/msg, %.0f msg/s parse+tokenize\n",
              static_cast<unsigned long long>(ns), static_cast<unsigned long long>(nh), counts.size(),
              static_cast<double>(tokens) / samples.size(), samples.size() / seconds);
  std::printf("p>=0.9:  recall %.2f%% (%d/%d), false positives %.2f%% (%d/%d)\n", 100.0 * s90 / spam, s90,
              spam, 100.0 * h90 / ham, h90, ham);
  std::printf("p>=0.99: recall %.2f%% (%d/%d), false positives %.2f%% (%d/%d); spam unsure %d\n",
              100.0 * s99 / spam, s99, spam, 100.0 * h99 / ham, h99, ham, unsure_spam);
  return 0;
}
