// clamd with a one-signature database, started and stopped for a test.
#include "tests/support/clamd.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/av/clamd.h"
#include "tests/support/shell.h"

namespace farside::testing {

std::string EicarTestFile() {
  // Written in two halves so this source file is not itself the test file.
  return std::string("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-") + "ANTIVIRUS-TEST-FILE!$H+H*";
}

Clamd::Clamd(const std::string& dir) {
  std::filesystem::create_directories(dir + "/db");
  // One body signature: the hex of EICAR's marker string.
  std::ofstream(dir + "/db/farside-test.ndb")
      << "Farside.Test.EICAR:0:*:" << absl::BytesToHexString("EICAR-STANDARD-ANTIVIRUS-TEST-FILE") << "\n";
  socket_ = dir + "/clamd.sock";
  // The port is free when picked, but a test running alongside may take it before clamd
  // binds it; clamd then exits, and it is started again on another.
  for (int attempt = 0; attempt < 3 && !ready_; ++attempt) {
    Stop();
    port_ = FreeTcpPort();
    const std::string conf = dir + "/clamd.conf";
    std::ofstream(conf) << "Foreground yes\nDatabaseDirectory " << dir << "/db\nTCPSocket " << port_
                        << "\nTCPAddr 127.0.0.1\nLocalSocket " << socket_ << "\nLogFile " << dir
                        << "/clamd.log\nMaxThreads 4\nStreamMaxLength 25M\nScanMail yes\nSelfCheck 0\n";
    pid_ = fork();
    if (pid_ == 0) {
      execlp("clamd", "clamd", "-c", conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    auto c = av::Clamd::Create(tcp());
    for (int i = 0; i < 100 && c.ok(); ++i) {  // about 0.1 s with this database; 10 s at most
      if ((*c)->Ping(absl::Now() + absl::Milliseconds(500)).ok()) {
        ready_ = true;
        break;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {  // it exited: the port was lost
        pid_ = -1;
        break;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
}

void Clamd::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace farside::testing
