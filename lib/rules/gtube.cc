// GTUBE search: one pass for the shared tail of all variants, then a look at the letter
// before it.
#include "lib/rules/gtube.h"

namespace farside::rules {
namespace {
// Every variant is one letter followed by this.
constexpr absl::string_view kTail = "JS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
}  // namespace

std::optional<GtubeMatch> FindGtube(absl::string_view body) {
  size_t pos = body.find(kTail, 1);
  while (pos != absl::string_view::npos) {
    farside::v1::Action action;
    bool known = true;
    switch (body[pos - 1]) {
      case 'X': action = farside::v1::REJECT; break;
      case 'Y': action = farside::v1::ADD_HEADER; break;
      case 'Z': action = farside::v1::REWRITE_SUBJECT; break;
      case 'A': action = farside::v1::NO_ACTION; break;
      default: known = false; action = farside::v1::NO_ACTION;
    }
    if (known) return GtubeMatch{action, body.substr(pos - 1, kTail.size() + 1)};
    pos = body.find(kTail, pos + 1);
  }
  return std::nullopt;
}

}  // namespace farside::rules
