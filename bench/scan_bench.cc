// Scan throughput on one core: the scanner pipeline (parse, GTUBE, rules, score, action)
// over every message of a corpus, with no controller (the state call answers at once).
// With --hits it also writes each message's symbols, one JSON line per file, which
// bench/sa_agreement.py compares with SpamAssassin's.
//
// Network checks (SPF, DKIM, ARC, DMARC, block lists) are off unless --dns names a server
// ("silent" makes one that never answers); each message then gets an envelope made from its
// headers and a client address from the documentation ranges, and --threads runs scans
// side by side, as a scanner's gRPC threads do, so DNS waits overlap.
//
// usage: build/bench/scan_bench [--rules DIR]... [--spamassassin DIR]... [--no-default-rules]
//          [--no-prefilter] [--no-bayes] [--rounds N] [--hits FILE]
//          [--dns HOST:PORT|silent] [--no-lists] [--budget MS] [--threads N] [--slowest N] PATH...
//          (PATH: a directory, a file, or @LIST of paths)
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/mime/message.h"

#include <tuple>

#include "lib/common/config_loader.h"
#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/rules/prefilter.h"
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
  farside::v1::Envelope envelope;  // with --dns only
};

// An envelope as the MTA would give it: the sender from Return-Path or From, a client
// address in 198.51.100.0/24 or 203.0.113.0/24 by the file's name.
farside::v1::Envelope MakeEnvelope(const Input& in, const farside::v1::MimeLimits& limits) {
  farside::v1::Envelope e;
  const farside::mime::Message m = farside::mime::Message::Parse(in.bytes, limits);
  std::vector<farside::mime::Address> from = m.Addresses("Return-Path");
  if (from.empty() || from[0].domain.empty()) from = m.Addresses("From");
  if (!from.empty() && !from[0].domain.empty()) e.set_mail_from(from[0].addr_spec());
  const size_t h = std::hash<std::string>{}(in.path);
  e.set_client_ip(absl::StrCat(h % 2 ? "198.51.100." : "203.0.113.", 1 + (h / 2) % 254));
  e.set_helo(absl::StrCat("mx", h % 97, ".example.net"));
  e.add_rcpt_to("user@example.org");
  return e;
}

// A UDP socket on loopback that takes queries and never answers.
std::string SilentServer() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return absl::StrCat("127.0.0.1:", ntohs(a.sin_port));  // fd stays open for the run
}

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
  Input in{path, {}, {}};
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
  std::string dns;
  int budget_ms = 2000, threads = 1, slowest = 0;
  bool lists = true;
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
    } else if (a == "--dns") {
      dns = value();
    } else if (a == "--no-lists") {
      lists = false;
    } else if (a == "--budget") {
      budget_ms = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--slowest") {
      slowest = std::max(0, std::atoi(value().c_str()));
    } else if (a == "--threads") {
      threads = std::max(1, std::atoi(value().c_str()));
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
                 "[--no-prefilter] [--no-bayes] [--rounds N] [--hits FILE] [--dns HOST:PORT|silent] "
                 "[--no-lists] [--budget MS] [--threads N] [--slowest N] PATH...\n");
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
  if (dns.empty()) {
    sc.mutable_spf()->set_enabled(false);
    sc.mutable_dkim()->set_enabled(false);
    sc.mutable_dmarc()->set_enabled(false);
    sc.mutable_arc()->set_enabled(false);
    sc.mutable_dnsbl()->set_enabled(false);
  } else {
    sc.mutable_dns()->add_servers(dns == "silent" ? SilentServer() : dns);
    sc.mutable_dns()->mutable_message_budget()->set_nanos((budget_ms % 1000) * 1000000);
    sc.mutable_dns()->mutable_message_budget()->set_seconds(budget_ms / 1000);
    // The usual public lists' kinds: client IP and Received hops, URL domains, senders.
    for (const auto& [name, zone, check] : lists ? std::vector<std::tuple<std::string, std::string, std::string>>{
             {"BENCH_IP", "zen.bench.test", "received"}, {"BENCH_IP2", "bl.bench.test", "ip"},
             {"BENCH_URI", "dbl.bench.test", "domain"}, {"BENCH_URI2", "multi.bench.test", "domain"},
             {"BENCH_EMAIL", "ebl.bench.test", "email"}} : std::vector<std::tuple<std::string, std::string, std::string>>{}) {
      auto* l = sc.mutable_dnsbl()->add_lists();
      l->set_name(name);
      l->set_zone(zone);
      l->set_check(check);
      l->set_enabled(true);
      l->set_score(1);
      l->set_ipv6(true);
    }
  }

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
  for (Input& in : inputs) {
    bytes += in.bytes.size();
    if (!dns.empty()) in.envelope = MakeEnvelope(in, sc.mime());
  }
  std::fprintf(stderr, "scan_bench: %zu rules loaded in %.2f s; %zu messages, %.1f MB; prefilter: %s\n",
               (*scanner)->rule_count(), load_s, inputs.size(), static_cast<double>(bytes) / 1e6,
               farside::rules::Prefilter::Runtime().c_str());

  std::FILE* hits = nullptr;
  if (!hits_path.empty() && (hits = std::fopen(hits_path.c_str(), "w")) == nullptr) {
    std::fprintf(stderr, "scan_bench: cannot write %s\n", hits_path.c_str());
    return 2;
  }
  std::vector<double> per_message;  // seconds, from the best round
  double best = 1e30, best_cpu = 0;  // wall and CPU seconds of the best round
  for (int r = 0; r < rounds; ++r) {
    std::vector<double> times(inputs.size());
    auto t0 = std::chrono::steady_clock::now();
    rusage ru0;
    getrusage(RUSAGE_SELF, &ru0);
    if (threads > 1) {
      // Scans side by side; each thread takes the next message.
      std::atomic<size_t> next{0};
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
          for (size_t k; (k = next.fetch_add(1)) < inputs.size();) {
            farside::v1::ScanRequest req;
            req.set_message(inputs[k].bytes);
            *req.mutable_envelope() = inputs[k].envelope;
            auto m0 = std::chrono::steady_clock::now();
            (void)(*scanner)->Scan(req);
            times[k] = std::chrono::duration<double>(std::chrono::steady_clock::now() - m0).count();
          }
        });
      }
      for (auto& t : pool) t.join();
    }
    for (size_t k = 0; threads == 1 && k < inputs.size(); ++k) {
      const Input& in = inputs[k];
      farside::v1::ScanRequest req;
      req.set_message(in.bytes);
      *req.mutable_envelope() = in.envelope;
      auto m0 = std::chrono::steady_clock::now();
      absl::StatusOr<farside::v1::ScanResult> res = (*scanner)->Scan(req);
      times[k] = std::chrono::duration<double>(std::chrono::steady_clock::now() - m0).count();
      if (hits != nullptr && r == 0) {
        std::string line = "{\"file\":";
        farside::AppendJsonString(&line, in.path);
        absl::StrAppend(&line, ",\"score\":", res.ok() ? res->score() : 0.0, ",\"symbols\":[");
        if (res.ok()) {
          for (int j = 0; j < res->symbols_size(); ++j) {
            if (j > 0) line += ",";
            farside::AppendJsonString(&line, res->symbols(j).name());
          }
        }
        line += "]}\n";
        std::fputs(line.c_str(), hits);
      }
    }
    double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rusage ru1;
    getrusage(RUSAGE_SELF, &ru1);
    auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    const double cpu = secs(ru1.ru_utime) - secs(ru0.ru_utime) + secs(ru1.ru_stime) - secs(ru0.ru_stime);
    if (total < best) {
      best = total;
      best_cpu = cpu;
      per_message = std::move(times);
    }
  }
  if (hits != nullptr) std::fclose(hits);
  if (slowest > 0) {
    // Where the time goes: the slowest messages, and what share of the round they took.
    std::vector<size_t> order(per_message.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return per_message[a] > per_message[b]; });
    double sum = 0, top = 0;
    for (double t : per_message) sum += t;
    const size_t n = std::min(order.size(), static_cast<size_t>(slowest));
    for (size_t k = 0; k < n; ++k) {
      top += per_message[order[k]];
      std::printf("%9.3f ms  %8zu bytes  %s\n", per_message[order[k]] * 1e3,
                  inputs[order[k]].bytes.size(), inputs[order[k]].path.c_str());
    }
    std::printf("the %zu slowest took %.1f%% of the scan time\n", n, sum > 0 ? 100 * top / sum : 0);
  }
  std::sort(per_message.begin(), per_message.end());
  auto pct = [&](double q) { return per_message[static_cast<size_t>(q * (per_message.size() - 1))]; };
  std::printf("messages %zu  rules %zu  best of %d rounds: %.3f s  %.0f msg/s  %.1f MB/s  "
              "p50 %.3f ms  p99 %.3f ms  max %.3f ms  cpu %.3f ms/msg\n",
              inputs.size(), (*scanner)->rule_count(), rounds, best,
              static_cast<double>(inputs.size()) / best, static_cast<double>(bytes) / best / 1e6,
              pct(0.5) * 1e3, pct(0.99) * 1e3, per_message.back() * 1e3,
              best_cpu / static_cast<double>(inputs.size()) * 1e3);
  return 0;
}
