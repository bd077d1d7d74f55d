// SourceDir and SharedDir: the environment, else where CMake saw the sources.
#include "tests/support/paths.h"

#include <cstdlib>

namespace farside::testing {

std::string SourceDir() {
  const char* src = std::getenv("FARSIDE_SOURCE_DIR");
  return src ? src : FARSIDE_SOURCE_DIR_DEFAULT;
}

std::string SharedDir() {
  if (const char* d = std::getenv("FARSIDE_SHARED_DIR")) return d;
  return SourceDir() + "/../shared";
}

}  // namespace farside::testing
