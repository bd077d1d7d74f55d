// Parser throughput over a corpus: every file under the directories given on the command
// line is parsed in turn (headers, MIME tree, transfer decoding, text to UTF-8), one core.
// usage: build/bench/mime_bench [benchmark flags] DIR...   (e.g. ../shared/corpus)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/corpus.h"
#include "lib/mime/message.h"

namespace {

std::vector<std::string>& Corpus() {
  static std::vector<std::string> corpus;
  return corpus;
}

void Load(const std::string& dir) {
  for (auto& [path, text] : farside::bench::LoadCorpus(dir)) Corpus().push_back(std::move(text));
}

// state.range(0): 1 builds the full model too: HTML reduced to text and links (gumbo), and
// the URLs and e-mail addresses of every text and HTML part.
void BM_ParseCorpus(benchmark::State& state) {
  const bool html = state.range(0) != 0;
  const auto& corpus = Corpus();
  const auto& limits = farside::mime::Message::DefaultLimits();
  size_t bytes = 0, messages = 0, parts = 0;
  for (auto _ : state) {
    for (const std::string& m : corpus) {
      farside::mime::Message msg = farside::mime::Message::Parse(m, limits);
      parts += msg.parts().size();
      if (html) {
        for (const auto& p : msg.parts()) benchmark::DoNotOptimize(p.Html().links.size());
        benchmark::DoNotOptimize(msg.Links().urls.size());
      }
      benchmark::DoNotOptimize(msg);
      bytes += m.size();
      ++messages;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(static_cast<int64_t>(messages));
  state.counters["msgs/s"] = benchmark::Counter(static_cast<double>(messages), benchmark::Counter::kIsRate);
  state.counters["parts/msg"] = static_cast<double>(parts) / static_cast<double>(messages);
}
BENCHMARK(BM_ParseCorpus)->ArgName("full")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(3.0);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s [benchmark flags] CORPUS_DIR...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    if (!std::filesystem::is_directory(argv[i])) {
      std::fprintf(stderr, "%s: %s is not a directory\n", argv[0], argv[i]);
      return 2;
    }
    Load(argv[i]);
  }
  size_t total = 0;
  for (const auto& m : Corpus()) total += m.size();
  std::printf("corpus: %zu messages, %.1f MB\n", Corpus().size(), total / 1e6);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
