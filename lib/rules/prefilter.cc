// Vectorscan behind Prefilter. Scratch space is per thread (Vectorscan forbids sharing it
// between concurrent scans) and grown once for each database a thread scans.
#include "lib/rules/prefilter.h"

#include <dlfcn.h>
#include <hs.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/common/digest.h"

namespace farside::rules {

struct Prefilter::Db {
  hs_database_t* db = nullptr;
  ~Db() {
    if (db != nullptr) hs_free_database(db);
  }
};

namespace {

std::atomic<uint64_t> next_serial{1};
constexpr int kRepeatThreshold = 13;

using ScanFn = hs_error_t (*)(const hs_database_t*, const char*, unsigned, unsigned, hs_scratch_t*,
                              match_event_handler, void*);

int MarkHit(unsigned int, unsigned long long, unsigned long long, unsigned int, void* ctx) {
  *static_cast<bool*>(ctx) = true;
  return 0;
}

// Whether `scan` finds what it must in cases some builds get wrong: Debian 12's Vectorscan
// 5.4.9, on a CPU with AVX-512, misses a one-byte literal (with SINGLEMATCH) and "q[jk]"
// anywhere past the first 64 bytes of a block, so the prefilter would wrongly say "cannot
// match". Fixed upstream later (VectorCamp/vectorscan#369, #375).
bool ScanWorks(ScanFn scan, const hs_platform_info_t* platform) {
  struct Probe {
    const char* re;
    unsigned flags;
  };
  const Probe probes[] = {{"q", HS_FLAG_SINGLEMATCH},
                          {"\\x00", HS_FLAG_SINGLEMATCH | HS_FLAG_PREFILTER},
                          {"q[jk]", 0},
                          {"qj", HS_FLAG_SINGLEMATCH}};
  for (size_t at : {0, 63, 64, 100, 1000}) {
    std::string text(at, 'z');
    text.append("qk", 2);
    text.push_back('\0');
    text.append("qj tail");
    for (const Probe& p : probes) {
      hs_database_t* db = nullptr;
      hs_compile_error_t* err = nullptr;
      if (hs_compile(p.re, p.flags, HS_MODE_BLOCK, platform, &db, &err) != HS_SUCCESS) {
        hs_free_compile_error(err);
        return false;
      }
      hs_scratch_t* scratch = nullptr;
      bool hit = false;
      bool ok = hs_alloc_scratch(db, &scratch) == HS_SUCCESS &&
                scan(db, text.data(), static_cast<unsigned>(text.size()), 0, scratch, MarkHit,
                     &hit) == HS_SUCCESS && hit;
      if (scratch != nullptr) hs_free_scratch(scratch);
      hs_free_database(db);
      if (!ok) return false;
    }
  }
  return true;
}

// The scan entry point to use, chosen once: hs_scan (whose fat runtime picks the variant for
// this CPU) if it passes ScanWorks, else the library's AVX2 variant with databases compiled for
// AVX2, else none (no prefilter: every pattern runs in PCRE2, slower but never wrong).
struct ScanRuntime {
  ScanFn scan = nullptr;
  bool avx2 = false;  // databases are compiled for AVX2 (the platform below)
  hs_platform_info_t platform{};
  std::string note;
};

const ScanRuntime& GetRuntime() {
  static const ScanRuntime* rt = [] {
    auto* r = new ScanRuntime();
    if (ScanWorks(hs_scan, nullptr)) {
      r->scan = hs_scan;
      r->note = "vectorscan";
      return r;
    }
    auto avx2 = reinterpret_cast<ScanFn>(dlsym(RTLD_DEFAULT, "avx2_hs_scan"));
    if (avx2 != nullptr && __builtin_cpu_supports("avx2") &&
        hs_populate_platform(&r->platform) == HS_SUCCESS) {
      r->platform.cpu_features = HS_CPU_FEATURES_AVX2;
      if (ScanWorks(avx2, &r->platform)) {
        r->scan = avx2;
        r->avx2 = true;
        r->note = "vectorscan (AVX2: this CPU's AVX-512 variant failed the self-test)";
        return r;
      }
    }
    r->note = "off: vectorscan failed its self-test on this CPU; every regex runs in PCRE2";
    return r;
  }();
  return *rt;
}

struct ThreadScratch {
  hs_scratch_t* scratch = nullptr;
  std::vector<uint64_t> sized_for;  // serials of the databases this scratch fits
  ~ThreadScratch() {
    if (scratch != nullptr) hs_free_scratch(scratch);
  }
};

bool HasNonAscii(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

// Vectorscan flags for one pattern, or false when it should not be covered.
bool FlagsFor(const Prefilter::Pattern& p, unsigned* flags) {
  *flags = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
  bool bytes = p.flags.find('b') != std::string::npos;
  if (!bytes) *flags |= HS_FLAG_UTF8;
  for (char f : p.flags) {
    if (f == 'i') *flags |= HS_FLAG_CASELESS;
    if (f == 'm') *flags |= HS_FLAG_MULTILINE;
    if (f == 's') *flags |= HS_FLAG_DOTALL;
  }
  // PCRE2 folds case beyond ASCII in UTF mode; rather than trust that Vectorscan folds the
  // same letters, such patterns are always run.
  if ((*flags & HS_FLAG_CASELESS) && !bytes && HasNonAscii(p.pattern)) return false;
  return true;
}

int OnMatch(unsigned int id, unsigned long long /*from*/, unsigned long long /*to*/,
            unsigned int /*flags*/, void* ctx) {
  auto* marks = static_cast<std::vector<char>*>(ctx);
  (*marks)[id] = 1;
  return 0;  // go on: other patterns may match too (each reports once: SINGLEMATCH)
}

}  // namespace

std::string LoosenRepeats(absl::string_view re, int threshold) {
  std::string out;
  out.reserve(re.size());
  bool in_class = false;
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\') {  // an escape, with its argument: \x{..}, \p{..}, \N{..}, \o{..}
      out.push_back(c);
      if (i + 1 >= re.size()) break;
      char e = re[++i];
      out.push_back(e);
      if ((e == 'x' || e == 'p' || e == 'P' || e == 'N' || e == 'o' || e == 'g' || e == 'k') &&
          i + 1 < re.size() && re[i + 1] == '{') {
        size_t close = re.find('}', i + 1);
        if (close == absl::string_view::npos) close = re.size() - 1;
        absl::StrAppend(&out, re.substr(i + 1, close - i));
        i = close;
      }
      continue;
    }
    if (in_class) {
      if (c == '[' && i + 1 < re.size() && re[i + 1] == ':') {  // [:alpha:]
        size_t close = re.find(":]", i + 2);
        if (close != absl::string_view::npos) {
          absl::StrAppend(&out, re.substr(i, close + 2 - i));
          i = close + 1;
          continue;
        }
      }
      if (c == ']') in_class = false;
      out.push_back(c);
      continue;
    }
    if (c == '[') {
      in_class = true;
      out.push_back(c);
      // A ']' first (after an optional '^') is a literal.
      if (i + 1 < re.size() && re[i + 1] == '^') out.push_back(re[++i]);
      if (i + 1 < re.size() && re[i + 1] == ']') out.push_back(re[++i]);
      continue;
    }
    if (c == '{') {
      // {m}, {m,} or {m,n}: digits only, else a literal brace.
      size_t j = i + 1;
      long lo = 0, hi = -1;
      bool digits = false;
      while (j < re.size() && absl::ascii_isdigit(static_cast<unsigned char>(re[j]))) {
        lo = std::min<long>(lo * 10 + (re[j++] - '0'), 1000000);
        digits = true;
      }
      bool comma = j < re.size() && re[j] == ',';
      if (comma) {
        ++j;
        if (j < re.size() && absl::ascii_isdigit(static_cast<unsigned char>(re[j]))) {
          hi = 0;
          while (j < re.size() && absl::ascii_isdigit(static_cast<unsigned char>(re[j]))) {
            hi = std::min<long>(hi * 10 + (re[j++] - '0'), 1000000);
          }
        }
      } else {
        hi = lo;
      }
      if (digits && j < re.size() && re[j] == '}') {
        if (lo >= threshold || hi >= threshold) {
          // X{m,n} matches a subset of what X{k,} matches for any k <= m; k stays below the
          // threshold, so the lower bound still narrows what the prefilter passes.
          const long k = std::min<long>(lo, threshold - 1);
          if (k <= 1) {
            out.push_back(k == 0 ? '*' : '+');
          } else {
            absl::StrAppend(&out, "{", k, ",}");
          }
          // A lazy or possessive mark after the quantifier stays meaningful.
        } else {
          absl::StrAppend(&out, re.substr(i, j + 1 - i));
        }
        i = j;
        continue;
      }
    }
    out.push_back(c);
  }
  return out;
}

std::string DropAnchors(absl::string_view re) {
  std::string out;
  out.reserve(re.size());
  bool in_class = false;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\') {  // an escape and the byte after it stay as they are
      absl::StrAppend(&out, re.substr(i, 2));
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
      // A ']' first (after an optional '^') is a literal.
      out.push_back(c);
      if (i + 1 < re.size() && re[i + 1] == '^') out.push_back(re[++i]);
      if (i + 1 < re.size() && re[i + 1] == ']') out.push_back(re[++i]);
      continue;
    } else if (c == '^' || c == '$') {
      continue;  // an assertion matches nothing itself: without it the rest matches more
    }
    out.push_back(c);
  }
  return out;
}

bool IsValidUtf8(absl::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // ASCII runs, eight bytes at a time.
    while (end - p >= 8) {
      uint64_t w;
      __builtin_memcpy(&w, p, 8);
      if (w & 0x8080808080808080ULL) break;
      p += 8;
    }
    if (p >= end) break;
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int k = 1; k <= n; ++k) {
      if ((p[k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    p += n + 1;
  }
  return true;
}

namespace {

// The cache file: "FSPF2\n", the number of database ids, then for each the number of patterns
// it stands for and their indexes (uint32 each), then the serialized database. Named by a
// digest of Vectorscan's version and what is compiled: each pattern's expression as given
// to Vectorscan (after LoosenRepeats) and flags, so a change to either is a new file.
std::string CachePath(const std::string& dir, const std::vector<std::string>& exprs,
                      const std::vector<unsigned>& flags, bool avx2) {
  Sha256 h;
  h.Update(hs_version());
  if (avx2) h.Update("avx2");
  for (size_t i = 0; i < exprs.size(); ++i) {
    const uint64_t n = exprs[i].size();
    h.Update(absl::string_view(reinterpret_cast<const char*>(&n), sizeof(n))).Update(exprs[i]);
    h.Update(absl::string_view(reinterpret_cast<const char*>(&flags[i]), sizeof(flags[i])));
  }
  const std::string hex = h.Hex(16);
  return absl::StrCat(dir, "/prefilter-", hex, ".hsdb");
}

constexpr absl::string_view kMagic = "FSPF2\n";

// Each database id's pattern indexes.
using Groups = std::vector<std::vector<uint32_t>>;

bool LoadCache(const std::string& path, size_t patterns, Groups* groups, hs_database_t** db) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < kMagic.size() || absl::string_view(bytes).substr(0, kMagic.size()) != kMagic) {
    return false;
  }
  size_t at = kMagic.size();
  auto read = [&](uint32_t* v) {
    if (bytes.size() < at + 4) return false;
    std::memcpy(v, bytes.data() + at, 4);
    at += 4;
    return true;
  };
  uint32_t n;
  if (!read(&n) || n > patterns) return false;
  groups->assign(n, {});
  for (auto& g : *groups) {
    uint32_t m;
    if (!read(&m) || m == 0 || m > patterns) return false;
    g.resize(m);
    for (uint32_t& id : g) {
      if (!read(&id) || id >= patterns) return false;
    }
  }
  return hs_deserialize_database(bytes.data() + at, bytes.size() - at, db) == HS_SUCCESS;
}

void StoreCache(const std::string& dir, const std::string& path, const Groups& groups,
                const hs_database_t* db) {
  char* ser = nullptr;
  size_t len = 0;
  if (hs_serialize_database(db, &ser, &len) != HS_SUCCESS) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  // Written beside and renamed, so a scanner starting at the same time never reads half.
  std::string tmp = absl::StrCat(path, ".", getpid(), ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    auto write = [&](uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
    out.write(kMagic.data(), static_cast<std::streamsize>(kMagic.size()));
    write(static_cast<uint32_t>(groups.size()));
    for (const auto& g : groups) {
      write(static_cast<uint32_t>(g.size()));
      for (uint32_t id : g) write(id);
    }
    out.write(ser, static_cast<std::streamsize>(len));
    if (!out) ec = std::make_error_code(std::errc::io_error);
  }
  std::free(ser);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return;
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace

namespace {

bool Accepts(const std::string& e, unsigned flags) {
  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_expression_info(e.c_str(), flags, &info, &err) != HS_SUCCESS) {
    hs_free_compile_error(err);
    return false;
  }
  std::free(info);
  return true;
}

// One database of `patterns` (from the cache when it is there), and what each id stands
// for; false when no pattern compiles.
bool CompileSet(const std::vector<Prefilter::Pattern>& patterns, const ScanRuntime& rt,
                const std::string& cache_dir, hs_database_t** out, Groups* groups) {
  // What each pattern becomes for Vectorscan (nothing: not covered).
  std::vector<std::string> all(patterns.size());
  std::vector<unsigned> all_flags(patterns.size(), 0);
  std::vector<char> usable(patterns.size(), 0);
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (!FlagsFor(patterns[i], &all_flags[i])) continue;
    usable[i] = 1;
    // Large counted repeats make Vectorscan's compile explode (one SpamAssassin rule took
    // ten minutes); loosened they match a superset, which PCRE2 then narrows.
    all[i] = LoosenRepeats(patterns[i].pattern, kRepeatThreshold);
    if (patterns[i].flags.find('x') != std::string::npos) all[i] = "(?x)" + all[i];
  }
  const std::string path = cache_dir.empty() ? "" : CachePath(cache_dir, all, all_flags, rt.avx2);
  if (!path.empty()) {
    hs_database_t* db = nullptr;
    if (LoadCache(path, patterns.size(), groups, &db)) {
      *out = db;
      return true;
    }
    if (db != nullptr) hs_free_database(db);
  }
  std::vector<std::string> exprs;
  std::vector<unsigned> flags;
  groups->clear();
  std::map<std::pair<std::string, unsigned>, size_t> seen;  // (expression, flags) -> group
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (!usable[i]) continue;
    const std::string key = all[i];
    std::string& e = all[i];
    const unsigned f = all_flags[i];
    // The same pattern again (the pieces of a split rule share their widened pattern) is one
    // more member of the first one's id: Vectorscan would run each copy.
    if (auto it = seen.find({key, f}); it != seen.end()) {
      (*groups)[it->second].push_back(static_cast<uint32_t>(i));
      continue;
    }
    // Ask first whether Vectorscan takes the pattern alone: cheaper than failing the set.
    // An anchor it refuses inside a pattern ("(?:$|\W)") is dropped: that matches more.
    if (!Accepts(e, f)) {
      std::string dropped = DropAnchors(e);
      if (dropped == e || !Accepts(dropped, f)) continue;
      e = std::move(dropped);
    }
    seen[{key, f}] = exprs.size();
    exprs.push_back(e);
    flags.push_back(f);
    groups->push_back({static_cast<uint32_t>(i)});
  }
  // A pattern can still fail in the set (too large, say): drop the one named and retry.
  while (!exprs.empty()) {
    std::vector<const char*> cexprs;
    std::vector<unsigned> seq(exprs.size());
    for (size_t k = 0; k < exprs.size(); ++k) {
      cexprs.push_back(exprs[k].c_str());
      seq[k] = static_cast<unsigned>(k);
    }
    hs_database_t* db = nullptr;
    hs_compile_error_t* err = nullptr;
    hs_error_t rc = hs_compile_multi(cexprs.data(), flags.data(), seq.data(),
                                     static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK,
                                     rt.avx2 ? &rt.platform : nullptr, &db, &err);
    if (rc == HS_SUCCESS) {
      if (!path.empty()) StoreCache(cache_dir, path, *groups, db);
      *out = db;
      return true;
    }
    int bad = err != nullptr ? err->expression : -1;
    hs_free_compile_error(err);
    if (bad < 0 || static_cast<size_t>(bad) >= exprs.size()) return false;
    exprs.erase(exprs.begin() + bad);
    flags.erase(flags.begin() + bad);
    groups->erase(groups->begin() + bad);
  }
  return false;
}

}  // namespace

std::unique_ptr<Prefilter> Prefilter::Build(const std::vector<Pattern>& patterns,
                                            const std::string& cache_dir) {
  const ScanRuntime& rt = GetRuntime();
  if (rt.scan == nullptr) return nullptr;
  std::unique_ptr<Prefilter> pf(new Prefilter());
  // Which patterns a set's database holds (as a mask), once its ids are laid out.
  auto make = [&](hs_database_t* db, const Groups& groups, Set* set) {
    set->db = std::make_unique<Db>();
    set->db->db = db;
    std::vector<char> in(patterns.size(), 0);
    for (const auto& g : groups) {
      set->first.push_back(static_cast<uint32_t>(set->members.size()));
      for (uint32_t id : g) {
        set->members.push_back(id);
        in[id] = 1;
      }
    }
    set->first.push_back(static_cast<uint32_t>(set->members.size()));
    set->serial = next_serial.fetch_add(1);
    return in;
  };
  hs_database_t* db = nullptr;
  Groups groups;
  if (!CompileSet(patterns, rt, cache_dir, &db, &groups)) return nullptr;
  pf->covered_ = make(db, groups, &pf->all_);
  // Plain texts get the plain forms; a pattern is covered when both databases hold it.
  if (std::any_of(patterns.begin(), patterns.end(), [](const Pattern& p) { return !p.plain.empty(); })) {
    std::vector<Pattern> plain = patterns;
    for (Pattern& p : plain) {
      if (!p.plain.empty()) p.pattern = std::move(p.plain);
      p.plain.clear();
    }
    if (CompileSet(plain, rt, cache_dir, &db, &groups)) {
      pf->plain_ = std::make_unique<Set>();
      std::vector<char> in = make(db, groups, pf->plain_.get());
      for (size_t i = 0; i < patterns.size(); ++i) pf->covered_[i] &= in[i];
    }
  }
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (!pf->covered_[i]) continue;
    ++pf->covered_count_;
    pf->any_utf8_ |= patterns[i].flags.find('b') == std::string::npos;
  }
  return pf;
}

Prefilter::~Prefilter() = default;

const std::string& Prefilter::Runtime() { return GetRuntime().note; }

bool IsPlainText(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  uint64_t high = 0;
  for (; end - p >= 8; p += 8) {
    uint64_t w;
    __builtin_memcpy(&w, p, 8);
    high |= w;
  }
  for (; p < end; ++p) high |= *p;
  return (high & 0x8080808080808080ULL) == 0 && text.find("&#") == absl::string_view::npos;
}

void Prefilter::Scan(absl::string_view text, std::vector<char>* maybe) const {
  if (plain_ != nullptr && IsPlainText(text)) return ScanSet(*plain_, text, maybe);
  if (any_utf8_ && !IsValidUtf8(text)) {
    for (uint32_t i : all_.members) (*maybe)[i] = 1;
    return;
  }
  ScanSet(all_, text, maybe);
}

void Prefilter::ScanSet(const Set& set, absl::string_view text, std::vector<char>* maybe) const {
  const size_t ids = set.first.size() - 1;
  auto mark_all = [&] {
    for (uint32_t i : set.members) (*maybe)[i] = 1;
  };
  thread_local ThreadScratch ts;
  bool sized = false;
  for (uint64_t s : ts.sized_for) sized |= s == set.serial;
  if (!sized) {
    if (hs_alloc_scratch(set.db->db, &ts.scratch) != HS_SUCCESS) return mark_all();
    ts.sized_for.push_back(set.serial);
  }
  // Marks by database id, then mapped back to pattern indexes.
  thread_local std::vector<char> marks;
  marks.assign(ids, 0);
  hs_error_t rc = GetRuntime().scan(set.db->db, text.data(), static_cast<unsigned>(text.size()), 0,
                                    ts.scratch, OnMatch, &marks);
  if (rc != HS_SUCCESS) return mark_all();
  for (size_t k = 0; k < ids; ++k) {
    if (!marks[k]) continue;
    for (uint32_t m = set.first[k]; m < set.first[k + 1]; ++m) (*maybe)[set.members[m]] = 1;
  }
}

}  // namespace farside::rules
