// farside: the command-line client (what rspamc is to Rspamd). Scans files through a
// scanner, reads stats and history from a controller, and checks configuration files.
// Exit codes: 0 no action for every message, 1 some other action, 2 an error.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "farside/v1/scanner.grpc.pb.h"
#include "farside/v1/state.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "lib/common/config_loader.h"
#include "lib/common/names.h"
#include "lib/rpc/health_client.h"
#include "lib/common/json.h"
#include "lib/rules/sa_import.h"
#include "tools/farside/args.h"
#include "tools/farside/parse_command.h"

namespace {

using google::protobuf::util::TimeUtil;
constexpr int kExitClean = 0;
constexpr int kExitAction = 1;
constexpr int kExitError = 2;

constexpr char kUsage[] = R"(usage: farside [options] COMMAND [ARGS]

commands:
  scan FILE...      scan messages ("-" reads standard input); prints action, score, symbols
  learn spam|ham FILE|DIR...
                    teach the Bayes classifier (directories are read recursively);
                    --user ADDR learns into that user's statistics; --jobs N calls at
                    once (default 8)
  stats             counters from the controller: scans by action
  history [N]       the N most recent scans (default 20)
  config [FILE]     check a configuration file and print the effective configuration
  parse FILE        show the parsed message model (no server needed); --json for scripts
  rules import DIR  import SpamAssassin .cf rules: loaded and skipped counts by rule type
                    (--json; --verbose lists each skipped rule and why)

options:
  --scanner HOST:PORT      scanner to ask (default 127.0.0.1:11433)
  --controller HOST:PORT   controller to ask (default 127.0.0.1:11434)
  --json                   print protobuf's JSON mapping instead of text
  --timeout DURATION       deadline per call (default 30s)
  scan envelope: --ip ADDR --hostname NAME --helo NAME --from ADDR --rcpt ADDR[,ADDR]
                 --user LOGIN --queue-id ID --profile NAME --outbound

exit status: 0 no action for every message, 1 another action for some message, 2 an error
)";

int Error(const std::string& msg) {
  std::fprintf(stderr, "farside: %s\n", msg.c_str());
  return kExitError;
}

// One readable line for a failed call to `what` at `target`.
std::string CallError(const grpc::Status& st, absl::string_view what, absl::string_view target,
                      absl::Duration timeout) {
  std::string msg = st.error_message();
  if (st.error_code() == grpc::StatusCode::UNAVAILABLE) {
    // Either no connection at all, or the server answered that it cannot serve now (its
    // Redis is down, it is draining). gRPC's connection text ends with the socket error.
    // Only gRPC's own transport messages mean "no connection"; a server's UNAVAILABLE text
    // (its Redis refused, say) may mention a refused connection of its own.
    std::string lower = absl::AsciiStrToLower(msg);
    bool no_connection = absl::StartsWith(lower, "failed to connect") ||
                         absl::StartsWith(lower, "connections to all backends failing") ||
                         lower == "socket closed" || lower == "connection reset by peer" ||
                         absl::StartsWith(lower, "dns resolution failed");
    if (!no_connection) return absl::StrCat("the ", what, " at ", target, " is unavailable: ", msg);
    size_t cut = msg.rfind(": ");
    std::string reason = cut == std::string::npos ? msg : msg.substr(cut + 2);
    return absl::StrCat("cannot reach the ", what, " at ", target, ": ", reason);
  }
  if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::StrCat("the ", what, " at ", target, " did not answer within ",
                        absl::FormatDuration(timeout));
  }
  return absl::StrCat(what, " at ", target, ": ", absl::AsciiStrToLower(absl::StatusCodeToString(
                                                      static_cast<absl::StatusCode>(st.error_code()))),
                      ": ", msg);
}

std::string ToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opts);
  return out;
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path == "-") {
    std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return data;
  }
  return farside::config::ReadFile(path);
}

void PrintResult(const std::string& name, const farside::v1::ScanResult& r) {
  std::string threshold = r.thresholds().has_reject()
                              ? absl::StrFormat(" / %.2f", r.thresholds().reject())
                              : "";
  std::printf("%s\n", name.c_str());
  std::printf("  action: %s\n", farside::ActionName(r.action()).c_str());
  std::printf("  score: %.2f%s\n", r.score(), threshold.c_str());
  if (!r.forced_by().empty()) std::printf("  forced by: %s\n", r.forced_by().c_str());
  if (r.symbols_size() == 0) std::printf("  symbols: none\n");
  for (const auto& s : r.symbols()) {
    std::string opts = s.options_size() > 0 ? absl::StrCat(" [", absl::StrJoin(s.options(), ", "), "]") : "";
    std::printf("  symbol: %s (%.2f)%s  %s\n", s.name().c_str(), s.score(), opts.c_str(),
                s.description().c_str());
  }
  if (r.smtp_reply().code() != 0) {
    std::printf("  smtp reply: %u %s %s\n", r.smtp_reply().code(),
                r.smtp_reply().enhanced_code().c_str(), r.smtp_reply().text().c_str());
  }
  for (const auto& h : r.header_changes()) {
    std::printf("  header: %s %s%s%s\n", farside::v1::HeaderChange::Op_Name(h.op()).substr(3).c_str(),
                h.name().c_str(), h.value().empty() ? "" : ": ", h.value().c_str());
  }
  for (const auto& s : r.skipped()) {
    std::printf("  skipped: %s (%s)\n", s.check().c_str(), s.reason().c_str());
  }
  std::printf("  message-id: %s\n", r.message_id().empty() ? "(none)" : r.message_id().c_str());
  std::printf("  scan time: %.3f ms on %s\n",
              TimeUtil::DurationToNanoseconds(r.scan_time()) / 1e6, r.scanner().c_str());
}

int Scan(const farside::cli::Args& args, absl::Duration timeout) {
  if (args.positional.size() < 2) return Error("scan: name at least one FILE (or - for stdin)");
  const std::string target = args.Get("scanner", "127.0.0.1:11433");
  auto stub = farside::v1::Scanner::NewStub(farside::rpc::MakeChannel(target, 64 << 20));
  int rc = kExitClean;
  for (size_t i = 1; i < args.positional.size(); ++i) {
    const std::string& path = args.positional[i];
    absl::StatusOr<std::string> data = ReadInput(path);
    if (!data.ok()) {
      Error(std::string(data.status().message()));
      rc = kExitError;
      continue;
    }
    farside::v1::ScanRequest req;
    req.set_message(std::move(*data));
    auto* env = req.mutable_envelope();
    env->set_client_ip(args.Get("ip"));
    env->set_client_hostname(args.Get("hostname"));
    env->set_helo(args.Get("helo"));
    env->set_mail_from(args.Get("from"));
    for (absl::string_view r : absl::StrSplit(args.Get("rcpt"), ',', absl::SkipEmpty())) {
      env->add_rcpt_to(std::string(r));
    }
    env->set_authenticated_user(args.Get("user"));
    env->set_queue_id(args.Get("queue-id"));
    env->set_settings_profile(args.Get("profile"));
    if (args.Has("outbound")) env->set_direction(farside::v1::DIRECTION_OUTBOUND);

    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout));
    farside::v1::ScanResult result;
    grpc::Status st = stub->Scan(&ctx, req, &result);
    if (!st.ok()) {
      // An unreachable scanner fails every file the same way: say it once.
      if (st.error_code() == grpc::StatusCode::UNAVAILABLE) {
        return Error(CallError(st, "scanner", target, timeout));
      }
      Error(absl::StrCat(path, ": ", CallError(st, "scanner", target, timeout)));
      rc = kExitError;
      continue;
    }
    if (args.Has("json")) {
      std::printf("%s\n", ToJson(result).c_str());
    } else {
      PrintResult(path == "-" ? "(stdin)" : path, result);
    }
    if (result.action() != farside::v1::NO_ACTION && rc == kExitClean) rc = kExitAction;
  }
  std::fflush(stdout);
  return rc;
}

int Learn(const farside::cli::Args& args, absl::Duration timeout) {
  if (args.positional.size() < 3 || (args.positional[1] != "spam" && args.positional[1] != "ham")) {
    return Error("learn: say spam or ham, then at least one FILE or DIR");
  }
  std::vector<std::string> files;
  for (size_t i = 2; i < args.positional.size(); ++i) {
    std::error_code ec;
    const std::filesystem::path p = args.positional[i];
    if (std::filesystem::is_directory(p, ec)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p, ec)) {
        if (e.is_regular_file()) files.push_back(e.path().string());
      }
    } else {
      files.push_back(p.string());
    }
  }
  std::sort(files.begin(), files.end());
  const std::string target = args.Get("controller", "127.0.0.1:11434");
  auto stub = farside::v1::State::NewStub(farside::rpc::MakeChannel(target, 64 << 20));
  int jobs = 8;
  if (args.Has("jobs") && (!absl::SimpleAtoi(args.Get("jobs", ""), &jobs) || jobs < 1 || jobs > 256)) {
    return Error("learn: --jobs wants a number from 1 to 256");
  }
  // Several calls in flight: the controller and Redis work on one message while the next
  // travels.
  std::atomic<size_t> next{0}, learned{0}, relearned{0}, already{0}, failed{0};
  std::mutex out_mu;
  std::string call_error;
  auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++) {
      const std::string& f = files[i];
      absl::StatusOr<std::string> data = ReadInput(f);
      if (!data.ok()) {
        std::lock_guard<std::mutex> l(out_mu);
        std::fprintf(stderr, "farside: %s\n", std::string(data.status().message()).c_str());
        ++failed;
        continue;
      }
      farside::v1::LearnRequest req;
      req.set_label(args.positional[1] == "spam" ? farside::v1::LEARN_CLASS_SPAM
                                                 : farside::v1::LEARN_CLASS_HAM);
      req.set_message(std::move(*data));
      req.set_user(args.Get("user", ""));
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout));
      farside::v1::LearnResponse resp;
      grpc::Status st = stub->Learn(&ctx, req, &resp);
      if (!st.ok()) {
        std::lock_guard<std::mutex> l(out_mu);
        if (call_error.empty()) call_error = CallError(st, "controller", target, timeout);
        next = files.size();  // stop: the controller is not answering
        return;
      }
      if (resp.relearned()) ++relearned;
      else if (resp.learned()) ++learned;
      else ++already;
      if (args.Has("verbose")) {
        std::lock_guard<std::mutex> l(out_mu);
        std::printf("%s: %s%s\n", f.c_str(), resp.learned() ? "learned" : "not learned",
                    resp.reason().empty() ? "" : (" (" + resp.reason() + ")").c_str());
      }
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  if (!call_error.empty()) return Error(call_error);
  std::printf("learned %zu, relearned %zu, already learned %zu, unreadable %zu (as %s)\n",
              learned.load(), relearned.load(), already.load(), failed.load(),
              args.positional[1].c_str());
  return failed == 0 ? kExitClean : kExitError;
}

int Stats(const farside::cli::Args& args, absl::Duration timeout) {
  const std::string target = args.Get("controller", "127.0.0.1:11434");
  auto stub = farside::v1::State::NewStub(farside::rpc::MakeChannel(target, 64 << 20));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout));
  farside::v1::StatsResponse resp;
  grpc::Status st = stub->Stats(&ctx, farside::v1::StatsRequest(), &resp);
  if (!st.ok()) return Error(CallError(st, "controller", target, timeout));
  if (args.Has("json")) {
    std::printf("%s\n", ToJson(resp).c_str());
    return kExitClean;
  }
  std::string since = resp.has_since()
                          ? absl::StrCat(" since ", absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                                                                     absl::FromUnixSeconds(resp.since().seconds()),
                                                                     absl::UTCTimeZone()))
                          : "";
  std::printf("scanned: %llu%s\n", static_cast<unsigned long long>(resp.scanned()), since.c_str());
  // Every action, mildest first, zeros included, so scripts can rely on the lines.
  for (int a = farside::v1::Action_MIN; a <= farside::v1::Action_MAX; ++a) {
    if (!farside::v1::Action_IsValid(a)) continue;
    std::string name = farside::ActionName(static_cast<farside::v1::Action>(a));
    auto it = resp.by_action().find(name);
    std::printf("  %-16s %llu\n", name.c_str(),
                static_cast<unsigned long long>(it == resp.by_action().end() ? 0 : it->second));
  }
  return kExitClean;
}

int History(const farside::cli::Args& args, absl::Duration timeout) {
  uint32_t limit = 20;
  if (args.positional.size() > 1 && !absl::SimpleAtoi(args.positional[1], &limit)) {
    return Error("history: N must be a number");
  }
  const std::string target = args.Get("controller", "127.0.0.1:11434");
  auto stub = farside::v1::State::NewStub(farside::rpc::MakeChannel(target, 64 << 20));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout));
  farside::v1::HistoryRequest req;
  req.set_limit(limit);
  farside::v1::HistoryResponse resp;
  grpc::Status st = stub->History(&ctx, req, &resp);
  if (!st.ok()) return Error(CallError(st, "controller", target, timeout));
  if (args.Has("json")) {
    std::printf("%s\n", ToJson(resp).c_str());
    return kExitClean;
  }
  for (const auto& r : resp.records()) {
    std::printf("%s  %-15s %8.2f  %-14s %s\n",
                absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(r.time().seconds()),
                                 absl::UTCTimeZone())
                    .c_str(),
                farside::ActionName(r.action()).c_str(), r.score(),
                r.queue_id().empty() ? "-" : r.queue_id().c_str(), r.subject().c_str());
  }
  return kExitClean;
}

int Parse(const farside::cli::Args& args) {
  if (args.positional.size() != 2) return Error("parse: name one FILE (or - for stdin)");
  absl::StatusOr<std::string> data = ReadInput(args.positional[1]);
  if (!data.ok()) return Error(std::string(data.status().message()));
  farside::mime::Message msg =
      farside::mime::Message::Parse(*data, farside::mime::Message::DefaultLimits());
  std::string out = args.Has("json") ? farside::cli::MessageToJson(msg) + "\n"
                                     : farside::cli::MessageToText(msg);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitClean;
}

int RulesImport(const farside::cli::Args& args) {
  if (args.positional.size() != 3 || args.positional[1] != "import") {
    return Error("rules: usage: farside rules import DIR [--json] [--verbose]");
  }
  absl::StatusOr<std::vector<farside::rules::RuleSet::Source>> cf =
      farside::rules::ReadCfDir(args.positional[2]);
  if (!cf.ok()) return Error(std::string(cf.status().message()));
  farside::rules::SaImport imp = farside::rules::ImportSpamAssassin(*cf, 100000);
  const bool verbose = args.Has("verbose");
  if (args.Has("json")) {
    std::string o = absl::StrCat("{\"loaded\":", imp.loaded(), ",\"skipped\":", imp.skipped_count(),
                                 ",\"disabled\":", imp.disabled_count(), ",\"by_type\":{");
    bool first = true;
    for (const auto& [type, c] : imp.by_type) {
      absl::StrAppend(&o, first ? "" : ",", "\"", type, "\":{\"loaded\":", c.loaded,
                      ",\"skipped\":", c.skipped, ",\"disabled\":", c.disabled, "}");
      first = false;
    }
    o += "}";
    if (verbose) {
      o += ",\"skipped_rules\":[";
      first = true;
      for (const auto& sk : imp.skipped) {
        o += first ? "{" : ",{";
        first = false;
        o += "\"rule\":";
        farside::AppendJsonString(&o, sk.rule);
        o += ",\"type\":";
        farside::AppendJsonString(&o, sk.kind);
        o += ",\"file\":";
        farside::AppendJsonString(&o, sk.file);
        o += ",\"reason\":";
        farside::AppendJsonString(&o, sk.reason);
        o += "}";
      }
      o += "]";
    }
    o += "}\n";
    std::fwrite(o.data(), 1, o.size(), stdout);
    return kExitClean;
  }
  int total = imp.loaded() + imp.skipped_count();
  std::printf("%s: %d files, %d rules: %d loaded, %d skipped (%.1f%% loaded)\n",
              args.positional[2].c_str(), static_cast<int>(cf->size()), total, imp.loaded(),
              imp.skipped_count(), total ? 100.0 * imp.loaded() / total : 0.0);
  std::printf("  %-12s %8s %8s %10s\n", "type", "loaded", "skipped", "(disabled)");
  for (const auto& [type, c] : imp.by_type) {
    std::printf("  %-12s %8d %8d %10d\n", type.c_str(), c.loaded, c.skipped, c.disabled);
  }
  std::printf("disabled: loaded but switched off by a zero score, as SpamAssassin does (%d)\n",
              imp.disabled_count());
  if (verbose) {
    for (const auto& sk : imp.skipped) {
      std::printf("skipped %s (%s, %s): %s\n", sk.rule.c_str(), sk.kind.c_str(), sk.file.c_str(),
                  sk.reason.c_str());
    }
  }
  return kExitClean;
}

int Config(const farside::cli::Args& args) {
  std::string path = args.positional.size() > 1 ? args.positional[1] : "";
  absl::StatusOr<farside::v1::Config> cfg = farside::config::LoadConfig(path);
  if (!cfg.ok()) return Error(std::string(cfg.status().message()));
  google::protobuf::util::JsonPrintOptions opts;
  opts.always_print_primitive_fields = true;
  opts.preserve_proto_field_names = true;  // the names the YAML uses
  opts.add_whitespace = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(*cfg, &out, opts);
  std::printf("%s", out.c_str());
  return kExitClean;
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<farside::cli::Args> args = farside::cli::ParseArgs(
      argc, argv,
      {"scanner", "controller", "timeout", "ip", "hostname", "helo", "from", "rcpt", "user",
       "queue-id", "profile", "jobs"},
      {"json", "help", "outbound", "verbose"});
  if (!args.ok()) return Error(std::string(args.status().message()));
  if (args->Has("help")) {
    std::printf("%s", kUsage);
    return kExitClean;
  }
  if (args->positional.empty()) {
    std::fprintf(stderr, "%s", kUsage);
    return kExitError;
  }
  absl::Duration timeout;
  if (!absl::ParseDuration(args->Get("timeout", "30s"), &timeout) || timeout <= absl::ZeroDuration()) {
    return Error("--timeout: want a duration such as 30s or 500ms");
  }
  const std::string& cmd = args->positional[0];
  if (cmd == "scan") return Scan(*args, timeout);
  if (cmd == "stats") return Stats(*args, timeout);
  if (cmd == "learn") return Learn(*args, timeout);
  if (cmd == "history") return History(*args, timeout);
  if (cmd == "config") return Config(*args);
  if (cmd == "parse") return Parse(*args);
  if (cmd == "rules") return RulesImport(*args);
  return Error(absl::StrCat("unknown command '", cmd, "' (scan, learn, stats, history, config, parse, rules)"));
}
