// Bayes tokenizer: normalisation (ICU), word splitting, OSB pairs, xxHash3.
#include "lib/bayes/tokenizer.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>
#include <xxhash.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

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

class Collector {
 public:
  Collector(const TokenizerOptions& o) : o_(o) {}
  void Add(absl::string_view key) {
    if (hashes_.size() < o_.max_tokens * 4) hashes_.push_back(TokenHash(key));
  }
  // Words and their OSB pairs, under a prefix ("t" for text, "s" for the subject).
  void Text(absl::string_view prefix, const std::vector<std::string>& words) {
    std::string key;
    for (size_t i = 0; i < words.size(); ++i) {
      key.assign(prefix.data(), prefix.size());
      key += ':';
      key += words[i];
      Add(key);
      for (size_t k = 1; k < o_.window && i + k < words.size(); ++k) {
        key.assign(prefix.data(), prefix.size());
        absl::StrAppend(&key, "~", k, ":", words[i], "\x1f", words[i + k]);
        Add(key);
      }
    }
  }
  std::vector<uint64_t> Done() {
    std::sort(hashes_.begin(), hashes_.end());
    hashes_.erase(std::unique(hashes_.begin(), hashes_.end()), hashes_.end());
    if (hashes_.size() > o_.max_tokens) hashes_.resize(o_.max_tokens);
    return std::move(hashes_);
  }

 private:
  const TokenizerOptions& o_;
  std::vector<uint64_t> hashes_;
};

}  // namespace

uint64_t TokenHash(absl::string_view key) { return XXH3_64bits(key.data(), key.size()); }

std::vector<std::string> Words(absl::string_view utf8, const TokenizerOptions& o) {
  if (utf8.size() > o.max_text_bytes) utf8 = utf8.substr(0, o.max_text_bytes);
  const std::string text = Normalize(utf8);
  std::vector<std::string> out;
  std::string word;
  auto flush = [&] {
    if (word.size() >= o.min_word_bytes) {
      if (word.size() > o.max_word_bytes) {
        // One token for a run of text too long to be a word (base64, hashes, URLs' tails).
        word = absl::StrCat("\x01long", word.size() / 10, word.substr(0, 6));
      }
      out.push_back(word);
    }
    word.clear();
  };
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t len = static_cast<int32_t>(text.size());
  int32_t i = 0;
  while (i < len) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(s, i, len, c);
    if (c < 0) {  // invalid byte: a separator
      flush();
      continue;
    }
    if (Unspaced(c)) {
      flush();
      out.emplace_back(text.substr(static_cast<size_t>(start), static_cast<size_t>(i - start)));
      continue;
    }
    if (WordChar(c)) {
      word.append(text, static_cast<size_t>(start), static_cast<size_t>(i - start));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

std::vector<uint64_t> Tokenize(const mime::Message& msg, const TokenizerOptions& o) {
  Collector c(o);
  c.Text("s", Words(msg.Subject(), o));
  size_t budget = o.max_text_bytes * 4;
  for (const mime::Part& p : msg.parts()) {
    if (!p.is_leaf() || p.is_attachment() || p.text.empty() || budget == 0) continue;
    absl::string_view text = p.is_html() ? absl::string_view(p.Html().text) : absl::string_view(p.text);
    if (!p.is_html() && p.content_type != "text/plain") continue;
    if (text.size() > budget) text = text.substr(0, budget);
    budget -= text.size();
    c.Text("t", Words(text, o));
  }
  for (const std::string& name : o.headers) {
    const std::string lname = absl::AsciiStrToLower(name);
    for (const mime::HeaderField* f : msg.headers().FindAll(name)) {
      for (const std::string& w : Words(f->value, o)) c.Add(absl::StrCat("h:", lname, ":", w));
    }
  }
  for (const mime::Url& u : msg.Links().urls) {
    c.Add(absl::StrCat("u:", u.host));
    if (!u.domain.empty()) c.Add(absl::StrCat("d:", u.domain));
  }
  for (const mime::Part& p : msg.parts()) {
    if (p.is_attachment()) {
      c.Add(absl::StrCat("a:", p.content_type));
      if (!p.detected_type.empty()) c.Add(absl::StrCat("A:", p.detected_type));
    }
  }
  return c.Done();
}

}  // namespace farside::bayes
