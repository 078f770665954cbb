// Tests for ringstamp/engine/proto/multicast.h, igmp.h and mld.h: group MACs, reports against kernel frames.
#include <doctest/doctest.h>

#include <cstring>
#include <string_view>
#include <vector>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/proto/icmp.h"
#include "ringstamp/engine/proto/igmp.h"
#include "ringstamp/engine/proto/ip_proto.h"
#include "ringstamp/engine/proto/ipv4.h"
#include "ringstamp/engine/proto/ipv6.h"
#include "ringstamp/engine/proto/mld.h"
#include "ringstamp/engine/proto/multicast.h"
#include "tests/unit/fixtures/proto_golden_frames.h"
#include "tests/unit/fixtures/proto_test_util.h"

namespace ringstamp {
namespace {

using testing::Bytes;
using testing::Copy;
using testing::Ip;

MacAddress Mac(std::string_view text) {
  auto m = MacAddress::Parse(text);
  REQUIRE(m.has_value());
  return *m;
}

constexpr MacAddress kMacA = {{0x02, 0, 0, 0, 0, 0x0a}};

TEST_CASE("proto: multicast MACs and solicited-node addresses") {
  CHECK(MulticastMac(Ip("239.1.2.3")) == Mac("01:00:5e:01:02:03"));
  CHECK(MulticastMac(Ip("239.129.2.3")) == Mac("01:00:5e:01:02:03"));  // only 23 bits map
  CHECK(MulticastMac(Ip("224.0.0.22")) == Mac("01:00:5e:00:00:16"));
  CHECK(MulticastMac(Ip("ff05::1:3")) == Mac("33:33:00:01:00:03"));
  CHECK(MulticastMac(Ip("ff02::1:ff12:3456")) == Mac("33:33:ff:12:34:56"));
  CHECK_FALSE(MulticastMac(Ip("10.0.0.1")).has_value());
  CHECK_FALSE(MulticastMac(Ip("fd00::1")).has_value());
  CHECK_FALSE(MulticastMac(IpAddress()).has_value());

  CHECK(SolicitedNodeAddress(Ip("fd00::2")) == Ip("ff02::1:ff00:2"));
  CHECK(SolicitedNodeAddress(Ip("2001:db8::abcd:ef01:2345")) == Ip("ff02::1:ff01:2345"));
  CHECK_FALSE(SolicitedNodeAddress(Ip("10.0.0.1")).is_valid());

  // The kernel frames go to exactly these MACs.
  CHECK(ParseEthernet(Bytes(testing::kNeighborSolicitation))->dst ==
        *MulticastMac(SolicitedNodeAddress(Ip("fd00::2"))));
  CHECK(ParseEthernet(Bytes(testing::kIgmpv3ReportJoin))->dst == *MulticastMac(kIgmpv3RoutersV4));
  CHECK(ParseEthernet(Bytes(testing::kMldv2ReportJoin))->dst == *MulticastMac(kMldv2RoutersV6));
  CHECK(ParseEthernet(Bytes(testing::kIgmpv2Report))->dst == *MulticastMac(Ip("239.4.5.6")));
  CHECK(ParseEthernet(Bytes(testing::kIgmpv2Leave))->dst == *MulticastMac(kAllRoutersV4));
}

// Ethernet + IPv4 (TTL 1, TOS 0xc0, DF, id 0, Router Alert) + the IGMP
// message `build` writes, as the kernel sends it.
template <typename BuildFn>
std::vector<std::byte> IgmpFrame(const IpAddress& dst, size_t igmp_size, BuildFn build) {
  std::vector<std::byte> out(14 + 24 + igmp_size);
  REQUIRE(BuildEthernet(out, *MulticastMac(dst), kMacA, VlanStack{}, kEtherTypeIpv4) == 14);
  REQUIRE(build(std::span(out).subspan(38)) == igmp_size);
  const Ipv4Header h{.tos = 0xc0,
                     .id = 0,
                     .dont_fragment = true,
                     .ttl = 1,
                     .protocol = kIpProtoIgmp,
                     .src = Ip("10.0.0.1"),
                     .dst = dst,
                     .options = kIpv4RouterAlertOption};
  REQUIRE(BuildIpv4(std::span(out).subspan(14), h, igmp_size) == 24);
  return out;
}

TEST_CASE("proto: IGMPv3 reports match the kernel's byte for byte") {
  const MulticastGroupRecord join[] = {
      {MulticastRecordType::kChangeToExclude, Ip("239.1.2.3"), {}}};
  auto frame = IgmpFrame(kIgmpv3RoutersV4, 16,
                         [&](std::span<std::byte> o) { return BuildIgmpv3Report(o, join); });
  REQUIRE(frame.size() == sizeof(testing::kIgmpv3ReportJoin));
  CHECK(std::memcmp(frame.data(), testing::kIgmpv3ReportJoin, frame.size()) == 0);

  const MulticastGroupRecord two[] = {{MulticastRecordType::kChangeToInclude, Ip("239.1.2.3"), {}},
                                      {MulticastRecordType::kChangeToExclude, Ip("239.4.5.6"), {}}};
  auto frame2 = IgmpFrame(kIgmpv3RoutersV4, 24,
                          [&](std::span<std::byte> o) { return BuildIgmpv3Report(o, two); });
  REQUIRE(frame2.size() == sizeof(testing::kIgmpv3ReportTwoRecords));
  CHECK(std::memcmp(frame2.data(), testing::kIgmpv3ReportTwoRecords, frame2.size()) == 0);

  auto ip = ParseIpv4(Bytes(testing::kIgmpv3ReportTwoRecords).subspan(14));
  REQUIRE(ip.ok());
  auto igmp = ParseIgmp(ip->payload);
  REQUIRE(igmp.ok());
  CHECK(igmp->type == kIgmpv3Report);
  CHECK(igmp->version == 3);
  CHECK(igmp->v3_record_count == 2);
}

TEST_CASE("proto: IGMPv3 report with sources") {
  const IpAddress sources[] = {Ip("10.9.9.1"), Ip("10.9.9.2")};
  const MulticastGroupRecord rec[] = {
      {MulticastRecordType::kAllowNewSources, Ip("232.1.1.1"), sources}};
  std::vector<std::byte> out(24);
  REQUIRE(BuildIgmpv3Report(out, rec) == 24);
  CHECK(InternetChecksum(out) == 0);
  CHECK(testing::At(out, 8) == 5);
  CHECK(LoadBe16(out.data() + 10) == 2);
  CHECK(IpAddress::Load4(out.data() + 12) == Ip("232.1.1.1"));
  CHECK(IpAddress::Load4(out.data() + 20) == Ip("10.9.9.2"));
  CHECK(BuildIgmpv3Report(std::span(out).first(23), rec) == 0);
  const IpAddress v6_source[] = {Ip("fd00::1")};
  const MulticastGroupRecord mixed[] = {
      {MulticastRecordType::kAllowNewSources, Ip("232.1.1.1"), v6_source}};
  CHECK(BuildIgmpv3Report(out, mixed) == 0);
  const MulticastGroupRecord v6_group[] = {
      {MulticastRecordType::kChangeToExclude, Ip("ff05::1"), {}}};
  CHECK(BuildIgmpv3Report(out, v6_group) == 0);
}

TEST_CASE("proto: IGMPv2 report and leave match the kernel's byte for byte") {
  auto report = IgmpFrame(Ip("239.4.5.6"), 8, [&](std::span<std::byte> o) {
    return BuildIgmpv2(o, kIgmpv2Report, Ip("239.4.5.6"));
  });
  CHECK(std::memcmp(report.data(), testing::kIgmpv2Report, sizeof(testing::kIgmpv2Report)) == 0);
  auto leave = IgmpFrame(kAllRoutersV4, 8, [&](std::span<std::byte> o) {
    return BuildIgmpv2(o, kIgmpv2Leave, Ip("239.4.5.6"));
  });
  CHECK(std::memcmp(leave.data(), testing::kIgmpv2Leave, sizeof(testing::kIgmpv2Leave)) == 0);

  auto ip = ParseIpv4(Bytes(testing::kIgmpv2Leave).subspan(14));
  REQUIRE(ip.ok());
  CHECK(ip->options.size() == 4);
  auto igmp = ParseIgmp(ip->payload);
  REQUIRE(igmp.ok());
  CHECK(igmp->type == kIgmpv2Leave);
  CHECK(igmp->version == 2);
  CHECK(igmp->group == Ip("239.4.5.6"));

  std::vector<std::byte> out(8);
  CHECK(BuildIgmpv2(std::span(out).first(7), kIgmpv2Report, Ip("239.4.5.6")) == 0);
  CHECK(BuildIgmpv2(out, kIgmpv2Report, Ip("ff05::1")) == 0);
}

TEST_CASE("proto: IGMP queries: version by size and max response code") {
  std::vector<std::byte> q(12);
  Store8(q.data(), kIgmpMembershipQuery);
  Store8(q.data() + 1, 100);
  Ip("239.1.2.3").StoreTo(q.data() + 4);
  StoreBe16(q.data() + 2, InternetChecksum(std::span(q).first(8)));
  auto v2 = ParseIgmp(std::span(q).first(8));
  REQUIRE(v2.ok());
  CHECK(v2->version == 2);
  CHECK(v2->group == Ip("239.1.2.3"));
  CHECK(v2->MaxResponseDeciseconds() == 100);

  Store8(q.data() + 1, 0);
  StoreBe16(q.data() + 2, 0);
  StoreBe16(q.data() + 2, InternetChecksum(std::span(q).first(8)));
  CHECK(ParseIgmp(std::span(q).first(8))->version == 1);

  Store8(q.data() + 1, 0x8f);  // exp 0, mant 15: (15 | 16) << 3 = 248
  StoreBe16(q.data() + 2, 0);
  StoreBe16(q.data() + 2, InternetChecksum(q));
  auto v3 = ParseIgmp(q);
  REQUIRE(v3.ok());
  CHECK(v3->version == 3);
  CHECK(v3->MaxResponseDeciseconds() == 248);
  Store8(q.data() + 1, 0xff);  // exp 7, mant 15: 31 << 10
  StoreBe16(q.data() + 2, 0);
  StoreBe16(q.data() + 2, InternetChecksum(q));
  CHECK(ParseIgmp(q)->MaxResponseDeciseconds() == 31744);

  auto bad = Copy(q);
  bad[5] ^= std::byte{1};
  CHECK(ParseIgmp(bad).error() == ParseError::kIgmpBadChecksum);
  CHECK(ParseIgmp(bad, ChecksumCheck::kSkip).ok());
  CHECK(ParseIgmp(std::span(q).first(7)).error() == ParseError::kIgmpTruncated);
}

TEST_CASE("proto: MLDv2 report frame matches the kernel's byte for byte") {
  const auto golden = Bytes(testing::kMldv2ReportJoin);
  const IpAddress src = Ip("fe80::ff:fe00:a");
  const MulticastGroupRecord join[] = {
      {MulticastRecordType::kChangeToExclude, Ip("ff05::1:3"), {}}};
  std::vector<std::byte> out(golden.size());
  size_t at =
      BuildEthernet(out, *MulticastMac(kMldv2RoutersV6), kMacA, VlanStack{}, kEtherTypeIpv6);
  const size_t ip_at = at;
  at += 40;
  at += BuildIpv6RouterAlertHopByHop(std::span(out).subspan(at), kIpProtoIcmpv6);
  const size_t mld = BuildMldv2Report(std::span(out).subspan(at), join, src);
  REQUIRE(mld == 28);
  REQUIRE(BuildIpv6(
              std::span(out).subspan(ip_at),
              {.next_header = kIpProtoHopByHop, .hop_limit = 1, .src = src, .dst = kMldv2RoutersV6},
              8 + mld) == 40);
  REQUIRE(at + mld == golden.size());
  CHECK(std::memcmp(out.data(), golden.data(), golden.size()) == 0);

  // And the kernel's own frame verifies through our parsers.
  auto ip = ParseIpv6(golden.subspan(14));
  REQUIRE(ip.ok());
  auto icmp = ParseIcmpv6(ip->payload, ip->src, ip->dst);
  REQUIRE(icmp.ok());
  CHECK(icmp->type == kIcmpv6Mldv2Report);
  CHECK(ParseMldQuery(*icmp).error() == ParseError::kMldNotQuery);
}

TEST_CASE("proto: MLDv2 report with sources, limits, and query parsing") {
  const IpAddress src = Ip("fe80::1");
  const IpAddress sources[] = {Ip("fd00::9")};
  const MulticastGroupRecord rec[] = {
      {MulticastRecordType::kModeIsInclude, Ip("ff3e::1234"), sources}};
  std::vector<std::byte> out(44);
  REQUIRE(BuildMldv2Report(out, rec, src) == 44);
  CHECK(ParseIcmpv6(out, src, kMldv2RoutersV6).ok());
  CHECK(IpAddress::Load6(out.data() + 12) == Ip("ff3e::1234"));
  CHECK(IpAddress::Load6(out.data() + 28) == Ip("fd00::9"));
  CHECK(BuildMldv2Report(std::span(out).first(43), rec, src) == 0);
  CHECK(BuildMldv2Report(out, rec, Ip("10.0.0.1")) == 0);
  const MulticastGroupRecord v4[] = {{MulticastRecordType::kChangeToExclude, Ip("239.1.1.1"), {}}};
  CHECK(BuildMldv2Report(out, v4, src) == 0);

  // Queries: MLDv1 (24 bytes) and MLDv2 (28 + 16 per source).
  std::vector<std::byte> q(44);
  Store8(q.data(), kIcmpv6MldQuery);
  StoreBe16(q.data() + 4, 1000);
  Ip("ff05::1:3").StoreTo(q.data() + 8);
  auto v1_icmp = ParseIcmpv6(std::span(q).first(24), src, kAllNodesV6, ChecksumCheck::kSkip);
  REQUIRE(v1_icmp.ok());
  auto v1 = ParseMldQuery(*v1_icmp);
  REQUIRE(v1.ok());
  CHECK(v1->version == 1);
  CHECK(v1->group == Ip("ff05::1:3"));
  CHECK(v1->MaxResponseMs() == 1000);

  StoreBe16(q.data() + 4, 0x8001);  // exp 0, mant 1: (1 | 0x1000) << 3
  StoreBe16(q.data() + 26, 1);
  auto v2_icmp = ParseIcmpv6(q, src, kAllNodesV6, ChecksumCheck::kSkip);
  auto v2 = ParseMldQuery(*v2_icmp);
  REQUIRE(v2.ok());
  CHECK(v2->version == 2);
  CHECK(v2->source_count == 1);
  CHECK(v2->MaxResponseMs() == (0x1001u << 3));
  StoreBe16(q.data() + 26, 2);  // two sources claimed, one present
  CHECK(ParseMldQuery(*ParseIcmpv6(q, src, kAllNodesV6, ChecksumCheck::kSkip)).error() ==
        ParseError::kMldTruncated);
  CHECK(ParseMldQuery(*ParseIcmpv6(std::span(q).first(23), src, kAllNodesV6, ChecksumCheck::kSkip))
            .error() == ParseError::kMldTruncated);
}

TEST_CASE("proto: IGMP and MLD parse on every truncation of kernel messages") {
  for (auto frame : {Bytes(testing::kIgmpv3ReportJoin), Bytes(testing::kIgmpv2Report)}) {
    auto ip = ParseIpv4(frame.subspan(14));
    REQUIRE(ip.ok());
    for (size_t len = 0; len <= ip->payload.size(); ++len) {
      const std::vector<std::byte> msg(ip->payload.begin(), ip->payload.begin() + len);
      auto igmp = ParseIgmp(msg, ChecksumCheck::kSkip);
      CHECK(igmp.ok() == (len >= kIgmpMinSize));
      // With the checksum checked, only the whole message verifies.
      if (len < ip->payload.size()) CHECK_FALSE(ParseIgmp(msg).ok());
    }
  }
  auto ip6 = ParseIpv6(Bytes(testing::kMldv2ReportJoin).subspan(14));
  REQUIRE(ip6.ok());
  for (size_t len = 0; len <= ip6->payload.size(); ++len) {
    std::vector<std::byte> msg(ip6->payload.begin(), ip6->payload.begin() + len);
    if (len > 0) Store8(msg.data(), kIcmpv6MldQuery);  // read it as a query of that size
    auto icmp = ParseIcmpv6(msg, ip6->src, ip6->dst, ChecksumCheck::kSkip);
    if (!icmp.ok()) continue;
    auto q = ParseMldQuery(*icmp);
    if (q.ok()) CHECK(len >= kMldv1Size);
  }
}

}  // namespace
}  // namespace ringstamp
