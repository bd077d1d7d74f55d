// The messages of a corpus directory for the benchmarks: every regular file below it
// (the README and index files aside), with its path.
#ifndef FARSIDE_BENCH_CORPUS_H_
#define FARSIDE_BENCH_CORPUS_H_

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace farside::bench {

inline std::vector<std::pair<std::string, std::string>> LoadCorpus(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    if (name.ends_with(".md") || name.ends_with(".tsv")) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    out.emplace_back(e.path().string(), ss.str());
  }
  return out;
}

}  // namespace farside::bench

#endif  // FARSIDE_BENCH_CORPUS_H_
