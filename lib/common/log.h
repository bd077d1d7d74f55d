// Farside's one structured logger: a message plus key=value fields, written as a readable
// line or as one JSON object per line (for Kubernetes log collectors).
#ifndef FARSIDE_LIB_COMMON_LOG_H_
#define FARSIDE_LIB_COMMON_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace farside::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

struct Field {
  Field(absl::string_view k, absl::string_view v) : key(k), value(v) {}
  Field(absl::string_view k, const std::string& v) : key(k), value(v) {}
  Field(absl::string_view k, const char* v) : key(k), value(v) {}
  template <typename T>
    requires std::is_arithmetic_v<T>
  Field(absl::string_view k, T v) : key(k), value(std::to_string(v)) {}
  std::string key;
  std::string value;
};

// Sets the process-wide level and format ("text" or "json") and the service name every line
// carries. Returns InvalidArgument for an unknown level or format.
absl::Status Configure(absl::string_view service, absl::string_view level,
                       absl::string_view format);

bool Enabled(Level level);
void Write(Level level, absl::string_view message, std::initializer_list<Field> fields = {});

inline void Debug(absl::string_view m, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, m, f);
}
inline void Info(absl::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, m, f);
}
inline void Warning(absl::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kWarning, m, f);
}
inline void Error(absl::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kError, m, f);
}

}  // namespace farside::log

#endif  // FARSIDE_LIB_COMMON_LOG_H_
