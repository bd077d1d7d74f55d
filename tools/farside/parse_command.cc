// Rendering of the parsed message as JSON and as text.
#include "tools/farside/parse_command.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/common/json.h"
#include "lib/mime/charset.h"

namespace farside::cli {
namespace {

void Str(std::string& out, absl::string_view raw) {
  AppendJsonString(&out, mime::IsValidUtf8(raw) ? std::string(raw) : mime::SanitizeUtf8(raw));
}

void OptStr(std::string& out, const std::optional<std::string>& v) {
  if (v.has_value()) {
    Str(out, *v);
  } else {
    out += "null";
  }
}

size_t PartSize(const mime::Part& p) { return p.is_leaf() ? p.decoded.size() : p.body.size(); }

}  // namespace

std::string MessageToJson(const mime::Message& msg) {
  std::string o = "{\"subject\":";
  Str(o, msg.Subject());
  o += ",\"headers\":[";
  bool first = true;
  for (const auto& h : msg.headers().fields()) {
    if (!first) o += ",";
    first = false;
    o += "{\"name\":";
    Str(o, h.name);
    o += ",\"value\":";
    Str(o, h.value);
    o += "}";
  }
  o += "],\"parts\":[";
  first = true;
  for (const auto& p : msg.parts()) {
    if (!first) o += ",";
    first = false;
    o += "{\"content_type\":";
    Str(o, p.content_type);
    o += ",\"charset\":";
    OptStr(o, p.charset.empty() ? std::nullopt : std::optional<std::string>(p.charset));
    o += ",\"filename\":";
    OptStr(o, p.filename);
    absl::StrAppend(&o, ",\"size\":", PartSize(p), ",\"depth\":", p.depth, ",\"disposition\":");
    OptStr(o, p.disposition.empty() ? std::nullopt : std::optional<std::string>(p.disposition));
    o += ",\"transfer_encoding\":";
    OptStr(o, p.transfer_encoding.empty() ? std::nullopt
                                          : std::optional<std::string>(p.transfer_encoding));
    o += "}";
  }
  // URLs: for now the links, images and form actions of HTML parts; URLs in plain text
  // come with the URL extractor.
  o += "],\"urls\":[";
  first = true;
  for (const auto& p : msg.parts()) {
    const mime::HtmlContent& h = p.Html();
    auto add = [&](const std::string& u) {
      if (u.empty()) return;
      if (!first) o += ",";
      first = false;
      Str(o, u);
    };
    for (const auto& l : h.links) add(l.href);
    for (const auto& i : h.images) add(i);
    for (const auto& f : h.forms) add(f);
  }
  o += "],\"emails\":[],\"attachments\":[";
  first = true;
  for (const auto& p : msg.parts()) {
    if (!p.is_leaf() || !p.is_attachment()) continue;
    if (!first) o += ",";
    first = false;
    o += "{\"filename\":";
    OptStr(o, p.filename);
    o += ",\"content_type\":";
    Str(o, p.content_type);
    absl::StrAppend(&o, ",\"size\":", p.decoded.size(), "}");
  }
  o += "],\"anomalies\":[";
  first = true;
  for (const auto& a : msg.anomalies()) {
    if (!first) o += ",";
    first = false;
    Str(o, a);
  }
  absl::StrAppend(&o, "],\"size\":", msg.size(), "}");
  return o;
}

std::string MessageToText(const mime::Message& msg) {
  std::string o = absl::StrCat("subject: ", msg.Subject(), "\n");
  absl::StrAppend(&o, "size: ", msg.size(), " bytes, ", msg.parts().size(), " parts\n");
  absl::StrAppend(&o, "headers:\n");
  for (const auto& h : msg.headers().fields()) absl::StrAppend(&o, "  ", h.name, ": ", h.value, "\n");
  absl::StrAppend(&o, "parts:\n");
  for (size_t i = 0; i < msg.parts().size(); ++i) {
    const mime::Part& p = msg.parts()[i];
    absl::StrAppend(&o, std::string(2 + 2 * p.depth, ' '), i, ". ", p.content_type);
    if (!p.charset.empty()) absl::StrAppend(&o, "; charset=", p.charset);
    if (p.filename.has_value()) absl::StrAppend(&o, "; file \"", *p.filename, "\"");
    if (!p.transfer_encoding.empty()) absl::StrAppend(&o, " [", p.transfer_encoding, "]");
    absl::StrAppend(&o, " ", PartSize(p), " bytes");
    if (p.is_attachment()) absl::StrAppend(&o, " (attachment)");
    absl::StrAppend(&o, "\n");
  }
  if (!msg.anomalies().empty()) {
    absl::StrAppend(&o, "anomalies:\n");
    for (const auto& a : msg.anomalies()) absl::StrAppend(&o, "  ", a, "\n");
  }
  return o;
}

}  // namespace farside::cli
