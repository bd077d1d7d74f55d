// Where a test finds the source tree and the shared folder (../shared: corpus, peer test
// suites), overridable by FARSIDE_SOURCE_DIR and FARSIDE_SHARED_DIR.
#ifndef FARSIDE_TESTS_SUPPORT_PATHS_H_
#define FARSIDE_TESTS_SUPPORT_PATHS_H_

#include <string>

namespace farside::testing {

std::string SourceDir();
std::string SharedDir();

}  // namespace farside::testing

#endif  // FARSIDE_TESTS_SUPPORT_PATHS_H_
