// The HTML tokenizer against gumbo's tree construction on every text/html part of a corpus:
// how often they agree on the visible text, the links, the images and the forms, what
// each costs, and the disagreements, so that a change to either shows.
// usage: build/bench/html_diff [--show N] [--field text|links|anchors|images|forms] DIR...
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "bench/corpus.h"
#include "lib/mime/html.h"
#include "lib/mime/message.h"

namespace {

using farside::mime::HtmlContent;

// White space of any kind as one space: where the two put a line break or a space is
// layout, not content.
std::string Flat(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' || c == '\n') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string Hrefs(const HtmlContent& h) {
  std::vector<std::string> v;
  for (const auto& l : h.links) v.push_back(l.href);
  return absl::StrJoin(v, "\n");
}

std::string Anchors(const HtmlContent& h) {
  std::vector<std::string> v;
  for (const auto& l : h.links) v.push_back(Flat(l.text));
  return absl::StrJoin(v, "\n");
}

// Where two strings part, with some context on each side.
void ShowDiff(const char* what, const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  size_t from = i > 60 ? i - 60 : 0;
  std::printf("    %s at byte %zu\n      tokenizer: %s\n      gumbo:     %s\n", what, i,
              a.substr(from, 160).c_str(), b.substr(from, 160).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  int show = 10;
  std::string only;
  std::vector<std::string> dirs;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--show") && i + 1 < argc) {
      show = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--field") && i + 1 < argc) {
      only = argv[++i];
    } else {
      dirs.push_back(argv[i]);
    }
  }
  if (dirs.empty()) {
    std::fprintf(stderr, "usage: %s [--show N] [--field text|links|anchors|images|forms] DIR...\n", argv[0]);
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> parts;  // file, html
  for (const auto& dir : dirs) {
    if (!std::filesystem::is_directory(dir)) {
      std::fprintf(stderr, "%s: %s is not a directory\n", argv[0], dir.c_str());
      return 2;
    }
    for (const auto& [path, text] : farside::bench::LoadCorpus(dir)) {
      auto msg = farside::mime::Message::Parse(text, farside::mime::Message::DefaultLimits());
      for (const auto& p : msg.parts()) {
        if (p.is_html()) parts.emplace_back(path, p.text);
      }
    }
  }
  const char* kFields[] = {"text", "links", "anchors", "images", "forms"};
  std::map<std::string, int> agree;
  int all = 0, shown = 0;
  size_t bytes = 0;
  double t_ours = 0, t_gumbo = 0;
  for (const auto& [file, html] : parts) {
    bytes += html.size();
    auto t0 = std::chrono::steady_clock::now();
    HtmlContent a = farside::mime::HtmlToText(html);
    auto t1 = std::chrono::steady_clock::now();
    HtmlContent b = farside::mime::HtmlToTextGumbo(html);
    auto t2 = std::chrono::steady_clock::now();
    t_ours += std::chrono::duration<double>(t1 - t0).count();
    t_gumbo += std::chrono::duration<double>(t2 - t1).count();
    const std::string fa[] = {Flat(a.text), Hrefs(a), Anchors(a), absl::StrJoin(a.images, "\n"),
                              absl::StrJoin(a.forms, "\n")};
    const std::string fb[] = {Flat(b.text), Hrefs(b), Anchors(b), absl::StrJoin(b.images, "\n"),
                              absl::StrJoin(b.forms, "\n")};
    bool same = true, printed = false;
    for (int f = 0; f < 5; ++f) {
      if (fa[f] == fb[f]) {
        ++agree[kFields[f]];
        continue;
      }
      same = false;
      if (shown < show && (only.empty() || only == kFields[f])) {
        if (!printed) std::printf("%s\n", file.c_str());
        printed = true;
        ShowDiff(kFields[f], fa[f], fb[f]);
      }
    }
    if (printed) ++shown;
    if (same) ++all;
  }
  const double n = static_cast<double>(parts.size());
  std::printf("\n%zu HTML parts, %.1f MB\n", parts.size(), bytes / 1e6);
  for (const char* f : kFields) std::printf("  %-8s agree %6.2f%%\n", f, 100.0 * agree[f] / n);
  std::printf("  all five agree %6.2f%% (%d)\n", 100.0 * all / n, all);
  std::printf("  tokenizer %.1f MB/s, gumbo %.1f MB/s\n", bytes / 1e6 / t_ours, bytes / 1e6 / t_gumbo);
  return 0;
}
