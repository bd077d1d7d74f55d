// Address lists, dates and Received hops; each test names the RFC 5322 rule or quirk.
#include "lib/mime/address.h"

#include "gtest/gtest.h"

namespace farside::mime {
namespace {

TEST(Addresses, Rfc5322NameAddrAndAddrSpecAndQuotedNames) {
  auto a = ParseAddressList(
      "\"Silva, Ana\" <Ana.Silva@Example.COM>, bob@example.org, Carol <carol@example.net>");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].display_name, "Silva, Ana") << "a comma inside quotes is not a separator";
  EXPECT_EQ(a[0].local, "Ana.Silva");
  EXPECT_EQ(a[0].domain, "example.com") << "domains compare case-insensitively";
  EXPECT_EQ(a[1].addr_spec(), "bob@example.org");
  EXPECT_EQ(a[2].display_name, "Carol");
}

TEST(Addresses, Rfc5322GroupsAndEmptyGroups) {
  auto a = ParseAddressList("Team: ann@example.com, ben@example.com;, undisclosed-recipients:;");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].group, "Team");
  EXPECT_EQ(a[1].group, "Team");
}

TEST(Addresses, Rfc5322CommentsAndTheOldStyleNameInAComment) {
  auto a = ParseAddressList("joe@example.com (Joe Bloggs), (note) <x@example.org> (trailing)");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].display_name, "Joe Bloggs");
  EXPECT_EQ(a[1].addr_spec(), "x@example.org");
  EXPECT_EQ(a[1].display_name, "");
}

TEST(Addresses, Rfc2047DisplayNameAndQuotedLocalPart) {
  auto a = ParseAddressList("=?utf-8?q?Jos=C3=A9?= =?utf-8?q?_Silva?= <\"jose silva\"@example.com>");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].display_name, "José Silva");
  EXPECT_EQ(a[0].local, "jose silva");
}

TEST(Addresses, QuirkDisplayNameNamingAnotherDomain) {
  // What the forgery rules look at: the name shows one domain, the address is another.
  auto a = ParseAddressList("\"support@bank.example\" <phish@evil.example>");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].display_name, "support@bank.example");
  EXPECT_EQ(a[0].domain, "evil.example");
}

TEST(Addresses, IdnDomainsBecomePunycodeAndObsoleteRoutesAreDropped) {
  auto a = ParseAddressList("<user@bücher.example>, <@relay.example,@b.example:z@example.com>");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].domain, "xn--bcher-kva.example");
  EXPECT_TRUE(a[0].idn);
  EXPECT_EQ(a[1].addr_spec(), "z@example.com") << "RFC 5322 4.4 obs-route";
}

TEST(Addresses, GarbageYieldsNothingAndNeverCrashes) {
  EXPECT_TRUE(ParseAddressList("").empty());
  EXPECT_TRUE(ParseAddressList(",,, ;;; <>").empty());
  for (const char* s : {"\"unclosed", "(unclosed comment", "<a@b", "a@", "@@@", "\\"}) {
    ParseAddressList(s);
  }
}

TEST(Date, Rfc5322DateTimeWithZone) {
  auto d = ParseDate("Thu, 03 Dec 2026 09:00:00 +0100");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->unix_seconds, 1796284800) << "09:00 at +01:00 is 08:00 UTC";
  EXPECT_EQ(d->zone_offset_minutes, 60);
  EXPECT_FALSE(d->obsolete);
}

TEST(Date, Rfc5322ObsoleteFormsTwoDigitYearsNamedZonesComments) {
  auto d = ParseDate("Fri, 7 Dec 01 07:01:03 EST (Eastern)");
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->obsolete);
  EXPECT_EQ(d->zone_offset_minutes, -300);
  auto noz = ParseDate("7 Dec 2001 07:01:03");
  ASSERT_TRUE(noz.has_value());
  EXPECT_TRUE(noz->obsolete) << "missing zone";
  EXPECT_FALSE(ParseDate("yesterday").has_value());
  EXPECT_FALSE(ParseDate("31 Feb 2020 10:00:00 +0000").has_value());
}

TEST(Received, HopsNameTheSenderItsAddressTheReceiverProtocolAndDate) {
  ReceivedHop h = ParseReceived(
      "from mail.sender.example (mail.sender.example [192.0.2.7]) by mx.dest.example "
      "(Postfix) with ESMTPS id 4ABC123 for <bob@dest.example>; Thu, 03 Dec 2026 09:00:00 +0000");
  EXPECT_EQ(h.from, "mail.sender.example");
  EXPECT_EQ(h.from_rdns, "mail.sender.example");
  EXPECT_EQ(h.ip, "192.0.2.7");
  EXPECT_EQ(h.by, "mx.dest.example");
  EXPECT_EQ(h.with, "ESMTPS");
  EXPECT_EQ(h.id, "4ABC123");
  EXPECT_EQ(h.for_addr, "bob@dest.example");
  ASSERT_TRUE(h.date.has_value());
  EXPECT_EQ(h.date->unix_seconds, 1796288400);
}

TEST(Received, Ipv6AndHeloMismatch) {
  ReceivedHop h = ParseReceived(
      "from friendly (unknown [IPv6:2001:db8::1]) by mx.example with SMTP; 1 Jan 2026 00:00:00 +0000");
  EXPECT_EQ(h.from, "friendly") << "what the sender said";
  EXPECT_EQ(h.ip, "2001:db8::1");
  EXPECT_EQ(h.from_rdns, "") << "'unknown' is no name";
}

}  // namespace
}  // namespace farside::mime
