// Running a peer's command line from a test (openssl, dkimpy, miltertest): its output.
#ifndef FARSIDE_TESTS_SUPPORT_SHELL_H_
#define FARSIDE_TESTS_SUPPORT_SHELL_H_

#include <string>

namespace farside::testing {

// Runs `cmd` with /bin/sh; its stdout, and its exit status in `rc` (-1 if it did not exit).
std::string Shell(const std::string& cmd, int* rc = nullptr);

}  // namespace farside::testing

#endif  // FARSIDE_TESTS_SUPPORT_SHELL_H_
