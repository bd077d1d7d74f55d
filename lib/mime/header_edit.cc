// Applying header changes to a raw message.
#include "lib/mime/header_edit.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace farside::mime {
namespace {

struct Field {
  std::string name;
  std::string raw;  // the whole field with its line ends
};

std::string Render(const HeaderEdit& e) {
  std::string out = e.name + ":";
  if (!e.value.empty() && e.value[0] != ' ' && e.value[0] != '\t') out += ' ';
  for (size_t i = 0; i < e.value.size(); ++i) {
    char c = e.value[i];
    if (c == '\r') continue;
    if (c == '\n') {
      out += "\r\n";
      // A continuation line must start with white space.
      if (i + 1 < e.value.size() && e.value[i + 1] != ' ' && e.value[i + 1] != '\t') out += '\t';
      continue;
    }
    out += c;
  }
  out += "\r\n";
  return out;
}

}  // namespace

std::string ApplyHeaderEdits(absl::string_view message, const std::vector<HeaderEdit>& edits) {
  if (edits.empty()) return std::string(message);
  std::vector<Field> fields;
  size_t pos = 0;
  absl::string_view body;
  bool have_body = false;
  while (pos < message.size()) {
    size_t eol = message.find('\n', pos);
    size_t next = eol == absl::string_view::npos ? message.size() : eol + 1;
    absl::string_view line = message.substr(pos, next - pos);
    if (line == "\r\n" || line == "\n") {
      body = message.substr(pos);  // the blank line and what follows
      have_body = true;
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !fields.empty()) {
      fields.back().raw.append(line.data(), line.size());
    } else {
      size_t colon = line.find(':');
      fields.push_back({std::string(line.substr(0, colon == absl::string_view::npos ? 0 : colon)),
                        std::string(line)});
      if (fields.back().raw.back() != '\n') fields.back().raw += "\r\n";
    }
    pos = next;
  }
  for (const HeaderEdit& e : edits) {
    auto occurrence = [&](uint32_t n) -> int {
      uint32_t seen = 0;
      for (size_t i = 0; i < fields.size(); ++i) {
        if (absl::EqualsIgnoreCase(fields[i].name, e.name) && ++seen == n) return static_cast<int>(i);
      }
      return -1;
    };
    switch (e.op) {
      case HeaderEdit::kAdd:
        fields.push_back({e.name, Render(e)});
        break;
      case HeaderEdit::kInsert: {
        size_t at = std::min<size_t>(e.index, fields.size());
        fields.insert(fields.begin() + static_cast<long>(at), {e.name, Render(e)});
        break;
      }
      case HeaderEdit::kChange: {
        int i = occurrence(e.index == 0 ? 1 : e.index);
        if (e.value.empty()) {
          if (i >= 0) fields.erase(fields.begin() + i);
        } else if (i >= 0) {
          fields[static_cast<size_t>(i)].raw = Render(e);
        } else {
          fields.push_back({e.name, Render(e)});
        }
        break;
      }
      case HeaderEdit::kDelete:
        if (e.index > 0) {
          if (int i = occurrence(e.index); i >= 0) fields.erase(fields.begin() + i);
        } else {
          std::erase_if(fields, [&](const Field& f) { return absl::EqualsIgnoreCase(f.name, e.name); });
        }
        break;
    }
  }
  std::string out;
  out.reserve(message.size() + 256);
  for (const Field& f : fields) out += f.raw;
  if (have_body) {
    out.append(body.data(), body.size());
  } else {
    out += "\r\n";
  }
  return out;
}

}  // namespace farside::mime
