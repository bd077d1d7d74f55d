// Built-in checks: what rules ask of a message that a regex cannot say (counts, fields
// compared, relay trust, free mail providers), SpamAssassin's evals among them.
#ifndef FARSIDE_LIB_RULES_CHECKS_H_
#define FARSIDE_LIB_RULES_CHECKS_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "lib/mime/message.h"
#include "lib/rules/message_fields.h"
#include "lib/rules/regex.h"
#include "lib/rules/sa_html.h"

namespace farside::rules {

// One check as a rule names it ("date_shift(6,12)", "freemail_header(Reply-To,\\d@)").
struct CheckSpec {
  enum class Kind { kNone, kHasHtml, kHtmlOnly, kHasAttachment, kHasBase64, kHasQp,
                     kBase64Text, kFromEnvelopeDomainDiffers, kDateShift, kFromNameOtherDomain,
                     kReplyToDomainDiffers, kAnchorDomainMismatch, kUrlDomainsOver, kImageOnly,
                     kHtmlTextUnder, kEncryptedArchive, kExecutableContent, kCharsetMismatch,
                     kHtmlImageText, kBodyLengthUnder, kImageCount, kHeaderCount,
                     kSubjectAllCaps, kUppercasePercent, kFreemailFrom, kFreemailHeader,
                     kFreemailReplyTo, kAllTrusted, kNoRelays, kMissingTo,
                     kEnvelopeFromMatchesRelay, kEnvelopeFromIsFrom, kReceivedRemoved,
                     kUrlShortener, kFromInList, kReplyToInList,
                     // SpamAssassin's HTML statistics (sa_html.h), any text/html part:
                     kHtmlTagExists, kHtmlTagBalance, kHtmlRange, kHtmlEval, kHtmlTextMatch,
                     kHtmlFlag, kHtmlImageRatio, kHtmlTitleSubjectRatio,
                     // What later checks found: symbol(A|B|...) (any of Farside's symbols,
                     // SPF_PASS, DKIM_PASS, ...) and bayes(MIN,MAX) (the spam probability).
                     kSymbol, kBayes, kUriHostInList,
                     kToInSubject, kQpLongLine, kMimeEpilogue, kBounceRelaysConfigured,
                     kBounceFromRelay, kImageArea, kImageTextRatio, kSpaceRatio,
                     kBadIsoCharset, kForgedGmail, kFakeAolRelay, kRatwareNameId,
                     kRatwareEnvelopeFrom, kBase64Length,
                     // Late, as symbol(): dkim_valid_author, dkim_valid(DOMAIN,...).
                     kDkimValidAuthor, kDkimValid, kDkimChecked,
                     // from_name_address(to|replyto): the address in From's display name
                     // is the recipient's or Reply-To's (late: DKIM signers may excuse it).
                     kFromNameAddress,
                     // SpamAssassin's MIME and body statistics: blank_line_ratio(MIN,MAX,
                     // MINLINES), ma_non_text, multipart_ratio(MIN,MAX), unicode_ratio(R),
                     // microsoft_executable, suspect_name, unresolved_template, and
                     // helo_ip_mismatch (an untrusted relay's HELO address is another
                     // network's than its own).
                     kBlankLineRatio, kMaNonText, kMultipartRatio, kUnicodeRatio,
                     kMicrosoftExecutable, kSuspectName, kUnresolvedTemplate, kHeloIpMismatch };
  Kind kind = Kind::kNone;
  std::optional<double> min, max;  // numeric arguments; unset: "undef" (open)
  std::string arg;                 // a text argument (image type, field name, list name, ...)
  std::optional<Regex> regex;      // the freemail checks' optional pattern, html_text_match's
  std::string op;                  // html_tag_balance, html_eval: <, <=, ==, !=, >=, >
  double lines = 1;                // blank_line_ratio: the fewest lines it rates
};

// The free mail providers the rule files name (RuleFile.freemail_domains).
struct FreemailDomains {
  std::set<std::string> exact;
  std::optional<Regex> wildcard;  // "@(?:aol\.[^.]*|...)$" over the address
  // Whether `address` (lower case) is at a free mail provider; role addresses (postmaster,
  // abuse, bounces, ...) never count.
  bool Contains(absl::string_view address) const;
};

// What the rule files declare for the checks to read.
struct CheckData {
  FreemailDomains freemail;
  // Address lists by name (RuleFile.address_lists): one case-blind pattern over the whole
  // address per list.
  std::map<std::string, Regex> address_lists;
  std::set<std::string> url_shorteners;  // host names, or ".example" for its subdomains
  std::map<std::string, std::set<std::string>> uri_host_lists;  // RuleFile.uri_host_lists
  std::set<std::string> bounce_relays;                          // RuleFile.bounce_relays
  std::vector<std::string> from_name_ignore_headers;
  std::set<std::string> from_name_ignore_dkim;
};

// What the checks of one message share, built on first use.
struct CheckCache {
  std::optional<std::vector<SaHtmlStats>> sa_html;  // one per text/html part
  // For symbol() and bayes(): the symbols found by other checks, and Bayes' answer.
  const std::function<double(const std::string&)>* known = nullptr;
  std::optional<double> bayes_probability;
  std::vector<std::string> dkim_pass_domains;  // lower case d= of verified signatures
  bool dkim_checked = false;                   // DKIM signatures were verified

  // The relays and the addresses of fields, each read once however many checks ask.
  const std::vector<Relay>& relays(const mime::Message& msg);
  const FieldAddresses& addresses(const mime::Message& msg, absl::string_view field);

 private:
  std::optional<std::vector<Relay>> relays_;
  std::map<std::string, FieldAddresses, std::less<>> addresses_;
};

// The checks that read what is found after the rules run (RuleSet::RunLate).
inline bool IsLateCheck(const CheckSpec& c) {
  return c.kind == CheckSpec::Kind::kSymbol || c.kind == CheckSpec::Kind::kBayes ||
         c.kind == CheckSpec::Kind::kDkimValidAuthor || c.kind == CheckSpec::Kind::kDkimValid ||
         c.kind == CheckSpec::Kind::kDkimChecked || c.kind == CheckSpec::Kind::kFromNameAddress;
}

// Reads a check's name and arguments; InvalidArgument for an unknown one.
absl::Status ParseCheck(absl::string_view text, CheckSpec* c);
// Runs a check: nullopt when it does not hit, else what it found (may be empty). `cache`
// is the message's (one per message, shared by its checks).
std::optional<std::string> RunCheck(const CheckSpec& c, const mime::Message& msg,
                                    const CheckData& data, CheckCache& cache);

}  // namespace farside::rules

#endif  // FARSIDE_LIB_RULES_CHECKS_H_
