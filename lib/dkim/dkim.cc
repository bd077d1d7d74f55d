// DKIM canonicalisation, tag lists, key records and signatures (RFC 6376, 8301, 8463).
#include "lib/dkim/dkim.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace farside::dkim {
namespace {

bool Wsp(char c) { return c == ' ' || c == '\t'; }

std::string StripFws(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out += c;
  }
  return out;
}

}  // namespace

std::optional<std::string> Base64Decode(absl::string_view in) {
  static const std::string kAlpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0, pad = 0;
  for (char c : in) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return std::nullopt;  // data after padding
    const size_t v = kAlpha.find(c);
    if (v == std::string::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (pad > 2) return std::nullopt;
  return out;
}

namespace {

std::string Base64Encode(absl::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string Sha(Algorithm a, absl::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, a == Algorithm::kRsaSha1 ? EVP_sha1() : EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), n);
}

// The field's value after "name:", and where it starts.
absl::string_view FieldValue(const RawField& f, size_t* at = nullptr) {
  const size_t colon = f.text.find(':');
  if (at) *at = colon == std::string::npos ? f.text.size() : colon + 1;
  return colon == std::string::npos ? absl::string_view() : absl::string_view(f.text).substr(colon + 1);
}

// The signature's own field with the b= value emptied (section 3.7).
RawField WithoutB(const RawField& f) {
  size_t start = 0;
  FieldValue(f, &start);
  RawField out = f;
  const std::string& t = f.text;
  size_t seg = start;
  while (seg <= t.size()) {
    size_t end = t.find(';', seg);
    if (end == std::string::npos) end = t.size();
    const size_t eq = t.find('=', seg);
    if (eq != std::string::npos && eq < end) {
      if (StripFws(absl::string_view(t).substr(seg, eq - seg)) == "b") {
        out.text = t.substr(0, eq + 1) + t.substr(end);
        return out;
      }
    }
    seg = end + 1;
  }
  return out;
}

int64_t Now(const Options& o) { return o.now != 0 ? o.now : absl::ToUnixSeconds(absl::Now()); }

}  // namespace

RawMessage Split(absl::string_view bytes, size_t max_fields) {
  RawMessage m;
  size_t pos = 0;
  auto next_line = [&](absl::string_view* line) {
    if (pos >= bytes.size()) return false;
    size_t nl = bytes.find('\n', pos);
    if (nl == absl::string_view::npos) nl = bytes.size();
    absl::string_view l = bytes.substr(pos, nl - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    *line = l;
    pos = nl + 1;
    return true;
  };
  absl::string_view line;
  bool body = false;
  while (next_line(&line)) {
    if (line.empty()) {
      body = true;
      break;
    }
    if (Wsp(line[0]) && !m.fields.empty()) {
      absl::StrAppend(&m.fields.back().text, "\r\n", line);
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;  // not a field: skipped, as MTAs would
    if (m.fields.size() >= max_fields) continue;
    absl::string_view name = line.substr(0, colon);
    while (!name.empty() && Wsp(name.back())) name.remove_suffix(1);
    m.fields.push_back({std::string(name), std::string(line)});
  }
  if (body && pos <= bytes.size()) {
    absl::string_view rest = bytes.substr(std::min(pos, bytes.size()));
    m.body.reserve(rest.size() + rest.size() / 32);
    for (size_t i = 0; i < rest.size(); ++i) {
      if (rest[i] == '\n' && (i == 0 || rest[i - 1] != '\r')) m.body += '\r';
      m.body += rest[i];
    }
  }
  return m;
}

std::string CanonHeader(const RawField& f, bool relaxed) {
  if (!relaxed) return f.text + "\r\n";
  size_t at = 0;
  absl::string_view v = FieldValue(f, &at);
  std::string out = absl::AsciiStrToLower(f.name);
  out += ':';
  std::string val;
  bool space = false;
  for (char c : v) {
    if (c == '\r' || c == '\n') continue;  // unfold
    if (Wsp(c)) {
      space = true;
      continue;
    }
    if (space && !val.empty()) val += ' ';
    space = false;
    val += c;
  }
  out += val;
  out += "\r\n";
  return out;
}

std::string CanonBody(absl::string_view body, bool relaxed) {
  std::string out;
  out.reserve(body.size() + 2);
  std::vector<absl::string_view> lines = absl::StrSplit(body, "\r\n");
  // A body ending in CRLF splits into a last empty piece, which is not a line.
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  size_t pending_empty = 0;
  for (absl::string_view l : lines) {
    std::string line;
    if (relaxed) {
      bool space = false;
      for (char c : l) {
        if (Wsp(c)) {
          space = true;
          continue;
        }
        if (space) line += ' ';
        space = false;
        line += c;
      }
    } else {
      line = std::string(l);
    }
    if (line.empty()) {
      ++pending_empty;  // empty lines at the very end are dropped
      continue;
    }
    for (; pending_empty > 0; --pending_empty) out += "\r\n";
    out += line;
    out += "\r\n";
  }
  if (out.empty() && !relaxed) out = "\r\n";
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseTags(absl::string_view value) {
  std::vector<std::pair<std::string, std::string>> tags;
  for (absl::string_view part : absl::StrSplit(value, ';')) {
    const std::string p = StripFws(part);
    if (p.empty()) continue;  // a trailing ';'
    const size_t eq = part.find('=');
    if (eq == absl::string_view::npos) return absl::InvalidArgumentError(absl::StrCat("tag without '=': ", p));
    std::string name = StripFws(part.substr(0, eq));
    // Values keep inner spaces where they mean something (n=, and none we read); the tags
    // we read are all whitespace-free.
    std::string val = std::string(absl::StripAsciiWhitespace(part.substr(eq + 1)));
    // tag-name = ALPHA *ALNUMPUNC (RFC 6376 section 3.2)
    if (name.empty() || !absl::ascii_isalpha(static_cast<unsigned char>(name[0])) ||
        !std::all_of(name.begin(), name.end(), [](char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
      return absl::InvalidArgumentError(absl::StrCat("bad tag name '", name, "'"));
    }
    for (const auto& [n, v] : tags) {
      if (n == name) return absl::InvalidArgumentError(absl::StrCat("tag '", name, "' given twice"));
    }
    tags.emplace_back(std::move(name), std::move(val));
  }
  return tags;
}

absl::StatusOr<Signature> ParseSignature(absl::string_view value, bool arc) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> tags = ParseTags(value);
  if (!tags.ok()) return tags.status();
  Signature s;
  bool have_v = arc, have_a = false, have_b = false, have_bh = false, have_h = false;
  std::string c = "simple/simple";
  for (const auto& [n, v] : *tags) {
    if (n == "v") {
      if (v != "1") return absl::InvalidArgumentError(absl::StrCat("unknown version v=", v));
      have_v = true;
    } else if (n == "a") {
      const std::string a = absl::AsciiStrToLower(v);
      if (a == "rsa-sha256") s.algorithm = Algorithm::kRsaSha256;
      else if (a == "rsa-sha1") s.algorithm = Algorithm::kRsaSha1;
      else if (a == "ed25519-sha256") s.algorithm = Algorithm::kEd25519Sha256;
      else return absl::InvalidArgumentError(absl::StrCat("unknown algorithm a=", v));
      have_a = true;
    } else if (n == "b") {
      std::optional<std::string> d = Base64Decode(v);
      if (!d.has_value() || d->empty()) return absl::InvalidArgumentError("b= is not base64");
      s.b = std::move(*d);
      have_b = true;
    } else if (n == "bh") {
      std::optional<std::string> d = Base64Decode(v);
      if (!d.has_value() || d->empty()) return absl::InvalidArgumentError("bh= is not base64");
      s.bh = std::move(*d);
      have_bh = true;
    } else if (n == "c") {
      c = absl::AsciiStrToLower(StripFws(v));
    } else if (n == "d") {
      s.domain = absl::AsciiStrToLower(StripFws(v));
    } else if (n == "s") {
      s.selector = StripFws(v);
    } else if (n == "i") {
      s.identity = StripFws(v);
    } else if (n == "h") {
      for (absl::string_view h : absl::StrSplit(StripFws(v), ':')) {
        if (!h.empty()) s.headers.push_back(absl::AsciiStrToLower(h));
      }
      have_h = true;
    } else if (n == "l") {
      uint64_t l = 0;
      if (!absl::SimpleAtoi(StripFws(v), &l)) return absl::InvalidArgumentError("l= is not a number");
      s.length = l;
    } else if (n == "t" || n == "x") {
      int64_t t = 0;
      if (!absl::SimpleAtoi(StripFws(v), &t)) return absl::InvalidArgumentError(absl::StrCat(n, "= is not a number"));
      (n == "t" ? s.timestamp : s.expiry) = t;
    } else if (n == "q") {
      if (!absl::StrContains(absl::AsciiStrToLower(v), "dns/txt")) {
        return absl::InvalidArgumentError(absl::StrCat("unknown query method q=", v));
      }
    }
  }
  if (!have_v) return absl::InvalidArgumentError("v= is missing");
  if (!have_a || !have_b || !have_bh || !have_h || s.domain.empty() || s.selector.empty()) {
    return absl::InvalidArgumentError("a required tag (a, b, bh, d, h, s) is missing");
  }
  const std::vector<std::string> cparts = absl::StrSplit(c, '/');
  if (cparts.size() > 2) return absl::InvalidArgumentError(absl::StrCat("bad c=", c));
  for (size_t i = 0; i < cparts.size(); ++i) {
    if (cparts[i] != "simple" && cparts[i] != "relaxed") return absl::InvalidArgumentError(absl::StrCat("bad c=", c));
  }
  s.header_relaxed = cparts[0] == "relaxed";
  s.body_relaxed = cparts.size() == 2 && cparts[1] == "relaxed";
  // DKIM must sign From (RFC 6376 section 5.4); an ARC message signature need not.
  if (!arc && std::find(s.headers.begin(), s.headers.end(), "from") == s.headers.end()) {
    return absl::InvalidArgumentError("h= does not sign From");
  }
  if (arc && s.algorithm == Algorithm::kRsaSha1) return absl::InvalidArgumentError("ARC does not allow rsa-sha1");
  if (!arc) {
    if (s.identity.empty()) s.identity = "@" + s.domain;
    const size_t at = s.identity.rfind('@');
    if (at == std::string::npos) return absl::InvalidArgumentError("i= has no '@'");
    const std::string idom = absl::AsciiStrToLower(s.identity.substr(at + 1));
    if (idom != s.domain && !absl::EndsWith(idom, "." + s.domain)) {
      return absl::InvalidArgumentError("i= is not within d=");
    }
  }
  if (s.timestamp.has_value() && s.expiry.has_value() && *s.expiry < *s.timestamp) {
    return absl::InvalidArgumentError("x= is before t=");
  }
  return s;
}

absl::StatusOr<Key> ParseKey(absl::string_view txt) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> tags = ParseTags(txt);
  if (!tags.ok()) return tags.status();
  Key k;
  bool have_p = false;
  for (size_t i = 0; i < tags->size(); ++i) {
    const auto& [n, v] = (*tags)[i];
    if (n == "v") {
      if (i != 0 || v != "DKIM1") return absl::InvalidArgumentError(absl::StrCat("key record v=", v));
    } else if (n == "k") {
      k.type = absl::AsciiStrToLower(v);
    } else if (n == "h") {
      for (absl::string_view h : absl::StrSplit(StripFws(v), ':')) k.hashes.push_back(absl::AsciiStrToLower(h));
    } else if (n == "p") {
      have_p = true;
      if (StripFws(v).empty()) return absl::NotFoundError("the key is revoked (empty p=)");
      std::optional<std::string> d = Base64Decode(v);
      if (!d.has_value()) return absl::InvalidArgumentError("p= is not base64");
      k.public_key = std::move(*d);
    } else if (n == "s") {
      bool email = false;
      for (absl::string_view t : absl::StrSplit(StripFws(v), ':')) email |= t == "*" || t == "email";
      if (!email) return absl::InvalidArgumentError("the key is not for e-mail (s=)");
    } else if (n == "t") {
      for (absl::string_view t : absl::StrSplit(StripFws(v), ':')) {
        k.testing |= t == "y";
        k.strict |= t == "s";
      }
    }
  }
  if (!have_p) return absl::InvalidArgumentError("the key record has no p=");
  return k;
}

std::string HeaderData(const RawMessage& m, const Signature& sig, const RawField& self) {
  std::string data;
  // Each name picks its fields from the bottom up, one per mention.
  std::vector<char> used(m.fields.size(), 0);
  for (const std::string& h : sig.headers) {
    for (size_t i = m.fields.size(); i-- > 0;) {
      if (used[i] || !absl::EqualsIgnoreCase(m.fields[i].name, h)) continue;
      if (&m.fields[i] == &self) continue;  // a signature does not sign itself
      used[i] = 1;
      data += CanonHeader(m.fields[i], sig.header_relaxed);
      break;
    }
  }
  data += CanonWithoutB(self, sig.header_relaxed);
  return data;
}

std::string CanonWithoutB(const RawField& self, bool relaxed) {
  std::string own = CanonHeader(WithoutB(self), relaxed);
  own.resize(own.size() - 2);  // no CRLF after the signature's own field
  return own;
}

std::optional<std::string> BodyHash(const RawMessage& m, const Signature& sig) {
  std::string body = CanonBody(m.body, sig.body_relaxed);
  if (sig.length.has_value()) {
    if (*sig.length > body.size()) return std::nullopt;
    body.resize(*sig.length);
  }
  return Sha(sig.algorithm, body);
}

absl::Status VerifyBytes(const Signature& sig, const Key& key, absl::string_view header_data, int* rsa_bits) {
  const bool ed = sig.algorithm == Algorithm::kEd25519Sha256;
  if ((ed && key.type != "ed25519") || (!ed && key.type != "rsa")) {
    return absl::InvalidArgumentError(absl::StrCat("the key is k=", key.type, ", the signature a=", AlgorithmName(sig.algorithm)));
  }
  if (!key.hashes.empty()) {
    const std::string want = sig.algorithm == Algorithm::kRsaSha1 ? "sha1" : "sha256";
    if (std::find(key.hashes.begin(), key.hashes.end(), want) == key.hashes.end()) {
      return absl::InvalidArgumentError(absl::StrCat("the key does not allow ", want, " (h=)"));
    }
  }
  Pkey pkey;
  if (ed) {
    if (key.public_key.size() != 32) return absl::InvalidArgumentError("an ed25519 key is 32 bytes");
    pkey.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                           reinterpret_cast<const unsigned char*>(key.public_key.data()), 32));
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(key.public_key.data());
    pkey.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(key.public_key.size())));
    if (!pkey) {  // some publish the bare RSAPublicKey
      p = reinterpret_cast<const unsigned char*>(key.public_key.data());
      pkey.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(key.public_key.size())));
    }
    if (pkey && EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA) return absl::InvalidArgumentError("k=rsa but not an RSA key");
  }
  if (!pkey) return absl::InvalidArgumentError("the public key does not parse");
  if (rsa_bits) *rsa_bits = ed ? 0 : EVP_PKEY_get_bits(pkey.get());
  if (!ed && EVP_PKEY_get_bits(pkey.get()) < 1024) {  // RFC 8301 section 3.2
    return absl::InvalidArgumentError(absl::StrCat("the RSA key has only ", EVP_PKEY_get_bits(pkey.get()), " bits"));
  }
  MdCtx ctx(EVP_MD_CTX_new());
  int ok = 0;
  if (ed) {
    // RFC 8463: Ed25519 signs the SHA-256 of the header data.
    const std::string digest = Sha(Algorithm::kRsaSha256, header_data);
    ok = EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.b.data()), sig.b.size(),
                          reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) == 1;
  } else {
    const EVP_MD* md = sig.algorithm == Algorithm::kRsaSha1 ? EVP_sha1() : EVP_sha256();
    ok = EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey.get()) == 1 &&
         EVP_DigestVerifyUpdate(ctx.get(), header_data.data(), header_data.size()) == 1 &&
         EVP_DigestVerifyFinal(ctx.get(), reinterpret_cast<const unsigned char*>(sig.b.data()), sig.b.size()) == 1;
  }
  if (!ok) return absl::PermissionDeniedError("the signature does not match the signed headers");
  return absl::OkStatus();
}

Prepared Prepare(absl::string_view bytes, const Options& options) {
  Prepared p;
  p.message = Split(bytes);
  for (size_t i = 0; i < p.message.fields.size(); ++i) {
    const RawField& f = p.message.fields[i];
    if (!absl::EqualsIgnoreCase(f.name, "DKIM-Signature")) continue;
    if (p.signatures.size() + p.broken.size() >= options.max_signatures) break;
    absl::StatusOr<Signature> s = ParseSignature(FieldValue(f));
    if (!s.ok()) {
      Verdict v;
      v.result = Result::kPermError;
      v.reason = std::string(s.status().message());
      // What the broken field names, for the result's options.
      if (auto tags = ParseTags(FieldValue(f)); tags.ok()) {
        for (const auto& [n, val] : *tags) {
          if (n == "d") v.domain = absl::AsciiStrToLower(val);
          if (n == "s") v.selector = val;
        }
      }
      p.broken.push_back(std::move(v));
      continue;
    }
    s->field = i;
    p.key_queries.push_back({absl::StrCat(s->selector, "._domainkey.", s->domain), dns::Type::kTxt});
    p.signatures.push_back(std::move(*s));
  }
  return p;
}

std::vector<Verdict> Verify(const Prepared& p, const std::vector<dns::Answer>& keys, const Options& options) {
  std::vector<Verdict> out = p.broken;
  const int64_t now = Now(options);
  for (size_t i = 0; i < p.signatures.size(); ++i) {
    const Signature& s = p.signatures[i];
    Verdict v;
    v.domain = s.domain;
    v.selector = s.selector;
    v.identity = s.identity;
    v.algorithm = s.algorithm;
    v.weak = s.algorithm == Algorithm::kRsaSha1;
    auto done = [&](Result r, std::string why) {
      v.result = r;
      v.reason = std::move(why);
      out.push_back(v);
    };
    if (s.expiry.has_value() && now > *s.expiry + options.clock_skew) {
      done(Result::kFail, "the signature has expired (x=)");
      continue;
    }
    if (s.timestamp.has_value() && *s.timestamp > now + options.clock_skew) {
      done(Result::kFail, "the signature is dated in the future (t=)");
      continue;
    }
    const dns::Answer& a = i < keys.size() ? keys[i] : dns::Answer{};
    if (a.status == dns::Answer::Status::kTimeout || a.status == dns::Answer::Status::kError) {
      done(Result::kTempError, absl::StrCat("the key ", p.key_queries[i].name, " could not be fetched"));
      continue;
    }
    if (a.status != dns::Answer::Status::kOk || a.records.empty()) {
      done(Result::kPermError, absl::StrCat("no key at ", p.key_queries[i].name));
      continue;
    }
    absl::StatusOr<Key> key = ParseKey(a.records[0]);
    if (!key.ok()) {
      done(Result::kPermError, std::string(key.status().message()));
      continue;
    }
    v.testing = key->testing;
    if (key->strict) {
      const std::string idom = absl::AsciiStrToLower(s.identity.substr(s.identity.rfind('@') + 1));
      if (idom != s.domain) {
        done(Result::kPermError, "the key is t=s and i= is a subdomain of d=");
        continue;
      }
    }
    // Body first: it is cheaper than the signature and says more when it fails.
    const std::optional<std::string> bh = BodyHash(p.message, s);
    if (!bh.has_value()) {
      done(Result::kFail, "l= is longer than the body");
      continue;
    }
    if (*bh != s.bh) {
      done(Result::kFail, "the body has changed (body hash mismatch)");
      continue;
    }
    const std::string data = HeaderData(p.message, s, p.message.fields[s.field]);
    int bits = 0;
    if (absl::Status st = VerifyBytes(s, *key, data, &bits); !st.ok()) {
      done(absl::IsPermissionDenied(st) ? Result::kFail : Result::kPermError, std::string(st.message()));
      continue;
    }
    if (bits > 0 && bits < 2048) v.weak = true;
    done(Result::kPass, "");
  }
  return out;
}

absl::string_view ResultName(Result r) {
  switch (r) {
    case Result::kPass: return "pass";
    case Result::kFail: return "fail";
    case Result::kTempError: return "temperror";
    case Result::kPermError: return "permerror";
  }
  return "permerror";
}

absl::string_view AlgorithmName(Algorithm a) {
  switch (a) {
    case Algorithm::kRsaSha1: return "rsa-sha1";
    case Algorithm::kRsaSha256: return "rsa-sha256";
    case Algorithm::kEd25519Sha256: return "ed25519-sha256";
  }
  return "rsa-sha256";
}

absl::StatusOr<std::string> Sign(absl::string_view bytes, const SignOptions& o) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(o.private_key_pem.data(),
                                                                static_cast<int>(o.private_key_pem.size())),
                                                &BIO_free);
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return absl::InvalidArgumentError("the private key does not parse (PEM RSA or Ed25519)");
  const int type = EVP_PKEY_get_base_id(key.get());
  if (type != EVP_PKEY_RSA && type != EVP_PKEY_ED25519) return absl::InvalidArgumentError("the key is neither RSA nor Ed25519");
  const Algorithm alg = type == EVP_PKEY_ED25519 ? Algorithm::kEd25519Sha256 : Algorithm::kRsaSha256;
  const RawMessage m = Split(bytes);
  std::vector<std::string> h;
  for (const std::string& name : o.headers) {
    const std::string lname = absl::AsciiStrToLower(name);
    size_t n = 0;
    for (const RawField& f : m.fields) n += absl::EqualsIgnoreCase(f.name, lname) ? 1 : 0;
    if (lname == "from") ++n;  // over-signed: nobody can add a From
    for (size_t i = 0; i < n; ++i) h.push_back(lname);
  }
  const int64_t now = o.now != 0 ? o.now : absl::ToUnixSeconds(absl::Now());
  const std::string bh = Base64Encode(Sha(alg, CanonBody(m.body, true)));
  std::string value = absl::StrCat(" v=1; a=", AlgorithmName(alg), "; c=relaxed/relaxed; d=", o.domain,
                                   "; s=", o.selector, "; t=", now);
  if (o.expire_after > 0) absl::StrAppend(&value, "; x=", now + o.expire_after);
  absl::StrAppend(&value, "; h=", absl::StrJoin(h, ":"), "; bh=", bh, "; b=");
  Signature sig;
  sig.algorithm = alg;
  sig.header_relaxed = true;
  sig.headers = h;
  const RawField self{"DKIM-Signature", "DKIM-Signature:" + value};
  const std::string data = HeaderData(m, sig, self);
  MdCtx ctx(EVP_MD_CTX_new());
  std::string signature;
  size_t len = 0;
  if (alg == Algorithm::kEd25519Sha256) {
    const std::string digest = Sha(alg, data);
    if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) != 1) {
      return absl::InternalError("ed25519 signing failed");
    }
    signature.resize(len);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                       reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) != 1) {
      return absl::InternalError("ed25519 signing failed");
    }
  } else {
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
        EVP_DigestSignUpdate(ctx.get(), data.data(), data.size()) != 1 ||
        EVP_DigestSignFinal(ctx.get(), nullptr, &len) != 1) {
      return absl::InternalError("RSA signing failed");
    }
    signature.resize(len);
    if (EVP_DigestSignFinal(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len) != 1) {
      return absl::InternalError("RSA signing failed");
    }
  }
  signature.resize(len);
  return value.substr(1) + Base64Encode(signature);
}

}  // namespace farside::dkim
