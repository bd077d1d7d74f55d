// Header changes for delivered mail.
#include "services/scanner/verdict.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "lib/mime/charset.h"

namespace farside::scanner {
namespace {

constexpr const char* kSpamHeaders[] = {"X-Spam-Flag", "X-Spam-Score", "X-Spam-Status",
                                        "X-Spam-Symbols"};

void Add(farside::v1::ScanResult* r, farside::v1::HeaderChange::Op op, const std::string& name,
         const std::string& value, int index = 0) {
  auto* h = r->add_header_changes();
  h->set_op(op);
  h->set_name(name);
  h->set_value(value);
  h->set_index(index);
}

}  // namespace

void AddHeaderChanges(const farside::v1::HeadersConfig& config, const mime::Message& msg,
                      farside::v1::ScanResult* result) {
  using farside::v1::HeaderChange;
  const farside::v1::Action a = result->action();
  // Refused mail is never delivered, so it gets no headers.
  if (a == farside::v1::REJECT || a == farside::v1::SOFT_REJECT || a == farside::v1::GREYLIST ||
      a == farside::v1::DISCARD) {
    return;
  }
  if (config.remove_incoming()) {
    for (const char* name : kSpamHeaders) {
      if (msg.headers().Find(name) != nullptr) Add(result, HeaderChange::OP_REMOVE, name, "", 0);
    }
  }
  const bool spam = a == farside::v1::ADD_HEADER || a == farside::v1::REWRITE_SUBJECT ||
                    a == farside::v1::QUARANTINE;
  if ((spam && config.spam_headers()) || (!spam && config.ham_headers())) {
    std::string score = absl::StrFormat("%.2f", result->score());
    std::string required =
        result->thresholds().has_add_header()
            ? absl::StrFormat(" required=%.2f", result->thresholds().add_header())
            : "";
    std::vector<std::string> names;
    for (const auto& s : result->symbols()) names.push_back(s.name());
    if (spam) Add(result, HeaderChange::OP_ADD, "X-Spam-Flag", "YES");
    Add(result, HeaderChange::OP_ADD, "X-Spam-Score", score);
    Add(result, HeaderChange::OP_ADD, "X-Spam-Status",
        absl::StrCat(spam ? "Yes" : "No", ", score=", score, required));
    if (!names.empty()) {
      Add(result, HeaderChange::OP_ADD, "X-Spam-Symbols", absl::StrJoin(names, ", "));
    }
  }
  if (a == farside::v1::REWRITE_SUBJECT) {
    // The raw value keeps any encoded-words as the sender wrote them.
    if (const mime::HeaderField* subject = msg.headers().Find("Subject")) {
      // 8-bit bytes of an unknown charset cannot travel as text: the decoded subject then
      // goes out as one RFC 2047 encoded-word.
      std::string old = mime::IsValidUtf8(subject->raw)
                            ? subject->raw
                            : absl::StrCat("=?UTF-8?B?", absl::Base64Escape(subject->value), "?=");
      Add(result, HeaderChange::OP_CHANGE, "Subject", config.subject_prefix() + old, 1);
    } else {
      Add(result, HeaderChange::OP_ADD, "Subject", config.subject_prefix());
    }
  }
}

}  // namespace farside::scanner
