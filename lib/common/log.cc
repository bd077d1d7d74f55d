// The logger behind log.h: lines go to stderr under one mutex so they never interleave.
#include "lib/common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/common/json.h"

namespace farside::log {
namespace {

struct State {
  std::mutex mu;
  std::string service = "farside";
  bool json = false;
};

State& GetState() {
  static State* state = new State();  // never destroyed: threads may log during exit
  return *state;
}

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarning: return "warning";
    case Level::kError: return "error";
  }
  return "info";
}

// Text values with spaces or quotes are quoted so a line stays parseable as key=value.
void AppendTextValue(std::string& out, absl::string_view v) {
  bool plain = !v.empty() && v.find_first_of(" \"=\t\n") == absl::string_view::npos;
  if (plain) {
    out.append(v.data(), v.size());
  } else {
    AppendJsonString(&out, v);
  }
}

}  // namespace

absl::Status Configure(absl::string_view service, absl::string_view level,
                       absl::string_view format) {
  std::string lv = absl::AsciiStrToLower(level);
  Level parsed;
  if (lv == "debug") {
    parsed = Level::kDebug;
  } else if (lv == "info") {
    parsed = Level::kInfo;
  } else if (lv == "warning" || lv == "warn") {
    parsed = Level::kWarning;
  } else if (lv == "error") {
    parsed = Level::kError;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown log level '", level, "' (debug, info, warning, error)"));
  }
  if (format != "text" && format != "json") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown log format '", format, "' (text, json)"));
  }
  State& st = GetState();
  std::lock_guard<std::mutex> lock(st.mu);
  st.service = std::string(service);
  st.json = format == "json";
  g_level.store(static_cast<int>(parsed));
  return absl::OkStatus();
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void Write(Level level, absl::string_view message, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  State& st = GetState();
  std::string now = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::string line;
  std::lock_guard<std::mutex> lock(st.mu);
  if (st.json) {
    absl::StrAppend(&line, "{\"time\":\"", now, "\",\"level\":\"", LevelName(level),
                    "\",\"service\":");
    AppendJsonString(&line, st.service);
    line += ",\"msg\":";
    AppendJsonString(&line, message);
    for (const Field& f : fields) {
      line.push_back(',');
      AppendJsonString(&line, f.key);
      line.push_back(':');
      AppendJsonString(&line, f.value);
    }
    line += "}\n";
  } else {
    absl::StrAppend(&line, now, " ", LevelName(level), " ", st.service, ": ", message);
    for (const Field& f : fields) {
      absl::StrAppend(&line, " ", f.key, "=");
      AppendTextValue(line, f.value);
    }
    line.push_back('\n');
  }
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace farside::log
