// Greylisting decisions without a controller: which mail is in doubt, what the
// controller's memory means, the allow lists, and bad configuration.
#include "services/scanner/greylist.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "lib/common/config_loader.h"

namespace farside::scanner {
namespace {

using farside::v1::Action;

farside::v1::GreylistConfig Config(const std::string& yaml = "") {
  farside::v1::Config cfg;
  config::ApplyDefaults(&cfg);
  EXPECT_TRUE(config::MergeYaml(yaml, "test", &cfg).ok());
  return cfg.scanner().greylist();
}

farside::v1::ActionThresholds Thresholds() {
  farside::v1::ActionThresholds t;
  t.set_greylist(4);
  t.set_add_header(6);
  t.set_reject(15);
  return t;
}

struct Outcome {
  Action action;
  farside::v1::ScanResult result;
  farside::v1::GreylistUpdate update;
  std::string Symbols() const {
    std::string s;
    for (const auto& sym : result.symbols()) s += sym.name() + " ";
    for (const auto& sk : result.skipped()) s += "skipped:" + sk.reason() + " ";
    return s;
  }
};

Outcome Decide(const Greylister& g, double score, Action action, const farside::v1::GreylistAnswer* answer,
            const std::string& from = "a@b.test") {
  mime::Message msg = mime::Message::Parse("Subject: x\r\n\r\nbody\r\n", mime::Message::DefaultLimits());
  farside::v1::Envelope env;
  env.set_client_ip("192.0.2.7");
  env.set_mail_from(from);
  env.add_rcpt_to("c@d.test");
  Outcome o{action, {}, {}};
  o.result.set_score(score);
  g.Apply(g.Keys(msg, env), answer, Thresholds(), &o.result, &o.action, &o.update);
  return o;
}

TEST(Greylist, FirstSightAndEarlyRetryAreTempfailedAndALateRetryPasses) {
  auto g = Greylister::Create(Config());
  ASSERT_TRUE(g.ok()) << g.status();
  farside::v1::GreylistAnswer none;
  Outcome first = Decide(**g, 4.5, farside::v1::GREYLIST, &none);
  EXPECT_EQ(first.action, farside::v1::GREYLIST);
  EXPECT_TRUE(absl::StrContains(first.Symbols(), "GREYLIST_NEW")) << first.Symbols();
  EXPECT_FALSE(first.update.passed());
  EXPECT_EQ(first.update.ttl_ms(), 24 * 3600 * 1000) << "the expiry, 1 day by default";
  EXPECT_EQ(first.update.keys().triplet().size(), 16u);

  farside::v1::GreylistAnswer early;
  early.set_seen(true);
  early.set_age_ms(60 * 1000);
  Outcome e = Decide(**g, 4.5, farside::v1::GREYLIST, &early);
  EXPECT_EQ(e.action, farside::v1::GREYLIST);
  EXPECT_TRUE(absl::StrContains(e.Symbols(), "GREYLIST_EARLY")) << e.Symbols();
  EXPECT_FALSE(e.update.has_keys()) << "the first sight stands";

  farside::v1::GreylistAnswer late = early;
  late.set_age_ms(301 * 1000);
  Outcome p = Decide(**g, 4.5, farside::v1::GREYLIST, &late);
  EXPECT_EQ(p.action, farside::v1::NO_ACTION);
  EXPECT_TRUE(absl::StrContains(p.Symbols(), "GREYLIST_PASSED")) << p.Symbols();
  EXPECT_TRUE(p.update.passed());

  // Spam that gets headers is greylisted first and keeps its headers once it passes.
  EXPECT_EQ(Decide(**g, 7, farside::v1::ADD_HEADER, &none).action, farside::v1::GREYLIST);
  EXPECT_EQ(Decide(**g, 7, farside::v1::ADD_HEADER, &late).action, farside::v1::ADD_HEADER);
}

TEST(Greylist, OnlyMailInDoubtIsTouched) {
  auto g = Greylister::Create(Config());
  ASSERT_TRUE(g.ok());
  farside::v1::GreylistAnswer none;
  for (auto [score, action] : {std::pair{1.0, farside::v1::NO_ACTION}, {20.0, farside::v1::REJECT},
                               {0.0, farside::v1::SOFT_REJECT}}) {
    Outcome o = Decide(**g, score, action, &none);
    EXPECT_EQ(o.action, action);
    EXPECT_EQ(o.result.symbols_size(), 0);
    EXPECT_FALSE(o.update.has_keys());
  }
}

TEST(Greylist, WithoutMemoryOrOnAnAllowListItAccepts) {
  auto g = Greylister::Create(Config("scanner:\n  greylist:\n    allow: [192.0.2.0/24, friend.test, x@y.test]\n"
                                     "    allow_symbols: [OUR_PARTNER]\n"));
  ASSERT_TRUE(g.ok()) << g.status();
  farside::v1::GreylistAnswer none;
  // The client's network is allowed, so any sender is.
  Outcome allowed = Decide(**g, 4.5, farside::v1::GREYLIST, &none);
  EXPECT_EQ(allowed.action, farside::v1::NO_ACTION);
  EXPECT_TRUE(absl::StrContains(allowed.Symbols(), "greylist.allow")) << allowed.Symbols();

  auto plain = Greylister::Create(Config("scanner:\n  greylist:\n    allow: [friend.test, x@y.test]\n"
                                         "    allow_symbols: [OUR_PARTNER]\n"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(Decide(**plain, 4.5, farside::v1::GREYLIST, &none, "m@mail.friend.test").action, farside::v1::NO_ACTION);
  EXPECT_EQ(Decide(**plain, 4.5, farside::v1::GREYLIST, &none, "X@y.test").action, farside::v1::NO_ACTION);
  EXPECT_EQ(Decide(**plain, 4.5, farside::v1::GREYLIST, &none, "z@y.test").action, farside::v1::GREYLIST);
  // No controller answer: a greylist answer would tempfail every retry, so accept.
  Outcome away = Decide(**plain, 4.5, farside::v1::GREYLIST, nullptr);
  EXPECT_EQ(away.action, farside::v1::NO_ACTION);
  EXPECT_TRUE(absl::StrContains(away.Symbols(), "no answer from the controller")) << away.Symbols();
  EXPECT_EQ(Decide(**plain, 7, farside::v1::ADD_HEADER, nullptr).action, farside::v1::ADD_HEADER);
}

TEST(Greylist, TheTripletUsesTheClientNetwork) {
  EXPECT_EQ(ClientNetwork("192.0.2.77", 24, 64), "192.0.2.0/24");
  EXPECT_EQ(ClientNetwork("192.0.2.77", 32, 64), "192.0.2.77/32");
  EXPECT_EQ(ClientNetwork("2001:db8:1:2:3:4:5:6", 24, 64), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientNetwork("2001:db8:1:2:3:4:5:6", 24, 36), "2001:db8::/36");
  EXPECT_EQ(ClientNetwork("nonsense", 24, 64), "");
}

TEST(Greylist, BadConfigurationNamesTheKey) {
  auto short_expiry = Greylister::Create(Config("scanner:\n  greylist:\n    delay: 10m\n    expiry: 5m\n"));
  ASSERT_FALSE(short_expiry.ok());
  EXPECT_TRUE(absl::StrContains(short_expiry.status().message(), "scanner.greylist.expiry"));
  auto bad_net = Greylister::Create(Config("scanner:\n  greylist:\n    allow: [192.0.2.0/40]\n"));
  ASSERT_FALSE(bad_net.ok());
  EXPECT_TRUE(absl::StrContains(bad_net.status().message(), "scanner.greylist.allow[0]")) << bad_net.status();
}

}  // namespace
}  // namespace farside::scanner
