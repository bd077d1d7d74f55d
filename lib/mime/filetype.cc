// Signature table and zip directory reading. All offsets are bounds-checked: attachments
// are hostile input.
#include "lib/mime/filetype.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace farside::mime {
namespace {

struct Signature {
  size_t offset;
  absl::string_view magic;
  const char* type;
};

// Longer and more specific signatures first.
const Signature kSignatures[] = {
    {0, absl::string_view("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8), "application/x-ole-storage"},
    {0, absl::string_view("\x4C\x00\x00\x00\x01\x14\x02\x00", 8), "application/x-ms-shortcut"},
    {0, absl::string_view("\x89PNG\r\n\x1A\n", 8), "image/png"},
    {0, absl::string_view("7z\xBC\xAF\x27\x1C", 6), "application/x-7z-compressed"},
    {0, absl::string_view("\xFD" "7zXZ\x00", 6), "application/x-xz"},
    {0, absl::string_view("Rar!\x1A\x07", 6), "application/vnd.rar"},
    {0, "GIF87a", "image/gif"},
    {0, "GIF89a", "image/gif"},
    {0, "%PDF-", "application/pdf"},
    {0, "{\\rtf", "application/rtf"},
    {0x8001, "CD001", "application/x-iso9660-image"},
    {0, absl::string_view("\x7F" "ELF", 4), "application/x-executable"},
    {0, absl::string_view("\xCA\xFE\xBA\xBE", 4), "application/java-vm"},
    {0, absl::string_view("PK\x03\x04", 4), "application/zip"},
    {0, absl::string_view("PK\x05\x06", 4), "application/zip"},
    {0, "MSCF", "application/vnd.ms-cab-compressed"},
    {0, absl::string_view("II*\x00", 4), "image/tiff"},
    {0, absl::string_view("MM\x00*", 4), "image/tiff"},
    {0, absl::string_view("\xFF\xD8\xFF", 3), "image/jpeg"},
    {0, "BZh", "application/x-bzip2"},
    {0, "ID3", "audio/mpeg"},
    {0, absl::string_view("\x1F\x8B", 2), "application/gzip"},
    {0, "MZ", "application/x-dosexec"},
    {0, "#!", "text/x-script"},
};

uint16_t U16(absl::string_view b, size_t off) {
  return static_cast<uint16_t>(static_cast<unsigned char>(b[off]) |
                               (static_cast<unsigned char>(b[off + 1]) << 8));
}
uint32_t U32(absl::string_view b, size_t off) {
  return static_cast<uint32_t>(U16(b, off)) | (static_cast<uint32_t>(U16(b, off + 2)) << 16);
}

}  // namespace

std::string DetectType(absl::string_view bytes) {
  for (const Signature& s : kSignatures) {
    if (bytes.size() >= s.offset + s.magic.size() && bytes.substr(s.offset, s.magic.size()) == s.magic) {
      std::string type = s.type;
      if (type == "application/zip") {
        // Office Open XML, OpenDocument and Java archives are zips with telling members.
        ArchiveListing l = ListZip(bytes, 50);
        for (const ArchiveEntry& e : l.entries) {
          if (e.name == "[Content_Types].xml") return "application/vnd.openxmlformats";
          if (e.name == "mimetype" && absl::StrContains(bytes.substr(0, 200), "opendocument")) {
            return "application/vnd.oasis.opendocument";
          }
          if (e.name == "META-INF/MANIFEST.MF") return "application/java-archive";
        }
      }
      return type;
    }
  }
  absl::string_view head = absl::StripLeadingAsciiWhitespace(bytes.substr(0, 512));
  if (absl::StartsWithIgnoreCase(head, "<!doctype html") || absl::StartsWithIgnoreCase(head, "<html")) {
    return "text/html";
  }
  return "";
}

ArchiveListing ListZip(absl::string_view b, size_t max_entries) {
  ArchiveListing out;
  if (b.size() < 22 || !(absl::StartsWith(b, absl::string_view("PK\x03\x04", 4)) ||
                         absl::StartsWith(b, absl::string_view("PK\x05\x06", 4)))) {
    return out;
  }
  // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
  size_t eocd = std::string::npos;
  size_t lowest = b.size() > 65557 ? b.size() - 65557 : 0;
  for (size_t i = b.size() - 22 + 1; i-- > lowest;) {
    if (b[i] == 'P' && b[i + 1] == 'K' && b[i + 2] == 5 && b[i + 3] == 6) {
      eocd = i;
      break;
    }
  }
  if (eocd != std::string::npos) {
    uint16_t count = U16(b, eocd + 10);
    uint32_t offset = U32(b, eocd + 16);
    size_t pos = offset;
    for (uint16_t k = 0; k < count; ++k) {
      if (out.entries.size() >= max_entries) {
        out.truncated = true;
        break;
      }
      if (pos + 46 > b.size() || U32(b, pos) != 0x02014b50) {
        out.truncated = true;
        break;
      }
      uint16_t name_len = U16(b, pos + 28), extra = U16(b, pos + 30), comment = U16(b, pos + 32);
      if (pos + 46 + name_len > b.size()) {
        out.truncated = true;
        break;
      }
      out.entries.push_back({std::string(b.substr(pos + 46, name_len)), (U16(b, pos + 8) & 1) != 0,
                             U32(b, pos + 24)});
      pos += 46 + name_len + extra + comment;
    }
    if (!out.entries.empty() || count == 0) return out;
  }
  // No usable directory (a truncated attachment): walk the local file headers.
  out = ArchiveListing();
  out.truncated = true;
  size_t pos = 0;
  while (pos + 30 <= b.size() && U32(b, pos) == 0x04034b50 && out.entries.size() < max_entries) {
    uint16_t flags = U16(b, pos + 6);
    uint32_t csize = U32(b, pos + 18);
    uint16_t name_len = U16(b, pos + 26), extra = U16(b, pos + 28);
    if (pos + 30 + name_len > b.size()) break;
    out.entries.push_back({std::string(b.substr(pos + 30, name_len)), (flags & 1) != 0, U32(b, pos + 22)});
    if (flags & 8) break;  // sizes follow the data: cannot skip to the next header
    pos += 30 + static_cast<size_t>(name_len) + extra + csize;
  }
  return out;
}

}  // namespace farside::mime
