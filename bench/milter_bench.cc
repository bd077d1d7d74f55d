// Load generator for the proxy's milter port, with no MTA in between: N connections speak
// milter v6 as Postfix does (negotiation, macros, envelope, headers, body in 64 KiB chunks)
// and report messages/s and p50/p99 latency from MAIL to the end-of-message verdict.
// Usage: milter_bench --milter HOST:PORT [--connections 50] [--messages 20000]
//                     [--seconds S] [PATH...]   (PATH: message files or directories;
//                     none: a small built-in message)
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/common/host_port.h"
#include "lib/milter/codec.h"

namespace {

using namespace farside::milter;  // NOLINT: a benchmark of one protocol

struct Mail {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Splits a message into unfolded header fields and a CRLF body, as an MTA hands them over.
Mail Split(const std::string& raw) {
  Mail m;
  size_t pos = 0;
  std::string name, value;
  auto flush = [&] {
    if (!name.empty()) m.headers.emplace_back(name, value);
    name.clear();
    value.clear();
  };
  while (pos < raw.size()) {
    size_t eol = raw.find('\n', pos);
    if (eol == std::string::npos) eol = raw.size();
    std::string line = raw.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = eol + 1;
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !name.empty()) {
      value += "\n" + line;
      continue;
    }
    flush();
    size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) continue;
    name = line.substr(0, colon);
    value = line.substr(colon + 1);
  }
  flush();
  // Milter frames cannot carry a NUL inside a header name or value; MTAs drop them.
  for (auto& [n, v] : m.headers) {
    std::erase(n, '\0');
    std::erase(v, '\0');
  }
  std::erase_if(m.headers, [](const auto& h) { return h.first.empty(); });
  for (; pos < raw.size();) {
    size_t eol = raw.find('\n', pos);
    if (eol == std::string::npos) eol = raw.size();
    std::string line = raw.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    m.body += line + "\r\n";
    pos = eol + 1;
  }
  return m;
}

int Dial(const farside::HostPort& hp) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(hp.host.c_str(), std::to_string(hp.port).c_str(), &hints, &res) != 0) return -1;
  int fd = socket(res->ai_family, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

class Conn {
 public:
  explicit Conn(int fd) : fd_(fd), reader_(1 << 24) {}
  ~Conn() { close(fd_); }
  // Commands are buffered and written when a reply is awaited, as an MTA's stream is.
  bool Send(const std::string& s) {
    out_ += s;
    return true;
  }
  bool Flush() {
    for (size_t off = 0; off < out_.size();) {
      ssize_t n = write(fd_, out_.data() + off, out_.size() - off);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    out_.clear();
    return true;
  }
  bool Read(Frame* f) {
    if (!Flush()) return false;
    while (true) {
      auto next = reader_.Next();
      if (!next.ok()) return false;
      if (next->has_value()) {
        *f = std::move(**next);
        return true;
      }
      char buf[65536];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return false;
      reader_.Feed(absl::string_view(buf, static_cast<size_t>(n)));
    }
  }

 private:
  int fd_;
  FrameReader reader_;
  std::string out_;
};

struct Stats {
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::map<char, int> verdicts;
  int errors = 0;
};

void Worker(const farside::HostPort& to, const std::vector<Mail>& mails, std::atomic<int>* left,
            std::chrono::steady_clock::time_point stop_at, int id, Stats* stats) {
  int fd = Dial(to);
  if (fd < 0) {
    std::lock_guard<std::mutex> l(stats->mu);
    ++stats->errors;
    return;
  }
  Conn c(fd);
  Frame f;
  if (!c.Send(EncodeOptionNegotiation(6, 0x1ff, 0x1fffff)) || !c.Read(&f)) return;
  auto opt = Parse(f);
  if (!opt.ok()) return;
  const uint32_t st = opt->steps;
  // Reads the reply to a step unless it was negotiated as no-reply.
  auto ack = [&](uint32_t nr) { return (st & nr) != 0 || c.Read(&f); };
  c.Send(EncodeMacros(kConnect, {{"j", "mta.bench.test"}}));
  c.Send(EncodeConnect("client.bench.test", '4', 40000, "192.0.2.55"));
  if (!ack(steps::kNoReplyConnect)) return;
  if (!(st & steps::kNoHelo)) {
    c.Send(EncodeStrings(kHelo, {"client.bench.test"}));
    if (!ack(steps::kNoReplyHelo)) return;
  }
  std::vector<double> lat;
  std::map<char, int> verdicts;
  for (size_t k = static_cast<size_t>(id);; k += 7) {
    if (left->fetch_sub(1) <= 0) break;
    if (std::chrono::steady_clock::now() > stop_at) break;
    const Mail& m = mails[k % mails.size()];
    auto t0 = std::chrono::steady_clock::now();
    std::string out = EncodeMacros(kMail, {{"i", absl::StrCat("B", id, "x", k)}});
    out += EncodeStrings(kMail, {"<sender@bench.test>"});
    c.Send(out);
    if (!ack(steps::kNoReplyMail)) return;
    c.Send(EncodeStrings(kRcpt, {"<rcpt@dest.test>"}));
    if (!ack(steps::kNoReplyRcpt)) return;
    if (!(st & steps::kNoHeaders)) {
      for (const auto& [n, v] : m.headers) {
        std::string val = (st & steps::kHeaderLeadingSpace) ? v : std::string(v.substr(v.find_first_not_of(' ') == std::string::npos ? v.size() : v.find_first_not_of(' ')));
        c.Send(EncodeStrings(kHeader, {n, val}));
        if (!ack(steps::kNoReplyHeader)) return;
      }
    }
    if (!(st & steps::kNoEndOfHeaders)) {
      c.Send(EncodeFrame(kEndOfHeaders, ""));
      if (!ack(steps::kNoReplyEndOfHeaders)) return;
    }
    for (size_t off = 0; off < m.body.size(); off += 65535) {
      c.Send(EncodeFrame(kBody, absl::string_view(m.body).substr(off, 65535)));
      if (!ack(steps::kNoReplyBody)) return;
    }
    c.Send(EncodeFrame(kEndOfMessage, ""));
    char verdict = 0;
    while (c.Read(&f)) {
      if (f.code == kAccept || f.code == kReject || f.code == kTempfail || f.code == kDiscard ||
          f.code == kReplyCode || f.code == kContinue) {
        verdict = f.code;
        break;
      }
    }
    if (verdict == 0) {
      std::lock_guard<std::mutex> l(stats->mu);
      ++stats->errors;
      return;
    }
    lat.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ++verdicts[verdict];
  }
  c.Send(EncodeFrame(kQuit, ""));
  c.Flush();
  std::lock_guard<std::mutex> l(stats->mu);
  stats->latencies_ms.insert(stats->latencies_ms.end(), lat.begin(), lat.end());
  for (auto [v, n] : verdicts) stats->verdicts[v] += n;
}

void Collect(const std::filesystem::path& p, std::vector<Mail>* out) {
  std::error_code ec;
  if (std::filesystem::is_directory(p, ec)) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(p, ec)) {
      if (e.is_regular_file()) Collect(e.path(), out);
    }
    return;
  }
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  if (!ss.str().empty() && ss.str().size() < (8 << 20)) out->push_back(Split(ss.str()));
}

}  // namespace

int main(int argc, char** argv) {
  std::string target = "127.0.0.1:11432";
  int connections = 50, messages = 20000, seconds = 600;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--milter") target = value();
    else if (a == "--connections") connections = std::atoi(value().c_str());
    else if (a == "--messages") messages = std::atoi(value().c_str());
    else if (a == "--seconds") seconds = std::atoi(value().c_str());
    else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "usage: milter_bench --milter HOST:PORT [--connections N] "
                           "[--messages N] [--seconds S] [PATH...]\n");
      return 2;
    } else paths.push_back(a);
  }
  auto hp = farside::ParseHostPort(target);
  if (!hp.ok()) {
    std::fprintf(stderr, "milter_bench: %s\n", std::string(hp.status().message()).c_str());
    return 2;
  }
  std::vector<Mail> mails;
  for (const std::string& p : paths) Collect(p, &mails);
  if (mails.empty()) {
    mails.push_back(Split("From: a@bench.test\r\nTo: b@dest.test\r\nSubject: bench\r\n"
                          "Message-ID: <b1@bench.test>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
                          "\r\nA short benchmark message.\r\n"));
  }
  std::atomic<int> left{messages};
  Stats stats;
  auto t0 = std::chrono::steady_clock::now();
  auto stop_at = t0 + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) {
    threads.emplace_back(Worker, *hp, std::cref(mails), &left, stop_at, i, &stats);
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double>& l = stats.latencies_ms;
  std::sort(l.begin(), l.end());
  auto pct = [&](double p) { return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<size_t>(p * l.size()))]; };
  std::printf("milter_bench: %zu messages (%zu distinct) over %d connections in %.2f s: %.0f msg/s, "
              "p50 %.2f ms, p99 %.2f ms, errors %d\n",
              l.size(), mails.size(), connections, secs, l.size() / secs, pct(0.50), pct(0.99),
              stats.errors);
  std::printf("verdicts:");
  for (auto [v, n] : stats.verdicts) std::printf(" '%c'=%d", v, n);
  std::printf("  (a accept, y reply code, t tempfail, r reject, d discard)\n");
  return stats.errors == 0 && !l.empty() ? 0 : 1;
}
