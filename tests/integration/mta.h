// Real MTA peers for the proxy's tests: a private Postfix instance (its own config and
// queue directories, loopback ports, no /etc changes) and smtp-sink as the downstream.
#ifndef FARSIDE_TESTS_INTEGRATION_MTA_H_
#define FARSIDE_TESTS_INTEGRATION_MTA_H_

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/integration/harness.h"

namespace farside::testing {

class Postfix {
 public:
  struct Options {
    std::string dir;            // a fresh directory for this instance
    int port = 0;               // its smtpd, on 127.0.0.1
    std::string milter;         // smtpd_milters, e.g. "inet:127.0.0.1:11432"; may be empty
    std::string next_hop;       // relayhost, "[127.0.0.1]:PORT"
    std::string proxy_filter;   // smtpd_proxy_filter, "127.0.0.1:PORT"; may be empty
    std::vector<std::string> extra;  // more main.cf lines
    int reinject_port = 0;           // a second smtpd with no filters (proxy_filter's downstream)
  };
  // Writes the config, starts master and waits for the smtpd port; nullptr (with a gtest
  // failure saying why) when it cannot.
  static std::unique_ptr<Postfix> Start(const Options& options);
  ~Postfix();  // stops master by its PID

  const std::string& dir() const { return options_.dir; }
  std::string Log() const;            // the maillog
  int CountInLog(const std::string& needle) const;
  bool QueueEmpty() const;

 private:
  explicit Postfix(Options o) : options_(std::move(o)) {}
  Options options_;
};

// smtp-sink on a free port writing one file per message into dir()/dump.
class Sink {
 public:
  static std::unique_ptr<Sink> Start(const std::string& dir);
  int port() const { return port_; }
  // Messages stored so far (whole ones: smtp-sink has closed their files), and their contents.
  int Count() const;
  std::vector<std::string> Messages() const;
  // Waits until Count() >= n.
  bool WaitForCount(int n, absl::Duration timeout) const;

 private:
  std::vector<std::filesystem::path> Complete() const;
  std::unique_ptr<Process> proc_;
  std::string dump_;
  int port_ = 0;
};

// swaks, with its exit code and transcript.
CommandResult Swaks(const std::vector<std::string>& args, absl::Duration timeout = absl::Seconds(60));

// GTUBE, the standard spam test string.
std::string Gtube();

// A message for a clear failure when a peer program is missing.
std::string MissingPeer(const std::string& program);

}  // namespace farside::testing

#endif  // FARSIDE_TESTS_INTEGRATION_MTA_H_
