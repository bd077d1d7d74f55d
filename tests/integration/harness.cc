// Process control, ports, HTTP and command running for the integration tests.
#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace farside::testing {
namespace {

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int ConnectLoopback(int port, absl::Duration timeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Waits for a child with a timeout; true when it was reaped (status in *status).
bool WaitChild(pid_t pid, absl::Duration timeout, int* status) {
  absl::Time end = absl::Now() + timeout;
  while (true) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0) return true;  // already reaped elsewhere
    if (absl::Now() >= end) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

}  // namespace

int FreePort() {
  // Nothing listens on a port between this call and the server's start, so the kernel may
  // offer it again: never hand out the same port twice in one test process.
  static std::mutex mu;
  static std::set<int> given;
  std::lock_guard<std::mutex> lock(mu);
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd);
      continue;
    }
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    int port = ntohs(addr.sin_port);
    if (given.count(port) || TcpConnects(port)) continue;
    given.insert(port);
    return port;
  }
  ADD_FAILURE() << "no free loopback port";
  return 0;
}

std::string Loopback(int port) { return absl::StrCat("127.0.0.1:", port); }

std::string Binary(const std::string& name) {
  return absl::StrCat(Env("FARSIDE_BIN_DIR", FARSIDE_BIN_DIR_DEFAULT), "/", name);
}

std::string SourcePath(const std::string& rel) {
  return absl::StrCat(Env("FARSIDE_SOURCE_DIR", FARSIDE_SOURCE_DIR_DEFAULT), "/", rel);
}

std::string TempDir(const std::string& tag) {
  std::string tmpl = absl::StrCat(Env("TMPDIR", "/tmp"), "/farside-", tag, "-XXXXXX");
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* d = mkdtemp(buf.data());
  return d == nullptr ? "/tmp" : std::string(d);
}

std::string FindProgram(const std::string& name) {
  for (absl::string_view dir : absl::StrSplit(Env("PATH", "/usr/bin:/bin"), ':')) {
    std::string p = absl::StrCat(dir, "/", name);
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

bool WaitFor(const std::function<bool()>& ready, absl::Duration timeout) {
  absl::Time end = absl::Now() + timeout;
  while (true) {
    if (ready()) return true;
    if (absl::Now() >= end) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

bool TcpConnects(int port) {
  int fd = ConnectLoopback(port, absl::Milliseconds(200));
  if (fd < 0) return false;
  close(fd);
  return true;
}

HttpResult HttpGet(int port, const std::string& path, absl::Duration timeout) {
  HttpResult out;
  int fd = ConnectLoopback(port, timeout);
  if (fd < 0) return out;
  std::string req = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return out;
  }
  std::string resp;
  char buf[8192];
  absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
  std::vector<std::string> first = absl::StrSplit(resp.substr(0, resp.find("\r\n")), ' ');
  if (first.size() >= 2) (void)absl::SimpleAtoi(first[1], &out.status);
  size_t body = resp.find("\r\n\r\n");
  if (body != std::string::npos) out.body = resp.substr(body + 4);
  return out;
}

CommandResult RunCommand(const std::vector<std::string>& argv, absl::Duration timeout,
                  const std::string& stdin_data) {
  CommandResult res;
  std::string dir = TempDir("run");
  std::string out_path = dir + "/out", err_path = dir + "/err", in_path = dir + "/in";
  {
    std::ofstream in(in_path, std::ios::binary);
    in << stdin_data;
  }
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (!WaitChild(pid, timeout, &status)) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    res.exit_code = -1;
  } else {
    res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  res.out = ReadAll(out_path);
  res.err = ReadAll(err_path);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return res;
}

std::unique_ptr<Process> Process::Start(const std::string& name,
                                        const std::vector<std::string>& argv,
                                        const std::string& dir) {
  std::unique_ptr<Process> p(new Process());
  p->name_ = name;
  p->log_path_ = absl::StrCat(dir, "/", name, ".log");
  pid_t pid = fork();
  if (pid == 0) {
    int log = open(p->log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(log, 1);
    dup2(log, 2);
    // Tests block nothing, but a parent's mask must not leak into servers we start.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "cannot start %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  p->pid_ = pid;
  return p;
}

Process::~Process() {
  if (!reaped_) Stop(absl::Seconds(5));
}

bool Process::Running() {
  if (reaped_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    return false;
  }
  return true;
}

int Process::Stop(absl::Duration grace) {
  if (!Running()) return exit_;
  kill(pid_, SIGTERM);
  int status = 0;
  if (WaitChild(pid_, grace, &status)) {
    reaped_ = true;
    exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    return exit_;
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  reaped_ = true;
  exit_ = -1000;
  return exit_;
}

std::string Process::Log() const { return ReadAll(log_path_); }

ProcessGroup::~ProcessGroup() {
  DumpLogsIfFailed();
  // Stop in reverse order of start: clients before the servers they use.
  for (auto it = procs_.rbegin(); it != procs_.rend(); ++it) (*it)->Stop(absl::Seconds(10));
}

Process* ProcessGroup::Add(std::unique_ptr<Process> p) {
  procs_.push_back(std::move(p));
  return procs_.back().get();
}

void ProcessGroup::DumpLogsIfFailed() const {
  if (!::testing::Test::HasFailure()) return;
  for (const auto& p : procs_) {
    std::fprintf(stderr, "----- log of %s (pid %d) -----\n%s----- end of %s -----\n",
                 p->name().c_str(), p->pid(), p->Log().c_str(), p->name().c_str());
  }
}

std::unique_ptr<Process> RedisServer::Start(int port, const std::string& dir) {
  std::string exe = FindProgram("redis-server");
  if (exe.empty()) {
    ADD_FAILURE() << "redis-server is not installed (scripts/install-deps installs it)";
    return nullptr;
  }
  auto p = Process::Start(absl::StrCat("redis-", port),
                          {exe, "--bind", "127.0.0.1", "--port", std::to_string(port), "--save",
                           "", "--appendonly", "no", "--daemonize", "no", "--dir", dir},
                          dir);
  if (!WaitFor([&] { return Ping(port); }, absl::Seconds(10))) {
    ADD_FAILURE() << "redis-server did not answer PING on " << port << ":\n" << p->Log();
    return nullptr;
  }
  return p;
}

bool RedisServer::Ping(int port) {
  int fd = ConnectLoopback(port, absl::Milliseconds(500));
  if (fd < 0) return false;
  const char ping[] = "PING\r\n";
  bool ok = write(fd, ping, sizeof(ping) - 1) == sizeof(ping) - 1;
  char buf[16] = {0};
  ok = ok && read(fd, buf, sizeof(buf) - 1) > 0 && absl::StartsWith(buf, "+PONG");
  close(fd);
  return ok;
}

}  // namespace farside::testing
