// Types from content and zip listings; each test names the real-world trick it checks.
#include "lib/mime/filetype.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace farside::mime {
namespace {

void Put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>(v >> 8));
}
void Put32(std::string& s, uint32_t v) {
  Put16(s, static_cast<uint16_t>(v & 0xFFFF));
  Put16(s, static_cast<uint16_t>(v >> 16));
}

// A stored (uncompressed) zip as the format's specification lays it out.
std::string MakeZip(const std::vector<std::pair<std::string, std::string>>& files, bool encrypt) {
  std::string out, central;
  for (const auto& [name, data] : files) {
    uint32_t offset = static_cast<uint32_t>(out.size());
    uint16_t flags = encrypt ? 1 : 0;
    Put32(out, 0x04034b50);
    Put16(out, 20); Put16(out, flags); Put16(out, 0); Put16(out, 0); Put16(out, 0);
    Put32(out, 0); Put32(out, static_cast<uint32_t>(data.size()));
    Put32(out, static_cast<uint32_t>(data.size()));
    Put16(out, static_cast<uint16_t>(name.size())); Put16(out, 0);
    out += name + data;
    Put32(central, 0x02014b50);
    Put16(central, 20); Put16(central, 20); Put16(central, flags); Put16(central, 0);
    Put16(central, 0); Put16(central, 0); Put32(central, 0);
    Put32(central, static_cast<uint32_t>(data.size()));
    Put32(central, static_cast<uint32_t>(data.size()));
    Put16(central, static_cast<uint16_t>(name.size())); Put16(central, 0); Put16(central, 0);
    Put16(central, 0); Put16(central, 0); Put32(central, 0); Put32(central, offset);
    central += name;
  }
  uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  Put32(out, 0x06054b50);
  Put16(out, 0); Put16(out, 0);
  Put16(out, static_cast<uint16_t>(files.size())); Put16(out, static_cast<uint16_t>(files.size()));
  Put32(out, static_cast<uint32_t>(central.size())); Put32(out, cd_offset); Put16(out, 0);
  return out;
}

TEST(FileType, ExecutablesAndScriptsByContentWhateverTheirName) {
  EXPECT_EQ(DetectType("MZ\x90\x00\x03"), "application/x-dosexec");
  EXPECT_EQ(DetectType(std::string("\x7f" "ELF\x02\x01", 6)), "application/x-executable");
  EXPECT_EQ(DetectType("#!/bin/sh\nrm -rf ~\n"), "text/x-script");
  EXPECT_EQ(DetectType(std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + "rest"),
            "application/x-ole-storage") << "legacy Office (macros live here)";
}

TEST(FileType, ImagesDocumentsAndUnknown) {
  EXPECT_EQ(DetectType("GIF89a...."), "image/gif");
  EXPECT_EQ(DetectType("\xFF\xD8\xFF\xE0"), "image/jpeg");
  EXPECT_EQ(DetectType("%PDF-1.7\n"), "application/pdf");
  EXPECT_EQ(DetectType("  <!DOCTYPE html><html>"), "text/html");
  EXPECT_EQ(DetectType("just some text"), "");
  EXPECT_EQ(DetectType(""), "");
}

TEST(FileType, ZipMembersAndOfficeOpenXmlInsideAZip) {
  std::string zip = MakeZip({{"invoice.pdf.exe", "MZ.."}, {"readme.txt", "hi"}}, false);
  EXPECT_EQ(DetectType(zip), "application/zip");
  ArchiveListing l = ListZip(zip);
  ASSERT_EQ(l.entries.size(), 2u);
  EXPECT_EQ(l.entries[0].name, "invoice.pdf.exe") << "double extension inside an archive";
  EXPECT_FALSE(l.entries[0].encrypted);
  EXPECT_FALSE(l.truncated);
  std::string docx = MakeZip({{"[Content_Types].xml", "<x/>"}, {"word/vbaProject.bin", "x"}}, false);
  EXPECT_EQ(DetectType(docx), "application/vnd.openxmlformats");
}

TEST(FileType, QuirkEncryptedArchivesAndTruncatedOnes) {
  std::string enc = MakeZip({{"payload.js", "xxxx"}}, true);
  ArchiveListing l = ListZip(enc);
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_TRUE(l.entries[0].encrypted) << "scanners cannot look inside: a signal in itself";
  // Cut before the central directory: the local headers still give the names.
  std::string cut = MakeZip({{"a.vbs", "xxxx"}, {"b.txt", "yy"}}, false).substr(0, 60);
  ArchiveListing t = ListZip(cut);
  EXPECT_TRUE(t.truncated);
  ASSERT_GE(t.entries.size(), 1u);
  EXPECT_EQ(t.entries[0].name, "a.vbs");
}

TEST(FileType, HostileZipHeadersStayInBounds) {
  std::string zip = MakeZip({{"x", "y"}}, false);
  for (size_t cut = 0; cut < zip.size(); ++cut) ListZip(zip.substr(0, cut));
  std::string lying = zip;
  lying[lying.size() - 6] = '\xFF';  // central directory offset far past the end
  ListZip(lying);
}

}  // namespace
}  // namespace farside::mime
