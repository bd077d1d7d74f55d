// Private Postfix instances and smtp-sink for the proxy's integration tests (the recipe of
// ../shared/peers/RECIPES.md §1-2, done by the harness).
#include "tests/integration/mta.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace farside::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Postfix's user must be able to walk to its data, queue and dump directories.
void OpenUp(const std::string& path) {
  for (std::filesystem::path p = path; !p.empty() && p != p.root_path(); p = p.parent_path()) {
    chmod(p.c_str(), 0755);
  }
}

}  // namespace

std::string MissingPeer(const std::string& program) {
  return absl::StrCat(program, " is not installed; `scripts/install-deps test` installs it");
}

std::string Gtube() { return "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"; }

std::unique_ptr<Postfix> Postfix::Start(const Options& o) {
  if (FindProgram("postfix").empty() && access("/usr/sbin/postfix", X_OK) != 0) {
    ADD_FAILURE() << MissingPeer("postfix");
    return nullptr;
  }
  const std::string etc = o.dir + "/etc", spool = o.dir + "/spool", data = o.dir + "/data";
  std::filesystem::create_directories(etc);
  std::filesystem::create_directories(spool);
  std::filesystem::create_directories(data);
  OpenUp(data);
  RunCommand({"chown", "postfix", data});
  std::vector<std::string> cf = {
      "compatibility_level = 3.6",
      "queue_directory = " + spool,
      "data_directory = " + data,
      "mail_owner = postfix",
      "setgid_group = postdrop",
      "myhostname = mta.gw.test",
      "mydomain = gw.test",
      "mydestination =",
      "local_recipient_maps =",
      "alias_maps =",
      "alias_database =",
      "inet_interfaces = 127.0.0.1",
      "inet_protocols = ipv4",
      "mynetworks = 127.0.0.0/8",
      "relayhost = " + o.next_hop,
      "smtp_tls_security_level = none",
      "smtpd_tls_security_level = none",
      "smtputf8_enable = no",
      "biff = no",
      "smtpd_milters = " + o.milter,
      "non_smtpd_milters =",
      "milter_protocol = 6",
      "milter_default_action = tempfail",
      "milter_connect_timeout = 5s",
      "milter_command_timeout = 10s",
      "milter_content_timeout = 30s",
      "maillog_file = " + o.dir + "/maillog",
      "maillog_file_prefixes = /var, /dev/stdout, /tmp",
      "maximal_queue_lifetime = 1h",
      "bounce_queue_lifetime = 1h",
      "minimal_backoff_time = 2s",
      "maximal_backoff_time = 4s",
      "queue_run_delay = 2s",
      "default_process_limit = 100",
      "smtpd_client_connection_count_limit = 0",
      "smtpd_client_connection_rate_limit = 0",
      "in_flow_delay = 0",
      "smtpd_error_sleep_time = 0",
      "smtp_connection_cache_on_demand = yes",
  };
  if (!o.proxy_filter.empty()) {
    cf.push_back("smtpd_proxy_filter = " + o.proxy_filter);
    cf.push_back("smtpd_proxy_options = speed_adjust");
  }
  for (const std::string& l : o.extra) cf.push_back(l);
  std::ofstream(etc + "/main.cf") << absl::StrJoin(cf, "\n") << "\n";
  // Debian's master.cf with chroot off and smtpd on our port.
  std::string master = ReadAll("/etc/postfix/master.cf");
  std::vector<std::string> lines = absl::StrSplit(master, '\n');
  for (std::string& l : lines) {
    if (l.empty() || l[0] == '#' || l[0] == ' ' || l[0] == '\t') continue;
    std::vector<std::string> f = absl::StrSplit(l, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (f.size() < 8) continue;
    if (f[4] == "y") f[4] = "n";
    if (f[0] == "smtp" && f[1] == "inet") f[0] = absl::StrCat("127.0.0.1:", o.port);
    l = absl::StrJoin(f, " ");
  }
  if (o.reinject_port != 0) {
    lines.push_back(absl::StrCat("127.0.0.1:", o.reinject_port,
                                 " inet n - n - - smtpd\n  -o smtpd_proxy_filter=\n  -o smtpd_milters="));
  }
  std::ofstream(etc + "/master.cf") << absl::StrJoin(lines, "\n") << "\n";
  CommandResult check = RunCommand({"postfix", "-c", etc, "check"});
  if (check.exit_code != 0) {
    ADD_FAILURE() << "postfix check: " << check.out << check.err;
    return nullptr;
  }
  std::unique_ptr<Postfix> p(new Postfix(o));
  // `postfix start` says nothing without a terminal; `script` gives it one so errors show.
  CommandResult start = RunCommand({"script", "-qc", "postfix -c " + etc + " start", "/dev/null"});
  if (start.exit_code != 0) {
    ADD_FAILURE() << "postfix start: " << start.out << start.err;
    return nullptr;
  }
  if (!WaitFor([&] { return TcpConnects(o.port); }, absl::Seconds(15))) {
    ADD_FAILURE() << "postfix did not listen on " << o.port << "\n" << p->Log();
    return nullptr;
  }
  return p;
}

Postfix::~Postfix() {
  std::string pid_text(absl::StripAsciiWhitespace(ReadAll(options_.dir + "/spool/pid/master.pid")));
  int pid = 0;
  if (!absl::SimpleAtoi(pid_text, &pid) || pid <= 1) return;
  kill(pid, SIGTERM);
  if (!WaitFor([&] { return kill(pid, 0) != 0; }, absl::Seconds(10))) kill(pid, SIGKILL);
}

std::string Postfix::Log() const { return ReadAll(options_.dir + "/maillog"); }

int Postfix::CountInLog(const std::string& needle) const {
  int n = 0;
  for (absl::string_view l : absl::StrSplit(Log(), '\n')) n += absl::StrContains(l, needle);
  return n;
}

bool Postfix::QueueEmpty() const {
  CommandResult r = RunCommand({"postqueue", "-c", options_.dir + "/etc", "-p"});
  return absl::StrContains(r.out, "Mail queue is empty");
}

std::unique_ptr<Sink> Sink::Start(const std::string& dir) {
  if (access("/usr/sbin/smtp-sink", X_OK) != 0) {
    ADD_FAILURE() << MissingPeer("smtp-sink (package postfix)");
    return nullptr;
  }
  auto s = std::make_unique<Sink>();
  s->dump_ = dir + "/dump";
  std::filesystem::create_directories(s->dump_);
  OpenUp(s->dump_);
  RunCommand({"chown", "postfix", s->dump_});
  s->port_ = FreePort();
  // As root it needs -u; -d writes one file per message; a backlog of 256 for load runs.
  s->proc_ = Process::Start("smtp-sink",
                            {"/usr/sbin/smtp-sink", "-u", "postfix", "-d", s->dump_ + "/%M.",
                             Loopback(s->port_), "256"},
                            dir);
  if (s->proc_ == nullptr || !WaitFor([&] { return TcpConnects(s->port_); }, absl::Seconds(10))) {
    ADD_FAILURE() << "smtp-sink did not start";
    return nullptr;
  }
  return s;
}

// smtp-sink creates a message's file at MAIL FROM and closes it after the final dot, before
// its 250. A file it still holds open is a transaction in progress, not a message: counting it
// let a test read a half-written file.
std::vector<std::filesystem::path> Sink::Complete() const {
  std::set<std::string> open;
  std::error_code ec;
  const std::string fds = absl::StrCat("/proc/", proc_->pid(), "/fd");
  for (const auto& fd : std::filesystem::directory_iterator(fds, ec)) {
    std::error_code lec;
    std::filesystem::path target = std::filesystem::read_symlink(fd.path(), lec);
    if (!lec) open.insert(target.string());
  }
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dump_, ec)) {
    std::error_code cec;
    std::filesystem::path full = std::filesystem::canonical(e.path(), cec);
    if (e.is_regular_file() && !cec && !open.contains(full.string())) out.push_back(e.path());
  }
  return out;
}

int Sink::Count() const { return static_cast<int>(Complete().size()); }

std::vector<std::string> Sink::Messages() const {
  std::vector<std::string> out;
  for (const auto& path : Complete()) out.push_back(ReadAll(path));
  return out;
}

bool Sink::WaitForCount(int n, absl::Duration timeout) const {
  return WaitFor([&] { return Count() >= n; }, timeout);
}

CommandResult Swaks(const std::vector<std::string>& args, absl::Duration timeout) {
  std::vector<std::string> argv = {"swaks"};
  argv.insert(argv.end(), args.begin(), args.end());
  if (FindProgram("swaks").empty()) {
    ADD_FAILURE() << MissingPeer("swaks");
    return {};
  }
  return RunCommand(argv, timeout);
}

}  // namespace farside::testing
