// ARC (RFC 8617) chain validation on top of lib/dkim: the sets' structure, the newest
// ARC-Message-Signature and every ARC-Seal. Pure, like DKIM: key records come in as answers.
#ifndef FARSIDE_LIB_ARC_ARC_H_
#define FARSIDE_LIB_ARC_ARC_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "lib/dkim/dkim.h"
#include "lib/dns/resolver.h"

namespace farside::arc {

enum class Result { kNone, kPass, kFail };

struct Prepared {
  dkim::RawMessage message;
  Result early = Result::kNone;  // kFail when the structure alone breaks the chain
  std::string reason;
  int instances = 0;
  std::vector<dns::Query> key_queries;  // the newest AMS's key, then each seal's, newest first
};

struct Outcome {
  Result result = Result::kNone;
  int instances = 0;
  std::string domain;  // the newest seal's d=
  std::string reason;  // why it failed
};

Prepared Prepare(absl::string_view bytes);
Outcome Validate(const Prepared& p, const std::vector<dns::Answer>& keys);

absl::string_view ResultName(Result r);

}  // namespace farside::arc

#endif  // FARSIDE_LIB_ARC_ARC_H_
