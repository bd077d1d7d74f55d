// clamd verdicts as symbols and forced actions.
#include "services/scanner/antivirus.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"

namespace farside::scanner {
namespace {

void Force(farside::v1::Action a, const std::string& by, farside::v1::ScanResult* result,
           std::optional<farside::v1::Action>* forced) {
  if (forced->has_value() && **forced >= a) return;
  *forced = a;
  result->set_forced_by(by);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Antivirus>> Antivirus::Create(const farside::v1::AntivirusConfig& config) {
  std::unique_ptr<Antivirus> a(new Antivirus());
  a->config_ = config;
  if (!config.enabled()) return a;
  if (config.scan() != "message" && config.scan() != "attachments") {
    return absl::InvalidArgumentError(absl::StrCat("scanner.antivirus.scan: '", config.scan(),
                                                   "' is not message or attachments"));
  }
  if (!farside::v1::Action_Parse(absl::AsciiStrToUpper(config.action()), &a->action_)) {
    return absl::InvalidArgumentError(absl::StrCat("scanner.antivirus.action: unknown action '", config.action(), "'"));
  }
  if (!config.fail_action().empty()) {
    farside::v1::Action f;
    if (!farside::v1::Action_Parse(absl::AsciiStrToUpper(config.fail_action()), &f)) {
      return absl::InvalidArgumentError(
          absl::StrCat("scanner.antivirus.fail_action: unknown action '", config.fail_action(), "'"));
    }
    a->fail_action_ = f;
  }
  absl::StatusOr<std::unique_ptr<av::Clamd>> c = av::Clamd::Create(config.clamd());
  if (!c.ok()) return absl::InvalidArgumentError(absl::StrCat("scanner.antivirus.clamd: ", c.status().message()));
  a->clamd_ = std::move(*c);
  return a;
}

void Antivirus::Run(absl::string_view bytes, const mime::Message& msg, farside::v1::ScanResult* result,
                    std::optional<farside::v1::Action>* forced) const {
  if (clamd_ == nullptr) return;
  // What goes to clamd: the message (clamd reads MIME itself), or each attachment decoded.
  std::vector<std::pair<std::string, absl::string_view>> items;
  if (config_.scan() == "message") {
    items.emplace_back("", bytes);
  } else {
    for (const mime::Part& p : msg.parts()) {
      if (!p.is_leaf() || !p.is_attachment()) continue;
      items.emplace_back(p.filename.value_or(p.content_type), p.decoded);
    }
  }
  const absl::Time deadline =
      absl::Now() + absl::Milliseconds(google::protobuf::util::TimeUtil::DurationToMilliseconds(config_.timeout()));
  for (const auto& [name, data] : items) {
    if (data.size() > config_.max_bytes()) {
      auto* sk = result->add_skipped();
      sk->set_check("antivirus");
      sk->set_reason(absl::StrCat(name.empty() ? "the message" : name, " is over scanner.antivirus.max_bytes (",
                                  config_.max_bytes(), ")"));
      continue;
    }
    absl::StatusOr<av::Verdict> v = clamd_->Scan(data, deadline);
    if (!v.ok()) {
      auto* sym = result->add_symbols();
      sym->set_name("CLAMAV_FAIL");
      sym->set_score(0);
      sym->set_group("antivirus");
      sym->set_description("The virus scanner could not check this message");
      sym->add_options(std::string(v.status().message()));
      auto* sk = result->add_skipped();
      sk->set_check("antivirus");
      sk->set_reason(std::string(v.status().message()));
      if (fail_action_.has_value()) Force(*fail_action_, "CLAMAV_FAIL", result, forced);
      return;
    }
    if (v->infected) {
      auto* sym = result->add_symbols();
      sym->set_name("CLAMAV_VIRUS");
      sym->set_score(config_.score());
      sym->set_group("antivirus");
      sym->set_description("ClamAV found a virus or other malware");
      sym->add_options(name.empty() ? v->virus : absl::StrCat(v->virus, " in ", name));
      Force(action_, "CLAMAV_VIRUS", result, forced);
      return;  // one is enough
    }
  }
}

}  // namespace farside::scanner
