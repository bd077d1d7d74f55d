// DKIM (RFC 6376) verification and signing, with rsa-sha256, rsa-sha1 (verified, flagged
// weak) and ed25519-sha256 (RFC 8463) through OpenSSL. Works on the message's bytes as
// received, so "simple" canonicalisation sees the original folding. Pure: the key records
// come in as DNS answers, so a scan asks for them early and verifies when they are in.
#ifndef FARSIDE_LIB_DKIM_DKIM_H_
#define FARSIDE_LIB_DKIM_DKIM_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/dns/resolver.h"

namespace farside::dkim {

// A header field exactly as received (line ends made CRLF), without its final CRLF.
struct RawField {
  std::string name;
  std::string text;  // "Name: value\r\n\tcontinued"
};
struct RawMessage {
  std::vector<RawField> fields;
  std::string body;  // CRLF line ends
};
// Splits header fields from the body; bare LF line ends become CRLF. At most `max_fields`.
RawMessage Split(absl::string_view bytes, size_t max_fields = 1000);

std::string CanonHeader(const RawField& f, bool relaxed);          // with its CRLF
std::string CanonBody(absl::string_view body, bool relaxed);

enum class Algorithm { kRsaSha1, kRsaSha256, kEd25519Sha256 };

struct Signature {
  Algorithm algorithm = Algorithm::kRsaSha256;
  std::string b, bh;                     // decoded
  bool header_relaxed = false, body_relaxed = false;
  std::string domain, selector, identity;
  std::vector<std::string> headers;      // h=, lower case
  std::optional<uint64_t> length;        // l=
  std::optional<int64_t> timestamp, expiry;  // t=, x=
  size_t field = 0;                      // index of its field in RawMessage::fields
};
// Parses a DKIM-Signature (or ARC-Message-Signature, `arc`: i= is the instance) value.
absl::StatusOr<Signature> ParseSignature(absl::string_view value, bool arc = false);

struct Key {
  std::string type = "rsa";              // k=
  std::vector<std::string> hashes;       // h=, empty: any
  std::string public_key;                // decoded p=
  bool testing = false, strict = false;  // t=y, t=s
};
// A key record; NotFound for a revoked key (empty p=), InvalidArgument for a broken one.
absl::StatusOr<Key> ParseKey(absl::string_view txt);

// Base64 with folding whitespace skipped, as b=, bh= and p= carry it; nothing if malformed.
std::optional<std::string> Base64Decode(absl::string_view in);

// The tag list of a DKIM-style field: tag -> value, whitespace removed around both.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseTags(absl::string_view value);

// Verifies `sig` over the bytes the signature's field and the headers it names give.
// `field` is the DKIM-Signature field itself. Errors say why the signature does not verify.
// RSA keys under 1024 bits are refused; `rsa_bits`, if given, gets the key's size (0 for
// Ed25519).
absl::Status VerifyBytes(const Signature& sig, const Key& key, absl::string_view header_data,
                         int* rsa_bits = nullptr);
// The canonicalised header data a signature covers: the h= fields, bottom up, then its own
// field with the b= value emptied, without the final CRLF.
std::string HeaderData(const RawMessage& m, const Signature& sig, const RawField& self);
// A signature's own field canonicalised with its b= value emptied, without the final CRLF.
std::string CanonWithoutB(const RawField& self, bool relaxed);
// The body hash a signature should carry: the canonicalised body, cut to l= if it has one.
// Nothing when l= is longer than the body.
std::optional<std::string> BodyHash(const RawMessage& m, const Signature& sig);

enum class Result { kPass, kFail, kTempError, kPermError };
struct Verdict {
  Result result = Result::kPermError;
  std::string domain, selector, identity;
  Algorithm algorithm = Algorithm::kRsaSha256;
  bool weak = false;     // rsa-sha1, or an RSA key under 2048 bits
  bool testing = false;  // the key says t=y
  std::string reason;    // why it is not a pass
};

struct Options {
  size_t max_signatures = 5;   // more are not checked
  int64_t clock_skew = 300;    // seconds allowed for t= in the future and x= just past
  int64_t now = 0;             // 0: the clock
};

// One message's verification in two steps: Prepare finds the signatures and the key records
// to fetch, Verify takes their answers (one per query, in order).
struct Prepared {
  RawMessage message;
  std::vector<Signature> signatures;
  std::vector<Verdict> broken;   // signatures that did not parse: permerror
  std::vector<dns::Query> key_queries;  // one per signature
};
Prepared Prepare(absl::string_view bytes, const Options& options = Options{});
std::vector<Verdict> Verify(const Prepared& p, const std::vector<dns::Answer>& keys,
                            const Options& options = Options{});

absl::string_view ResultName(Result r);
absl::string_view AlgorithmName(Algorithm a);

// Signing: the value of a DKIM-Signature field for `bytes` (relaxed/relaxed), over the
// listed headers that the message has, From signed once more than it appears (so no From can
// be added). `private_key_pem`: an RSA or Ed25519 key in PEM.
struct SignOptions {
  std::string domain, selector;
  std::string private_key_pem;
  std::vector<std::string> headers = {"from", "reply-to", "subject", "date", "to", "cc", "message-id",
                                      "in-reply-to", "references", "mime-version", "content-type",
                                      "content-transfer-encoding", "list-unsubscribe"};
  int64_t now = 0;
  int64_t expire_after = 0;  // x= this long after t=; 0: none
};
absl::StatusOr<std::string> Sign(absl::string_view bytes, const SignOptions& options);

}  // namespace farside::dkim

#endif  // FARSIDE_LIB_DKIM_DKIM_H_
