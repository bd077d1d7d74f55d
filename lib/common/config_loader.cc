// YAML -> protobuf by reflection, with the checks that make a typo an error with a path.
#include "lib/common/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "farside/v1/options.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"

namespace farside::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr int kMaxDepth = 32;

// Where a value came from, for error messages.
struct Where {
  std::string source;
  std::string path;
  const YAML::Node* node = nullptr;

  absl::Status Error(absl::string_view what) const {
    std::string at = source;
    if (node != nullptr && !node->Mark().is_null()) {
      absl::StrAppend(&at, ":", node->Mark().line + 1, ":", node->Mark().column + 1);
    }
    if (!path.empty()) absl::StrAppend(&at, ": ", path);
    return absl::InvalidArgumentError(absl::StrCat(at, ": ", what));
  }
};

std::string Join(absl::string_view a, absl::string_view b) {
  return a.empty() ? std::string(b) : absl::StrCat(a, ".", b);
}

bool IsDuration(const Descriptor* d) {
  return d->full_name() == google::protobuf::Duration::descriptor()->full_name();
}

// "FailPolicy" -> "FAIL_POLICY_", so YAML may write "tempfail" for FAIL_POLICY_TEMPFAIL.
std::string EnumPrefix(absl::string_view enum_name) {
  std::string out;
  for (size_t i = 0; i < enum_name.size(); ++i) {
    char c = enum_name[i];
    if (absl::ascii_isupper(c) && i > 0) out.push_back('_');
    out.push_back(absl::ascii_toupper(c));
  }
  out.push_back('_');
  return out;
}

absl::StatusOr<bool> ParseBool(absl::string_view s) {
  std::string v = absl::AsciiStrToLower(s);
  if (v == "true" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "no" || v == "off") return false;
  return absl::InvalidArgumentError("expected true or false");
}

absl::Status SetValue(Message* msg, const FieldDescriptor* f, const YAML::Node& node,
                      const Where& where, bool split_lists, int depth);

// Sets (or, for repeated fields, appends) one scalar.
absl::Status SetScalar(Message* msg, const FieldDescriptor* f, const std::string& text,
                       const Where& where) {
  const Reflection* r = msg->GetReflection();
  const bool rep = f->is_repeated();
  auto want = [&](absl::string_view kind) {
    return where.Error(absl::StrCat("expected ", kind, ", got '", text, "'"));
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(text, &v)) return want("an integer");
      rep ? r->AddInt32(msg, f, v) : r->SetInt32(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v)) return want("an integer");
      rep ? r->AddInt64(msg, f, v) : r->SetInt64(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(text, &v)) return want("a non-negative integer");
      rep ? r->AddUInt32(msg, f, v) : r->SetUInt32(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(text, &v)) return want("a non-negative integer");
      rep ? r->AddUInt64(msg, f, v) : r->SetUInt64(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return want("a number");
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
        rep ? r->AddFloat(msg, f, static_cast<float>(v))
            : r->SetFloat(msg, f, static_cast<float>(v));
      } else {
        rep ? r->AddDouble(msg, f, v) : r->SetDouble(msg, f, v);
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      absl::StatusOr<bool> v = ParseBool(text);
      if (!v.ok()) return want("true or false");
      rep ? r->AddBool(msg, f, *v) : r->SetBool(msg, f, *v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_STRING:
      rep ? r->AddString(msg, f, text) : r->SetString(msg, f, text);
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* e = f->enum_type();
      std::string upper = absl::AsciiStrToUpper(text);
      const EnumValueDescriptor* v = e->FindValueByName(upper);
      if (v == nullptr) v = e->FindValueByName(EnumPrefix(e->name()) + upper);
      if (v == nullptr) {
        std::vector<std::string> names;
        std::string prefix = EnumPrefix(e->name());
        for (int i = 0; i < e->value_count(); ++i) {
          std::string n = e->value(i)->name();
          if (absl::StartsWith(n, prefix)) n = n.substr(prefix.size());
          if (!absl::EndsWith(n, "UNSPECIFIED")) names.push_back(absl::AsciiStrToLower(n));
        }
        return where.Error(absl::StrCat("unknown value '", text,
                                        "' (one of: ", absl::StrJoin(names, ", "), ")"));
      }
      rep ? r->AddEnum(msg, f, v) : r->SetEnum(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      if (!IsDuration(f->message_type())) return want("a mapping");
      absl::Duration d;
      if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
        return want("a duration such as 300ms, 10s or 5m");
      }
      Message* m = rep ? r->AddMessage(msg, f) : r->MutableMessage(msg, f);
      auto* pd = static_cast<google::protobuf::Duration*>(m);
      int64_t secs = absl::IDivDuration(d, absl::Seconds(1), &d);
      pd->set_seconds(secs);
      pd->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
      return absl::OkStatus();
    }
  }
  return where.Error("unsupported field type");
}

absl::Status MergeMap(Message* msg, const YAML::Node& node, const Where& where,
                      bool split_lists, int depth) {
  if (depth > kMaxDepth) return where.Error("nested too deeply");
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) return where.Error("expected a mapping of keys to values");
  const Descriptor* d = msg->GetDescriptor();
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const YAML::Node& key_node = kv.first;
    const YAML::Node& value = kv.second;
    Where key_where{where.source, where.path, &key_node};
    if (!key_node.IsScalar()) return key_where.Error("keys must be plain names");
    std::string key = key_node.Scalar();
    key_where.path = Join(where.path, key);
    if (!seen.insert(key).second) return key_where.Error("duplicate key");
    const FieldDescriptor* f = d->FindFieldByName(key);
    if (f == nullptr) {
      std::vector<std::string> known;
      for (int i = 0; i < d->field_count(); ++i) known.push_back(d->field(i)->name());
      return key_where.Error(absl::StrCat("unknown key (known keys here: ",
                                          absl::StrJoin(known, ", "), ")"));
    }
    Where value_where{where.source, key_where.path, &value};
    if (absl::Status s = SetValue(msg, f, value, value_where, split_lists, depth + 1); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status SetValue(Message* msg, const FieldDescriptor* f, const YAML::Node& node,
                      const Where& where, bool split_lists, int depth) {
  const Reflection* r = msg->GetReflection();
  const bool is_msg = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
  const bool nested = is_msg && !IsDuration(f->message_type());
  if (node.IsNull()) {
    r->ClearField(msg, f);
    if (nested && !f->is_repeated()) ApplyDefaults(r->MutableMessage(msg, f));
    return absl::OkStatus();
  }
  if (f->is_map()) {
    if (!node.IsMap()) return where.Error("expected a mapping");
    r->ClearField(msg, f);
    const Descriptor* entry = f->message_type();
    const FieldDescriptor* kf = entry->FindFieldByName("key");
    const FieldDescriptor* vf = entry->FindFieldByName("value");
    for (const auto& kv : node) {
      Message* e = r->AddMessage(msg, f);
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      Where kw{where.source, Join(where.path, key), &kv.first};
      if (!kv.first.IsScalar()) return kw.Error("keys must be scalars");
      if (absl::Status s = SetScalar(e, kf, key, kw); !s.ok()) return s;
      if (vf->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) ApplyDefaults(e->GetReflection()->MutableMessage(e, vf));
      Where vw{where.source, kw.path, &kv.second};
      if (absl::Status s = SetValue(e, vf, kv.second, vw, split_lists, depth + 1); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }
  if (f->is_repeated()) {
    r->ClearField(msg, f);
    std::vector<YAML::Node> items;
    if (node.IsSequence()) {
      for (const auto& item : node) items.push_back(item);
    } else if (node.IsScalar() && split_lists && !nested) {
      for (absl::string_view part : absl::StrSplit(node.Scalar(), ',', absl::SkipWhitespace())) {
        items.emplace_back(std::string(absl::StripAsciiWhitespace(part)));
      }
    } else {
      return where.Error("expected a list");
    }
    for (size_t i = 0; i < items.size(); ++i) {
      Where iw{where.source, absl::StrCat(where.path, "[", i, "]"), &items[i]};
      if (nested) {
        Message* m = r->AddMessage(msg, f);
        ApplyDefaults(m);
        if (absl::Status s = MergeMap(m, items[i], iw, split_lists, depth + 1); !s.ok()) return s;
      } else {
        if (!items[i].IsScalar()) return iw.Error("expected a single value");
        if (absl::Status s = SetScalar(msg, f, items[i].Scalar(), iw); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }
  if (nested) return MergeMap(r->MutableMessage(msg, f), node, where, split_lists, depth);
  if (!node.IsScalar()) return where.Error("expected a single value, not a list or mapping");
  return SetScalar(msg, f, node.Scalar(), where);
}

}  // namespace

void ApplyDefaults(Message* msg) {
  const Descriptor* d = msg->GetDescriptor();
  const Reflection* r = msg->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string& def = f->options().GetExtension(farside::v1::default_value);
    if (!def.empty()) {
      YAML::Node node(def);
      Where where{"built-in default", f->full_name(), nullptr};
      // A default that fails to parse is a bug in the schema, caught by the config tests.
      SetValue(msg, f, node, where, /*split_lists=*/true, 0).IgnoreError();
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated() &&
               !IsDuration(f->message_type())) {
      ApplyDefaults(r->MutableMessage(msg, f));
    }
  }
}

absl::Status MergeYaml(absl::string_view yaml, absl::string_view source, Message* msg) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", e.mark.line + 1, ":",
                                                   e.mark.column + 1, ": YAML syntax error: ",
                                                   e.msg));
  }
  Where where{std::string(source), "", &root};
  try {
    return MergeMap(msg, root, where, /*split_lists=*/false, 0);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", e.what()));
  }
}

absl::Status SetPath(Message* msg, absl::string_view path, absl::string_view value) {
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  Message* cur = msg;
  std::string walked;
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* f = cur->GetDescriptor()->FindFieldByName(parts[i]);
    walked = Join(walked, parts[i]);
    Where where{"setting", walked, nullptr};
    if (f == nullptr) return where.Error("unknown key");
    if (i + 1 == parts.size()) {
      YAML::Node node{std::string(value)};
      return SetValue(cur, f, node, where, /*split_lists=*/true, 0);
    }
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) {
      return where.Error("is not a section");
    }
    cur = cur->GetReflection()->MutableMessage(cur, f);
  }
  return absl::InvalidArgumentError("empty setting path");
}

absl::StatusOr<std::string> ReadFile(absl::string_view path) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) {
    int err = errno;
    std::string why = absl::StrCat("cannot read '", path, "': ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(why);
    return absl::PermissionDeniedError(why);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<farside::v1::Config> LoadConfig(absl::string_view path) {
  farside::v1::Config cfg;
  ApplyDefaults(&cfg);
  if (path.empty()) return cfg;
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  if (absl::Status s = MergeYaml(*text, path, &cfg); !s.ok()) return s;
  return cfg;
}

}  // namespace farside::config
