// Greylisting decisions (see greylist.h); the keys are xxHash3 of the triplet and the body.
#include "services/scanner/greylist.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"

namespace farside::scanner {

using farside::v1::Action;
using google::protobuf::util::TimeUtil;

namespace {

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Milliseconds(TimeUtil::DurationToMilliseconds(d));
}

std::string Hex(uint64_t h) { return absl::StrFormat("%016x", h); }

std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

std::string Seconds(int64_t ms) { return absl::StrCat((ms + 500) / 1000, " s"); }

}  // namespace

std::string ClientNetwork(const std::string& ip, int v4_bits, int v6_bits) {
  in_addr a4;
  in6_addr a6;
  if (inet_pton(AF_INET, ip.c_str(), &a4) == 1) {
    const uint32_t mask = v4_bits <= 0 ? 0 : v4_bits >= 32 ? ~0u : ~0u << (32 - v4_bits);
    const uint32_t n = ntohl(a4.s_addr) & mask;
    return absl::StrCat(n >> 24, ".", (n >> 16) & 255, ".", (n >> 8) & 255, ".", n & 255, "/", v4_bits);
  }
  if (inet_pton(AF_INET6, ip.c_str(), &a6) == 1) {
    for (int i = 0; i < 16; ++i) {
      const int keep = std::clamp(v6_bits - 8 * i, 0, 8);
      a6.s6_addr[i] &= static_cast<uint8_t>(0xff00 >> keep);
    }
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a6, buf, sizeof buf);
    return absl::StrCat(buf, "/", v6_bits);
  }
  return "";
}

absl::StatusOr<std::unique_ptr<Greylister>> Greylister::Create(
    const farside::v1::GreylistConfig& config) {
  std::unique_ptr<Greylister> g(new Greylister(config));
  g->delay_ = FromProto(config.delay());
  g->expiry_ = FromProto(config.expiry());
  g->pass_ttl_ = FromProto(config.pass_ttl());
  if (g->expiry_ <= g->delay_) {
    return absl::InvalidArgumentError(
        "scanner.greylist.expiry: must be longer than the delay, or no retry could pass");
  }
  if (config.ipv4_prefix() > 32 || config.ipv6_prefix() > 128) {
    return absl::InvalidArgumentError(
        "scanner.greylist: ipv4_prefix is at most 32 and ipv6_prefix at most 128");
  }
  // Each allow entry is an address or network, a sender address, or a sender domain.
  std::vector<std::string> ips, domains, addresses;
  for (int i = 0; i < config.allow_size(); ++i) {
    const std::string e = std::string(absl::StripAsciiWhitespace(config.allow(i)));
    std::vector<std::string>* into = absl::StrContains(e, '@')                               ? &addresses
                                     : (absl::StrContains(e, ':') || (!e.empty() && absl::ascii_isdigit(e.back()) &&
                                                                     absl::ascii_isdigit(e.front())))
                                         ? &ips
                                         : &domains;
    const char* type = into == &ips ? "ip" : into == &addresses ? "email" : "domain";
    absl::StatusOr<std::shared_ptr<const rules::ListSet::Entries>> one =
        rules::ParseListFile(type, e, "entry");
    if (e.empty() || !one.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "scanner.greylist.allow[", i, "]: '", e, "' is not an address, network, e-mail address or domain",
          one.ok() ? "" : absl::StrCat(" (", one.status().message(), ")")));
    }
    into->push_back(e);
  }
  auto parse = [](const char* type, const std::vector<std::string>& v)
      -> std::shared_ptr<const rules::ListSet::Entries> {
    if (v.empty()) return nullptr;
    auto e = rules::ParseListFile(type, absl::StrJoin(v, "\n"), "scanner.greylist.allow");
    return e.ok() ? *e : nullptr;
  };
  g->allow_ips_ = parse("ip", ips);
  g->allow_domains_ = parse("domain", domains);
  g->allow_addresses_ = parse("email", addresses);
  return g;
}

std::optional<farside::v1::GreylistKeys> Greylister::Keys(const mime::Message& msg,
                                                          const farside::v1::Envelope& env) const {
  if (!config_.enabled()) return std::nullopt;
  const std::string from = Lower(env.mail_from());
  const size_t at = from.rfind('@');
  const std::string domain = at == std::string::npos ? "" : from.substr(at + 1);
  if ((allow_ips_ && !env.client_ip().empty() && rules::ListMatch(*allow_ips_, env.client_ip())) ||
      (allow_domains_ && !domain.empty() && rules::ListMatch(*allow_domains_, domain)) ||
      (allow_addresses_ && !from.empty() && rules::ListMatch(*allow_addresses_, from))) {
    return std::nullopt;
  }
  std::vector<std::string> rcpts;
  for (const std::string& r : env.rcpt_to()) rcpts.push_back(Lower(r));
  std::sort(rcpts.begin(), rcpts.end());
  const std::string triplet = absl::StrCat(
      ClientNetwork(env.client_ip(), static_cast<int>(config_.ipv4_prefix()),
                    static_cast<int>(config_.ipv6_prefix())),
      "\n", from, "\n", absl::StrJoin(rcpts, ","));
  // The body as sent, after the header: what a retry repeats even from another network.
  absl::string_view body = msg.root().body;
  farside::v1::GreylistKeys k;
  k.set_triplet(Hex(XXH3_64bits(triplet.data(), triplet.size())));
  k.set_body(Hex(XXH3_64bits(body.data(), body.size())));
  return k;
}

void Greylister::Apply(const std::optional<farside::v1::GreylistKeys>& keys,
                       const farside::v1::GreylistAnswer* answer,
                       const farside::v1::ActionThresholds& t, farside::v1::ScanResult* result,
                       Action* action, farside::v1::GreylistUpdate* update) const {
  // Greylisting is for mail in doubt: the greylist band, and the header bands above it as
  // long as this profile greylists by score; never for what is rejected anyway.
  const bool band = *action == farside::v1::GREYLIST ||
                    ((*action == farside::v1::ADD_HEADER || *action == farside::v1::REWRITE_SUBJECT) &&
                     t.has_greylist() && result->score() >= t.greylist());
  if (!band) return;
  auto skip = [&](const std::string& why) {
    auto* sk = result->add_skipped();
    sk->set_check("greylist");
    sk->set_reason(why);
    // Without memory a greylist answer would tempfail every retry: accept instead.
    if (*action == farside::v1::GREYLIST) *action = farside::v1::NO_ACTION;
  };
  if (!config_.enabled()) return skip("greylisting is switched off (scanner.greylist.enabled)");
  for (const auto& s : result->symbols()) {
    for (const std::string& a : config_.allow_symbols()) {
      if (s.name() == a) return skip(absl::StrCat("allowed by the symbol ", a));
    }
  }
  if (!keys.has_value()) return skip("the client or sender is on scanner.greylist.allow");
  if (answer == nullptr) return skip("no answer from the controller, so no memory of earlier tries");
  const int64_t delay_ms = absl::ToInt64Milliseconds(delay_);
  auto* sym = result->add_symbols();
  sym->set_group("greylist");
  if (answer->seen() && answer->age_ms() >= delay_ms) {
    sym->set_name("GREYLIST_PASSED");
    sym->set_description("Retried after the greylisting delay, as a real mail server does");
    sym->add_options(absl::StrCat("first try ", Seconds(answer->age_ms()), " ago"));
    if (*action == farside::v1::GREYLIST) *action = farside::v1::NO_ACTION;
    *update->mutable_keys() = *keys;
    update->set_passed(true);
    update->set_ttl_ms(absl::ToInt64Milliseconds(pass_ttl_));
    return;
  }
  *action = farside::v1::GREYLIST;
  if (answer->seen()) {
    sym->set_name("GREYLIST_EARLY");
    sym->set_description("Retried before the greylisting delay was over");
    sym->add_options(absl::StrCat("first try ", Seconds(answer->age_ms()), " ago, retry after ",
                                  Seconds(delay_ms - answer->age_ms()), " more"));
    return;  // the first sight stands
  }
  sym->set_name("GREYLIST_NEW");
  sym->set_description("First sight of this sender, client network and recipients: asked to retry later");
  sym->add_options(absl::StrCat("retry after ", Seconds(delay_ms)));
  *update->mutable_keys() = *keys;
  update->set_passed(false);
  update->set_ttl_ms(absl::ToInt64Milliseconds(expiry_));
}

}  // namespace farside::scanner
