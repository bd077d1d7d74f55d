// Rendering of the parsed message as JSON and as text.
#include "tools/farside/parse_command.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
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

const char* SourceName(mime::Url::Source s) {
  switch (s) {
    case mime::Url::Source::kText: return "text";
    case mime::Url::Source::kHtmlLink: return "link";
    case mime::Url::Source::kHtmlImage: return "image";
    case mime::Url::Source::kHtmlForm: return "form";
  }
  return "text";
}

size_t PartSize(const mime::Part& p) { return p.is_leaf() ? p.decoded.size() : p.body.size(); }

}  // namespace

void Addresses(std::string& o, const std::vector<mime::Address>& list) {
  o += "[";
  bool first = true;
  for (const auto& a : list) {
    if (!first) o += ",";
    first = false;
    o += "{\"name\":";
    Str(o, a.display_name);
    o += ",\"address\":";
    Str(o, a.addr_spec());
    o += ",\"domain\":";
    Str(o, a.domain);
    if (!a.group.empty()) {
      o += ",\"group\":";
      Str(o, a.group);
    }
    o += "}";
  }
  o += "]";
}

std::string IsoTime(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

std::string MessageToJson(const mime::Message& msg) {
  std::string o = "{\"subject\":";
  Str(o, msg.Subject());
  o += ",\"message_id\":";
  Str(o, msg.MessageId());
  o += ",\"date\":";
  std::optional<mime::DateTime> date = msg.Date();
  OptStr(o, date.has_value() ? std::optional<std::string>(IsoTime(date->unix_seconds)) : std::nullopt);
  for (const char* field : {"from", "reply-to", "to", "cc"}) {
    absl::StrAppend(&o, ",\"", absl::StrReplaceAll(field, {{"-", "_"}}), "\":");
    Addresses(o, msg.Addresses(field));
  }
  o += ",\"received\":[";
  bool first_hop = true;
  for (const mime::ReceivedHop& h : msg.Received()) {
    if (!first_hop) o += ",";
    first_hop = false;
    o += "{\"from\":";
    Str(o, h.from);
    o += ",\"from_rdns\":";
    Str(o, h.from_rdns);
    o += ",\"ip\":";
    Str(o, h.ip);
    o += ",\"by\":";
    Str(o, h.by);
    o += ",\"with\":";
    Str(o, h.with);
    o += ",\"date\":";
    OptStr(o, h.date.has_value() ? std::optional<std::string>(IsoTime(h.date->unix_seconds))
                                 : std::nullopt);
    o += "}";
  }
  o += "]";
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
  o += "],\"urls\":[";
  first = true;
  const mime::Extracted& links = msg.Links();
  for (const mime::Url& u : links.urls) {
    if (!first) o += ",";
    first = false;
    o += "{\"url\":";
    Str(o, u.url);
    o += ",\"host\":";
    Str(o, u.host);
    o += ",\"domain\":";
    Str(o, u.domain);
    o += ",\"source\":";
    Str(o, SourceName(u.source));
    if (!u.anchor_text.empty()) {
      o += ",\"anchor_text\":";
      Str(o, u.anchor_text);
    }
    o += ",\"flags\":[";
    bool ff = true;
    for (const auto& [set, name] : {std::pair{u.ip_host, "ip"}, std::pair{u.idn, "idn"},
                                    std::pair{u.mixed_scripts, "mixed_scripts"},
                                    std::pair{u.userinfo, "userinfo"},
                                    std::pair{u.obfuscated, "obfuscated"},
                                    std::pair{u.schemeless, "schemeless"}}) {
      if (!set) continue;
      if (!ff) o += ",";
      ff = false;
      Str(o, name);
    }
    o += "]}";
  }
  o += "],\"emails\":[";
  first = true;
  for (const mime::EmailAddress& e : links.emails) {
    if (!first) o += ",";
    first = false;
    Str(o, e.address);
  }
  o += "],\"attachments\":[";
  first = true;
  for (const auto& p : msg.parts()) {
    if (!p.is_leaf() || !p.is_attachment()) continue;
    if (!first) o += ",";
    first = false;
    o += "{\"filename\":";
    OptStr(o, p.filename);
    o += ",\"content_type\":";
    Str(o, p.content_type);
    o += ",\"detected_type\":";
    OptStr(o, p.detected_type.empty() ? std::nullopt : std::optional<std::string>(p.detected_type));
    absl::StrAppend(&o, ",\"size\":", p.decoded.size(), ",\"archive\":[");
    bool fe = true;
    for (const auto& e : p.archive.entries) {
      if (!fe) o += ",";
      fe = false;
      o += "{\"name\":";
      Str(o, e.name);
      absl::StrAppend(&o, ",\"encrypted\":", e.encrypted ? "true" : "false", "}");
    }
    o += "]}";
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
  const mime::Extracted& links = msg.Links();
  if (!links.urls.empty()) {
    absl::StrAppend(&o, "urls:\n");
    for (const auto& u : links.urls) {
      absl::StrAppend(&o, "  ", u.url, "  (", u.host, u.anchor_text.empty() ? "" : ", shown as \"",
                      u.anchor_text, u.anchor_text.empty() ? "" : "\"", ")\n");
    }
  }
  if (!links.emails.empty()) {
    absl::StrAppend(&o, "emails:\n");
    for (const auto& e : links.emails) absl::StrAppend(&o, "  ", e.address, "\n");
  }
  if (!msg.anomalies().empty()) {
    absl::StrAppend(&o, "anomalies:\n");
    for (const auto& a : msg.anomalies()) absl::StrAppend(&o, "  ", a, "\n");
  }
  return o;
}

}  // namespace farside::cli
