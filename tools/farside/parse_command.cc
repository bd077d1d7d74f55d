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


// `"key":`, preceded by a comma unless it opens an object.
void Key(std::string& o, absl::string_view key) {
  if (o.back() != '{') o.push_back(',');
  absl::StrAppend(&o, "\"", key, "\":");
}
// A comma between list items.
void Sep(std::string& o) {
  if (o.back() != '[') o.push_back(',');
}
void StrField(std::string& o, absl::string_view key, absl::string_view v) {
  Key(o, key);
  Str(o, v);
}
void OptField(std::string& o, absl::string_view key, const std::optional<std::string>& v) {
  Key(o, key);
  OptStr(o, v);
}
// An empty string is written as null.
std::optional<std::string> NonEmpty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

std::string IsoTime(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}
std::optional<std::string> IsoTime(const std::optional<mime::DateTime>& d) {
  return d.has_value() ? std::optional<std::string>(IsoTime(d->unix_seconds)) : std::nullopt;
}

void Addresses(std::string& o, const std::vector<mime::Address>& list) {
  o += "[";
  for (const auto& a : list) {
    Sep(o);
    o += "{";
    StrField(o, "name", a.display_name);
    StrField(o, "address", a.addr_spec());
    StrField(o, "domain", a.domain);
    if (!a.group.empty()) StrField(o, "group", a.group);
    o += "}";
  }
  o += "]";
}

}  // namespace

std::string MessageToJson(const mime::Message& msg) {
  std::string o = "{";
  StrField(o, "subject", msg.Subject());
  StrField(o, "message_id", msg.MessageId());
  OptField(o, "date", IsoTime(msg.Date()));
  for (const char* field : {"from", "reply-to", "to", "cc"}) {
    Key(o, absl::StrReplaceAll(field, {{"-", "_"}}));
    Addresses(o, msg.Addresses(field));
  }
  Key(o, "received");
  o += "[";
  for (const mime::ReceivedHop& h : msg.Received()) {
    Sep(o);
    o += "{";
    StrField(o, "from", h.from);
    StrField(o, "from_rdns", h.from_rdns);
    StrField(o, "ip", h.ip);
    StrField(o, "by", h.by);
    StrField(o, "with", h.with);
    OptField(o, "date", IsoTime(h.date));
    o += "}";
  }
  o += "]";
  Key(o, "headers");
  o += "[";
  for (const auto& h : msg.headers().fields()) {
    Sep(o);
    o += "{";
    StrField(o, "name", h.name);
    StrField(o, "value", h.value);
    o += "}";
  }
  o += "]";
  Key(o, "parts");
  o += "[";
  for (const auto& p : msg.parts()) {
    Sep(o);
    o += "{";
    StrField(o, "content_type", p.content_type);
    OptField(o, "charset", NonEmpty(p.charset));
    OptField(o, "filename", p.filename);
    absl::StrAppend(&o, ",\"size\":", PartSize(p), ",\"depth\":", p.depth);
    OptField(o, "disposition", NonEmpty(p.disposition));
    OptField(o, "transfer_encoding", NonEmpty(p.transfer_encoding));
    o += "}";
  }
  o += "]";
  const mime::Extracted& links = msg.Links();
  Key(o, "urls");
  o += "[";
  for (const mime::Url& u : links.urls) {
    Sep(o);
    o += "{";
    StrField(o, "url", u.url);
    StrField(o, "host", u.host);
    StrField(o, "domain", u.domain);
    StrField(o, "source", SourceName(u.source));
    if (!u.anchor_text.empty()) StrField(o, "anchor_text", u.anchor_text);
    Key(o, "flags");
    o += "[";
    for (const auto& [set, name] : {std::pair{u.ip_host, "ip"}, std::pair{u.idn, "idn"},
                                    std::pair{u.mixed_scripts, "mixed_scripts"},
                                    std::pair{u.userinfo, "userinfo"},
                                    std::pair{u.obfuscated, "obfuscated"},
                                    std::pair{u.schemeless, "schemeless"}}) {
      if (!set) continue;
      Sep(o);
      Str(o, name);
    }
    o += "]}";
  }
  o += "]";
  Key(o, "emails");
  o += "[";
  for (const mime::EmailAddress& e : links.emails) {
    Sep(o);
    Str(o, e.address);
  }
  o += "]";
  Key(o, "attachments");
  o += "[";
  for (const auto& p : msg.parts()) {
    if (!p.is_leaf() || !p.is_attachment()) continue;
    Sep(o);
    o += "{";
    OptField(o, "filename", p.filename);
    StrField(o, "content_type", p.content_type);
    OptField(o, "detected_type", NonEmpty(p.detected_type));
    absl::StrAppend(&o, ",\"size\":", p.decoded.size());
    Key(o, "archive");
    o += "[";
    for (const auto& e : p.archive.entries) {
      Sep(o);
      o += "{";
      StrField(o, "name", e.name);
      absl::StrAppend(&o, ",\"encrypted\":", e.encrypted ? "true" : "false", "}");
    }
    o += "]}";
  }
  o += "]";
  Key(o, "anomalies");
  o += "[";
  for (const auto& a : msg.anomalies()) {
    Sep(o);
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
