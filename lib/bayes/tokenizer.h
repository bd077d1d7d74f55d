// Bayes tokens of a message: Unicode-normalised words of the decoded text (HTML as shown)
// and the subject, orthogonal sparse bigrams over them (CRM114, Rspamd), words of chosen
// headers, the newest relays and the hosts of URLs, each hashed to 64 bits with xxHash3 and
// kept once.
#ifndef FARSIDE_LIB_BAYES_TOKENIZER_H_
#define FARSIDE_LIB_BAYES_TOKENIZER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "lib/mime/message.h"

namespace farside::bayes {

struct TokenizerOptions {
  size_t max_tokens = 3000;         // per message, after de-duplication
  size_t max_text_bytes = 256 << 10;  // of each text part (and of all text together x4)
  size_t min_word_bytes = 2;
  size_t max_word_bytes = 40;       // longer words become one "long word" token
  // OSB: pairs of words up to window-1 apart. 3 beat 5 (and 2) on the held-out split of
  // bench/bayes_eval, with a third fewer tokens to store and look up.
  size_t window = 3;
  // Header fields whose words are tokens of their own ("from:alice"). Message-ID: its
  // domain and shape say which software sent the mail (bench/bayes_cv, five folds: 53 spam
  // missed at p >= 0.9 with it, 55 without; 113 against 129 at 8 ham false positives). Not
  // List-Id: it says which list carried the mail, and spam posted to a list took that
  // list's ham weight (64 spam missed with it, 58 without, the same false positives).
  std::vector<std::string> headers = {"From", "Reply-To", "To", "X-Mailer", "User-Agent",
                                      "Content-Type", "Message-ID"};
  // The newest Received fields whose hops are tokens: HELO name, reverse DNS name, address
  // and its /24, protocol, receiving host. 3 beat 0, 1, 2 and 4 over bench/bayes_cv's five
  // folds (at 20 ham false positives: 34 spam missed, against 40 without).
  size_t received_hops = 3;
};

// Words of UTF-8 text: NFKC with case folding (so "ＦＲＥＥ", "Free" and "FREE" are one
// word), split at anything but letters, digits and marks; each Han, Hiragana or Katakana
// character is a word of its own, since those scripts do not space their words.
std::vector<std::string> Words(absl::string_view utf8, const TokenizerOptions& options);

// The message's token hashes, each once, in the order first found; the first max_tokens
// (the subject's first, then headers, links and attachments, then the text in order).
std::vector<uint64_t> Tokenize(const mime::Message& msg, const TokenizerOptions& options);

// What makes a message the same message when it is learned again: 32 hex digits of
// SHA-256 over its decoded Subject and its body, not the header fields each delivery changes.
std::string LearnDigest(const mime::Message& msg);

// Token hashes (exposed for tests and tools). A word under a prefix ("t" text, "s" subject,
// "h:from" a header, "r:helo", "r:rdns", "r:ip", "r:net", "r:with", "r:by" a relay, "u" a
// URL host, "d" its registered domain, "a"/"A" an attachment's declared and detected type),
// and a pair of words `distance` apart. Pairs are hashed from the words' hashes, so no
// string is built for them.
uint64_t WordToken(absl::string_view prefix, absl::string_view word);
uint64_t PairToken(absl::string_view prefix, absl::string_view first, absl::string_view second,
                   size_t distance);

}  // namespace farside::bayes

#endif  // FARSIDE_LIB_BAYES_TOKENIZER_H_
