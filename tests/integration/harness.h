// The integration-test harness: start real binaries and servers on free loopback ports,
// wait for them with timeouts, stop them by PID, and show their logs when a test fails.
#ifndef FARSIDE_TESTS_INTEGRATION_HARNESS_H_
#define FARSIDE_TESTS_INTEGRATION_HARNESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace farside::testing {

// A loopback TCP port nobody listens on right now.
int FreePort();
std::string Loopback(int port);  // "127.0.0.1:PORT"

// build/bin/NAME, from FARSIDE_BIN_DIR that ctest sets.
std::string Binary(const std::string& name);
// A path under the source tree, from FARSIDE_SOURCE_DIR.
std::string SourcePath(const std::string& rel);
// A fresh directory for one test's files.
std::string TempDir(const std::string& tag);
// The full path of a program on PATH, or "" when it is not installed.
std::string FindProgram(const std::string& name);

// Polls `ready` every 20 ms until it returns true or `timeout` passes.
bool WaitFor(const std::function<bool()>& ready, absl::Duration timeout);

bool TcpConnects(int port);

struct HttpResult {
  int status = 0;  // 0: no answer
  std::string body;
};
// A plain HTTP/1.0 GET to 127.0.0.1:port, with a timeout.
HttpResult HttpGet(int port, const std::string& path, absl::Duration timeout = absl::Seconds(5));

struct CommandResult {
  int exit_code = -1;  // -1: killed at the timeout or could not start
  std::string out;
  std::string err;
};
// Runs a command to completion (killed after `timeout`), capturing stdout and stderr.
CommandResult RunCommand(const std::vector<std::string>& argv, absl::Duration timeout = absl::Seconds(30),
                  const std::string& stdin_data = "");

// A child process whose output goes to a log file. Stopped by PID (SIGTERM, then SIGKILL
// after a grace period) when it goes out of scope.
class Process {
 public:
  static std::unique_ptr<Process> Start(const std::string& name, const std::vector<std::string>& argv,
                                        const std::string& dir);
  ~Process();

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  bool Running();
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code, or -(signal) if the
  // process was killed by a signal, or -1000 if it had to be SIGKILLed at the grace.
  int Stop(absl::Duration grace = absl::Seconds(10));
  std::string Log() const;

 private:
  Process() = default;
  std::string name_;
  std::string log_path_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_ = 0;
};

// A set of processes; on failure of the current test, prints the log of each.
class ProcessGroup {
 public:
  ~ProcessGroup();
  Process* Add(std::unique_ptr<Process> p);
  void DumpLogsIfFailed() const;

 private:
  std::vector<std::unique_ptr<Process>> procs_;
};

// A real redis-server on a free loopback port, with no persistence.
class RedisServer {
 public:
  // Starts it and waits for PING; returns nullptr (with a gtest failure) if it cannot.
  static std::unique_ptr<Process> Start(int port, const std::string& dir);
  static bool Ping(int port);
};

}  // namespace farside::testing

#endif  // FARSIDE_TESTS_INTEGRATION_HARNESS_H_
