// Running a peer's command line from a test (openssl, dkimpy, miltertest), and finding it
// a free loopback port.
#ifndef FARSIDE_TESTS_SUPPORT_SHELL_H_
#define FARSIDE_TESTS_SUPPORT_SHELL_H_

#include <string>

namespace farside::testing {

// Runs `cmd` with /bin/sh; its stdout, and its exit status in `rc` (-1 if it did not exit).
std::string Shell(const std::string& cmd, int* rc = nullptr);

// A TCP port on 127.0.0.1 that was free a moment ago (bound, read, released).
int FreeTcpPort();

}  // namespace farside::testing

#endif  // FARSIDE_TESTS_SUPPORT_SHELL_H_
