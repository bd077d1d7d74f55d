// Charset conversion with iconv (one converter per charset and thread, reused) and
// detection with uchardet.
#include "lib/mime/charset.h"

#include <iconv.h>
#include <uchardet.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace farside::mime {
namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 if invalid.
size_t Utf8SeqLen(absl::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  unsigned char c = p[i];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > n) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((p[i + k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i + k] & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

class Iconv {
 public:
  explicit Iconv(const std::string& from) : cd_(iconv_open("UTF-8", from.c_str())) {}
  ~Iconv() {
    if (ok()) iconv_close(cd_);
  }
  bool ok() const { return cd_ != reinterpret_cast<iconv_t>(-1); }
  // Converts all of `in`; returns false at the first invalid sequence (strict mode).
  bool Convert(absl::string_view in, std::string* out) {
    iconv(cd_, nullptr, nullptr, nullptr, nullptr);  // reset shift state
    out->clear();
    out->reserve(in.size() + in.size() / 2 + 16);
    char* src = const_cast<char*>(in.data());
    size_t src_left = in.size();
    char buf[4096];
    while (src_left > 0) {
      char* dst = buf;
      size_t dst_left = sizeof(buf);
      size_t r = iconv(cd_, &src, &src_left, &dst, &dst_left);
      out->append(buf, sizeof(buf) - dst_left);
      if (r == static_cast<size_t>(-1) && errno != E2BIG) return false;
    }
    char* dst = buf;
    size_t dst_left = sizeof(buf);
    iconv(cd_, nullptr, nullptr, &dst, &dst_left);
    out->append(buf, sizeof(buf) - dst_left);
    return true;
  }

 private:
  iconv_t cd_;
};

// One converter per charset per thread: iconv_open costs far more than a conversion.
Iconv* ConverterFor(const std::string& charset) {
  thread_local absl::flat_hash_map<std::string, std::unique_ptr<Iconv>> cache;
  auto it = cache.find(charset);
  if (it != cache.end()) return it->second.get();
  if (cache.size() > 64) cache.clear();  // a message naming many bogus charsets stays bounded
  auto conv = std::make_unique<Iconv>(charset);
  Iconv* raw = conv.get();
  cache.emplace(charset, std::move(conv));
  return raw;
}

std::string Detect(absl::string_view bytes) {
  // What tells charsets apart is the 8-bit text: hand uchardet up to 16 KB from the first
  // 8-bit byte rather than the whole part (it reads about 50 MB/s).
  constexpr size_t kSample = 16 * 1024;
  size_t first = 0;
  while (first < bytes.size() && static_cast<unsigned char>(bytes[first]) < 0x80) ++first;
  if (first == bytes.size()) first = 0;
  absl::string_view sample = bytes.substr(first, kSample);
  thread_local uchardet_t ud = uchardet_new();
  uchardet_reset(ud);
  uchardet_handle_data(ud, sample.data(), sample.size());
  uchardet_data_end(ud);
  const char* name = uchardet_get_charset(ud);
  std::string cs = name == nullptr ? "" : NormalizeCharset(name);
  return cs;
}

}  // namespace

bool IsAscii(absl::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t len = Utf8SeqLen(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string SanitizeUtf8(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t len = Utf8SeqLen(s, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.data() + i, len);
      i += len;
    }
  }
  return out;
}

std::string NormalizeCharset(absl::string_view name) {
  std::string cs = absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
  // Strip quotes and RFC 2231 language tags ("utf-8*en").
  if (cs.size() >= 2 && cs.front() == '"' && cs.back() == '"') cs = cs.substr(1, cs.size() - 2);
  if (size_t star = cs.find('*'); star != std::string::npos) cs.resize(star);
  if (cs == "utf8" || cs == "unicode-1-1-utf-8") return "utf-8";
  if (cs == "latin1" || cs == "latin-1" || cs == "l1" || cs == "iso8859-1" || cs == "iso_8859-1") {
    return "iso-8859-1";
  }
  if (cs == "ascii" || cs == "us_ascii" || cs == "ansi_x3.4-1968" || cs == "ansi-x3.4-1968" ||
      cs == "646") {
    return "us-ascii";
  }
  if (cs == "cp1252") return "windows-1252";
  if (cs == "ks_c_5601-1987" || cs == "ks_c_5601") return "cp949";
  if (cs == "x-unknown" || cs == "unknown-8bit" || cs == "x-user-defined" || cs == "default" ||
      cs == "unknown") {
    return "";
  }
  return cs;
}

// Charsets whose text is 7-bit, or not a superset of ASCII: their bytes must always go
// through the converter, even when every byte is below 0x80.
bool NeedsConversionEvenIfAscii(const std::string& cs) {
  return absl::StartsWith(cs, "utf-16") || absl::StartsWith(cs, "utf-32") ||
         absl::StartsWith(cs, "ucs-2") || absl::StartsWith(cs, "ucs-4") || cs == "unicode" ||
         cs == "utf-7" || absl::StartsWith(cs, "iso-2022") || absl::StartsWith(cs, "hz");
}

Converted ToUtf8(absl::string_view bytes, absl::string_view declared) {
  Converted out;
  std::string cs = NormalizeCharset(declared);
  out.charset = cs;
  const bool ascii = IsAscii(bytes);
  if (ascii && cs.empty() && bytes.find('\x1b') != absl::string_view::npos) {
    // Undeclared 7-bit text with escape sequences is ISO-2022 (Japanese mail, mostly).
    cs = "iso-2022-jp";
  }
  if (ascii && NeedsConversionEvenIfAscii(cs)) {
    Iconv* conv = ConverterFor(cs);
    if (conv->ok() && conv->Convert(bytes, &out.text)) {
      out.charset = cs;
      return out;
    }
    out.declared_ok = false;
    out.text = std::string(bytes);
    return out;
  }
  if (ascii) {  // every other charset we take is a superset of ASCII for these bytes
    out.text = std::string(bytes);
    if (cs.empty()) out.charset = "us-ascii";
    return out;
  }
  if (cs == "utf-8" || cs == "us-ascii" || cs.empty()) {
    if (IsValidUtf8(bytes)) {
      out.text = std::string(bytes);
      // 8-bit bytes declared as ASCII do not fit: the declaration lied, however harmlessly.
      out.declared_ok = cs == "utf-8";
      out.charset = "utf-8";
      return out;
    }
    out.declared_ok = false;
  } else {
    // Mail labelled ISO-8859-1 is nearly always windows-1252 (curly quotes, the euro sign in
    // 0x80-0x9F, where Latin-1 has unprintable C1 controls); readers and the WHATWG Encoding
    // standard decode the label as windows-1252, and so do we. Latin-1 itself remains for
    // the five bytes windows-1252 leaves undefined.
    std::vector<std::string> decoders = {cs};
    if (cs == "iso-8859-1") decoders.insert(decoders.begin(), "windows-1252");
    for (const std::string& decoder : decoders) {
      Iconv* conv = ConverterFor(decoder);
      if (conv->ok() && conv->Convert(bytes, &out.text)) return out;
    }
    out.declared_ok = false;
  }
  // The declared charset did not fit: detect, then fall back to windows-1252, which maps
  // (almost) every byte and is what mislabelled Western mail usually is.
  for (const std::string& guess : {Detect(bytes), std::string("windows-1252")}) {
    if (guess.empty() || guess == cs) continue;
    if (guess == "utf-8" || guess == "us-ascii") {
      if (IsValidUtf8(bytes)) {
        out.text = std::string(bytes);
        out.charset = "utf-8";
        return out;
      }
      continue;
    }
    Iconv* conv = ConverterFor(guess);
    if (conv->ok() && conv->Convert(bytes, &out.text)) {
      out.charset = guess;
      return out;
    }
  }
  out.text = SanitizeUtf8(bytes);
  out.charset = "utf-8";
  return out;
}

void SanitizeUtf8Fields(google::protobuf::Message* msg) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = msg->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(*msg, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*msg, f); ++i) {
          std::string v = r->GetRepeatedString(*msg, f, i);
          if (!IsValidUtf8(v)) r->SetRepeatedString(msg, f, i, SanitizeUtf8(v));
        }
      } else {
        std::string v = r->GetString(*msg, f);
        if (!IsValidUtf8(v)) r->SetString(msg, f, SanitizeUtf8(v));
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_map()) continue;  // none of ours carries mail text in a map
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*msg, f); ++i) SanitizeUtf8Fields(r->MutableRepeatedMessage(msg, f, i));
      } else {
        SanitizeUtf8Fields(r->MutableMessage(msg, f));
      }
    }
  }
}

}  // namespace farside::mime
