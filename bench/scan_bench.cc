// Scan throughput on one core: the scanner pipeline (parse, GTUBE, rules, score, action)
// over every message of a corpus, with no controller (the state call answers at once).
// With --hits it also writes each message's symbols, one JSON line per file, which
// bench/sa_agreement.py compares with SpamAssassin's.
//
// usage: build/bench/scan_bench [--rules DIR]... [--spamassassin DIR]... [--no-default-rules]
//          [--no-prefilter] [--no-bayes] [--rounds N] [--hits FILE] PATH...     (PATH: a directory, a file, or @LIST of paths)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lib/common/config_loader.h"
#include "lib/common/json.h"
#include "lib/common/log.h"
#include "services/scanner/scanner.h"

namespace {

// The controller's part is measured elsewhere: here it answers at once with nothing.
class NoState : public farside::scanner::StateClient {
 public:
  absl::StatusOr<farside::v1::ExchangeResponse> Exchange(const farside::v1::MessageQuery&,
                                                         absl::Duration) override {
    return farside::v1::ExchangeResponse();
  }
  void Record(farside::v1::ScanRecord) override {}
};

struct Input {
  std::string path, bytes;
};

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

void Add(const std::string& path, std::vector<Input>* inputs) {
  if (!path.empty() && path[0] == '@') {  // a list of paths, one per line
    std::ifstream list(path.substr(1));
    for (std::string line; std::getline(list, line);) {
      if (!line.empty()) Add(line, inputs);
    }
    return;
  }
  if (std::filesystem::is_directory(path)) {
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::recursive_directory_iterator(path)) {
      std::string name = e.path().filename().string();
      if (!e.is_regular_file() || name.ends_with(".md") || name.ends_with(".tsv") ||
          name.ends_with(".sh")) {
        continue;
      }
      files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) Add(f, inputs);
    return;
  }
  Input in{path, {}};
  if (!ReadFile(path, &in.bytes)) {
    std::fprintf(stderr, "scan_bench: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  if (!in.bytes.empty()) inputs->push_back(std::move(in));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> rule_dirs, sa_dirs, paths;
  std::string hits_path;
  int rounds = 3;
  bool default_rules = true, prefilter = true;
  bool bayes = true;  // tokenizes every message, as a scanner does
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "scan_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--rules") {
      rule_dirs.push_back(value());
    } else if (a == "--spamassassin") {
      sa_dirs.push_back(value());
    } else if (a == "--hits") {
      hits_path = value();
    } else if (a == "--rounds") {
      rounds = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--no-prefilter") {
      prefilter = false;
    } else if (a == "--no-default-rules") {
      default_rules = false;
    } else if (a == "--no-bayes") {
      bayes = false;
    } else if (a.starts_with("--")) {
      std::fprintf(stderr, "scan_bench: unknown option %s\n", a.c_str());
      return 2;
    } else {
      paths.push_back(a);
    }
  }
  if (paths.empty()) {
    std::fprintf(stderr,
                 "usage: scan_bench [--rules DIR]... [--spamassassin DIR]... [--no-default-rules] "
                 "[--no-prefilter] [--no-bayes] [--rounds N] [--hits FILE] PATH...\n");
    return 2;
  }
  (void)farside::log::Configure("bench", "warning", "text");  // no line per scan
  farside::v1::Config cfg;
  farside::config::ApplyDefaults(&cfg);
  farside::v1::ScannerConfig sc = cfg.scanner();
  sc.set_name("bench");
  if (default_rules) sc.mutable_rules()->add_dirs(FARSIDE_SOURCE_DIR "/rules/default");
  for (const std::string& d : rule_dirs) sc.mutable_rules()->add_dirs(d);
  for (const std::string& d : sa_dirs) sc.mutable_rules()->add_spamassassin_dirs(d);
  sc.mutable_rules()->set_prefilter(prefilter);
  sc.mutable_bayes()->set_enabled(bayes);

  farside::telemetry::ServiceMetrics metrics("bench");
  NoState state;
  auto t_load = std::chrono::steady_clock::now();
  auto scanner = farside::scanner::Scanner::Create(sc, &state, &metrics);
  if (!scanner.ok()) {
    std::fprintf(stderr, "scan_bench: %s\n", std::string(scanner.status().message()).c_str());
    return 1;
  }
  double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();

  std::vector<Input> inputs;
  for (const std::string& p : paths) Add(p, &inputs);
  size_t bytes = 0;
  for (const Input& in : inputs) bytes += in.bytes.size();
  std::fprintf(stderr, "scan_bench: %zu rules loaded in %.2f s; %zu messages, %.1f MB\n",
               (*scanner)->rule_count(), load_s, inputs.size(), static_cast<double>(bytes) / 1e6);

  std::FILE* hits = nullptr;
  if (!hits_path.empty() && (hits = std::fopen(hits_path.c_str(), "w")) == nullptr) {
    std::fprintf(stderr, "scan_bench: cannot write %s\n", hits_path.c_str());
    return 2;
  }
  std::vector<double> per_message;  // seconds, from the best round
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    std::vector<double> times;
    times.reserve(inputs.size());
    auto t0 = std::chrono::steady_clock::now();
    for (const Input& in : inputs) {
      farside::v1::ScanRequest req;
      req.set_message(in.bytes);
      auto m0 = std::chrono::steady_clock::now();
      absl::StatusOr<farside::v1::ScanResult> res = (*scanner)->Scan(req);
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - m0).count());
      if (hits != nullptr && r == 0) {
        std::string line = "{\"file\":";
        farside::AppendJsonString(&line, in.path);
        absl::StrAppend(&line, ",\"score\":", res.ok() ? res->score() : 0.0, ",\"symbols\":[");
        if (res.ok()) {
          for (int k = 0; k < res->symbols_size(); ++k) {
            if (k > 0) line += ",";
            farside::AppendJsonString(&line, res->symbols(k).name());
          }
        }
        line += "]}\n";
        std::fputs(line.c_str(), hits);
      }
    }
    double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (total < best) {
      best = total;
      per_message = std::move(times);
    }
  }
  if (hits != nullptr) std::fclose(hits);
  std::sort(per_message.begin(), per_message.end());
  auto pct = [&](double q) { return per_message[static_cast<size_t>(q * (per_message.size() - 1))]; };
  std::printf("messages %zu  rules %zu  best of %d rounds: %.3f s  %.0f msg/s  %.1f MB/s  "
              "p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
              inputs.size(), (*scanner)->rule_count(), rounds, best,
              static_cast<double>(inputs.size()) / best, static_cast<double>(bytes) / best / 1e6,
              pct(0.5) * 1e3, pct(0.99) * 1e3, per_message.back() * 1e3);
  return 0;
}
