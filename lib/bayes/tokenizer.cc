// Bayes tokenizer: normalisation (ICU), word splitting, OSB pairs, xxHash3.
#include "lib/bayes/tokenizer.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>
#include <xxhash.h>


#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/common/digest.h"

namespace farside::bayes {
namespace {

bool IsAscii(absl::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// NFKC_Casefold; ASCII takes a fast path that gives the same result.
std::string Normalize(absl::string_view s) {
  if (IsAscii(s)) return absl::AsciiStrToLower(s);
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFKCCasefoldInstance(err);
  if (U_FAILURE(err)) return absl::AsciiStrToLower(s);
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  icu::UnicodeString out = n->normalize(u, err);
  if (U_FAILURE(err)) return absl::AsciiStrToLower(s);
  std::string r;
  out.toUTF8String(r);
  return r;
}

bool Unspaced(UChar32 c) {
  UErrorCode err = U_ZERO_ERROR;
  UScriptCode sc = uscript_getScript(c, &err);
  return sc == USCRIPT_HAN || sc == USCRIPT_HIRAGANA || sc == USCRIPT_KATAKANA;
}

bool WordChar(UChar32 c) {
  return u_isalnum(c) || (U_GET_GC_MASK(c) & U_GC_M_MASK) != 0;
}

uint64_t Seed(absl::string_view prefix) { return XXH3_64bits(prefix.data(), prefix.size()); }

uint64_t Word(uint64_t seed, absl::string_view w) { return XXH3_64bits_withSeed(w.data(), w.size(), seed); }

uint64_t Pair(uint64_t a, uint64_t b, size_t distance) {
  const uint64_t both[2] = {a, b};
  return XXH3_64bits_withSeed(both, sizeof both, 0x9e3779b97f4a7c15ULL + distance);
}

// Calls f(word) for each word of the text (see Words()), without allocating per word.
template <typename F>
void ForEachWord(absl::string_view utf8, const TokenizerOptions& o, F&& f) {
  if (utf8.size() > o.max_text_bytes) utf8 = utf8.substr(0, o.max_text_bytes);
  const std::string text = Normalize(utf8);
  std::string long_word;
  size_t word_start = 0, word_len = 0;
  auto flush = [&] {
    if (word_len >= o.min_word_bytes) {
      absl::string_view w(text.data() + word_start, word_len);
      if (word_len > o.max_word_bytes) {
        // One token for a run of text too long to be a word (base64, hashes, URLs' tails).
        long_word = absl::StrCat("\x01long", word_len / 10, w.substr(0, 6));
        f(absl::string_view(long_word));
      } else {
        f(w);
      }
    }
    word_len = 0;
  };
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t len = static_cast<int32_t>(text.size());
  int32_t i = 0;
  while (i < len) {
    const int32_t start = i;
    if (s[i] < 0x80) {  // ASCII without ICU
      ++i;
      if (absl::ascii_isalnum(s[start])) {
        if (word_len == 0) word_start = static_cast<size_t>(start);
        ++word_len;
      } else {
        flush();
      }
      continue;
    }
    UChar32 c;
    U8_NEXT(s, i, len, c);
    if (c < 0) {  // invalid byte: a separator
      flush();
      continue;
    }
    if (Unspaced(c)) {
      flush();
      f(absl::string_view(text.data() + start, static_cast<size_t>(i - start)));
      continue;
    }
    if (WordChar(c)) {
      if (word_len == 0) word_start = static_cast<size_t>(start);
      word_len += static_cast<size_t>(i - start);
    } else {
      flush();
    }
  }
  flush();
}

// The token hashes of one message, each once, in the order first seen. Membership is an
// open-addressed table probed by the hash's own bits (xxHash3's are uniform already),
// kept per thread and emptied by a generation stamp: a flat_hash_set spent a fifth of the
// tokenizer's time growing, hashing again and being freed for every message.
class TokenSet {
 public:
  explicit TokenSet(size_t max_tokens) {
    size_t want = 64;
    while (want < 2 * max_tokens + 16) want <<= 1;  // at most half full
    Table& t = table();
    if (t.slots.size() < want) {
      t.slots.assign(want, Slot{});
      t.generation = 0;
    }
    if (++t.generation == 0) {  // the stamp wrapped: clear for real once in 2^32 messages
      std::fill(t.slots.begin(), t.slots.end(), Slot{});
      t.generation = 1;
    }
    slots_ = t.slots.data();
    mask_ = t.slots.size() - 1;
    generation_ = t.generation;
    tokens_.reserve(std::min<size_t>(max_tokens, 1024));
  }
  size_t size() const { return tokens_.size(); }
  void Insert(uint64_t h) {
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.generation != generation_) {
        s = {h, generation_};
        tokens_.push_back(h);
        return;
      }
      if (s.key == h) return;
    }
  }
  std::vector<uint64_t> Take() { return std::move(tokens_); }

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t generation = 0;
  };
  struct Table {
    std::vector<Slot> slots;
    uint32_t generation = 0;
  };
  static Table& table() {
    thread_local Table t;
    return t;
  }
  Slot* slots_;
  size_t mask_;
  uint32_t generation_;
  std::vector<uint64_t> tokens_;
};

class Collector {
 public:
  explicit Collector(const TokenizerOptions& o) : o_(o), seen_(o.max_tokens) {}
  bool full() const { return seen_.size() >= o_.max_tokens; }
  void Add(uint64_t h) {
    if (!full()) seen_.Insert(h);
  }
  void Add(absl::string_view prefix, absl::string_view word) { Add(Word(Seed(prefix), word)); }
  // Words and their OSB pairs under a prefix: each word with each of the window-1 words
  // before it, the distance part of the pair.
  void Text(absl::string_view prefix, absl::string_view text) {
    const uint64_t seed = Seed(prefix);
    uint64_t ring[16];
    const size_t back = std::min<size_t>(o_.window > 0 ? o_.window - 1 : 0, 16);
    size_t n = 0;
    ForEachWord(text, o_, [&](absl::string_view w) {
      if (full()) return;
      const uint64_t h = Word(seed, w);
      Add(h);
      for (size_t k = 1; k <= back && k <= n; ++k) Add(Pair(ring[(n - k) % 16], h, k));
      ring[n % 16] = h;
      ++n;
    });
  }
  std::vector<uint64_t> Done() { return seen_.Take(); }

 private:
  const TokenizerOptions& o_;
  TokenSet seen_;
};

}  // namespace

std::vector<std::string> Words(absl::string_view utf8, const TokenizerOptions& o) {
  std::vector<std::string> out;
  ForEachWord(utf8, o, [&](absl::string_view w) { out.emplace_back(w); });
  return out;
}

uint64_t WordToken(absl::string_view prefix, absl::string_view word) {
  return Word(Seed(prefix), word);
}

uint64_t PairToken(absl::string_view prefix, absl::string_view first, absl::string_view second,
                   size_t distance) {
  const uint64_t seed = Seed(prefix);
  return Pair(Word(seed, first), Word(seed, second), distance);
}

std::vector<uint64_t> Tokenize(const mime::Message& msg, const TokenizerOptions& o) {
  Collector c(o);
  c.Text("s", msg.Subject());
  for (const std::string& name : o.headers) {
    const uint64_t seed = Seed(absl::StrCat("h:", absl::AsciiStrToLower(name)));
    for (const mime::HeaderField* f : msg.headers().FindAll(name)) {
      ForEachWord(f->value, o, [&](absl::string_view w) { c.Add(Word(seed, w)); });
    }
  }
  // The newest relays: the sending host's names and network, and the receiving host (a
  // site's own relays are constant, but the hops mail takes before them are not).
  size_t hops = 0;
  for (const mime::ReceivedHop& h : msg.Received()) {
    if (hops++ >= o.received_hops) break;
    c.Add("r:helo", absl::AsciiStrToLower(h.from));
    if (!h.from_rdns.empty()) c.Add("r:rdns", absl::AsciiStrToLower(h.from_rdns));
    if (!h.ip.empty()) {
      c.Add("r:ip", h.ip);
      if (const size_t dot = h.ip.rfind('.'); dot != std::string::npos) c.Add("r:net", h.ip.substr(0, dot));
    }
    c.Add("r:with", absl::AsciiStrToLower(h.with));
    c.Add("r:by", absl::AsciiStrToLower(h.by));
  }
  for (const mime::Url& u : msg.Links().urls) {
    c.Add("u", u.host);
    if (!u.domain.empty()) c.Add("d", u.domain);
    // The words of the path and query (spam campaigns reuse their scripts and ids), and
    // what kind of link it was.
    const uint64_t path_seed = Seed("p");
    if (size_t at = u.url.find(u.host); at != std::string::npos) {
      ForEachWord(absl::string_view(u.url).substr(at + u.host.size()), o,
                  [&](absl::string_view w) { c.Add(Word(path_seed, w)); });
    }
    c.Add("k", absl::StrCat(static_cast<int>(u.source), u.ip_host, u.obfuscated, u.userinfo));
  }
  for (const mime::Part& p : msg.parts()) {
    if (p.is_attachment()) {
      c.Add("a", p.content_type);
      if (!p.detected_type.empty()) c.Add("A", p.detected_type);
    }
  }
  // The text last: a long message fills the token budget, and the few header, link and
  // attachment tokens say the most per token.
  size_t budget = o.max_text_bytes * 4;
  for (const mime::Part& p : msg.parts()) {
    if (!p.is_leaf() || p.is_attachment() || p.text.empty() || budget == 0) continue;
    absl::string_view text = p.is_html() ? absl::string_view(p.Html().text) : absl::string_view(p.text);
    if (!p.is_html() && p.content_type != "text/plain") continue;
    if (text.size() > budget) text = text.substr(0, budget);
    budget -= text.size();
    c.Text("t", text);
  }
  return c.Done();
}

std::string LearnDigest(const mime::Message& msg) {
  std::string subject = msg.Subject();
  absl::string_view b = msg.root().body;  // as sent, after the header
  return Sha256().Update(subject).Update("\n").Update(b).Hex(16);
}

}  // namespace farside::bayes
