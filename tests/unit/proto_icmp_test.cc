// Tests for ringstamp/engine/proto/icmp.h and ndp.h: echo parse/build, NDP validity rules.
#include <doctest/doctest.h>

#include <cstring>
#include <string_view>
#include <vector>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/icmp.h"
#include "ringstamp/engine/proto/ip_proto.h"
#include "ringstamp/engine/proto/ipv4.h"
#include "ringstamp/engine/proto/ipv6.h"
#include "ringstamp/engine/proto/multicast.h"
#include "ringstamp/engine/proto/ndp.h"
#include "tests/unit/fixtures/proto_golden_frames.h"
#include "tests/unit/fixtures/proto_test_util.h"

namespace ringstamp {
namespace {

using testing::At;
using testing::Bytes;
using testing::Copy;
using testing::Ip;

constexpr MacAddress kMacA = {{0x02, 0, 0, 0, 0, 0x0a}};
constexpr MacAddress kMacB = {{0x02, 0, 0, 0, 0, 0x0b}};

Ipv6View Ip6(std::span<const std::byte> frame) {
  auto ip = ParseIpv6(frame.subspan(14));
  REQUIRE(ip.ok());
  return *ip;
}

IcmpView Icmp6(const Ipv6View& ip) {
  auto icmp = ParseIcmpv6(ip.payload, ip.src, ip.dst);
  REQUIRE(icmp.ok());
  return *icmp;
}

TEST_CASE("proto: ICMPv4 echo request and reply parse and rebuild byte for byte") {
  for (auto frame : {Bytes(testing::kIcmpEchoRequest), Bytes(testing::kIcmpEchoReply)}) {
    auto ip = ParseIpv4(frame.subspan(14));
    REQUIRE(ip.ok());
    auto icmp = ParseIcmpv4(ip->payload);
    REQUIRE(icmp.ok());
    const bool reply = icmp->type == kIcmpv4EchoReply;
    CHECK((reply || icmp->type == kIcmpv4EchoRequest));
    CHECK(icmp->code == 0);
    CHECK(icmp->echo_seq() == 1);
    CHECK(icmp->body.size() == 32);
    // `ping -p 52494e47` fills the data after its 16-byte timeval with the pattern.
    CHECK(At(icmp->body, 16) == 0x52);
    CHECK(At(icmp->body, 31) == 0x47);

    std::vector<std::byte> out(ip->payload.size());
    std::memcpy(out.data() + 8, icmp->body.data(), icmp->body.size());
    REQUIRE(BuildIcmpv4Echo(out, {reply, icmp->echo_id(), icmp->echo_seq()}, icmp->body.size()) ==
            out.size());
    CHECK(std::memcmp(out.data(), ip->payload.data(), out.size()) == 0);
  }
}

TEST_CASE("proto: ICMPv4 checksum, truncation and build limits") {
  auto ip = ParseIpv4(Bytes(testing::kIcmpEchoRequest).subspan(14));
  REQUIRE(ip.ok());
  auto bad = Copy(ip->payload);
  bad[20] ^= std::byte{0x01};
  CHECK(ParseIcmpv4(bad).error() == ParseError::kIcmpBadChecksum);
  CHECK(ParseIcmpv4(bad, ChecksumCheck::kSkip).ok());
  for (size_t len = 0; len < 8; ++len) {
    CHECK(ParseIcmpv4(ip->payload.first(len)).error() == ParseError::kIcmpTruncated);
  }
  std::vector<std::byte> out(16);
  CHECK(BuildIcmpv4Echo(out, {}, 8) == 16);
  CHECK(ParseIcmpv4(out).ok());
  CHECK(BuildIcmpv4Echo(out, {}, 9) == 0);
}

TEST_CASE("proto: ICMPv6 echo parse and rebuild with the pseudo-header checksum") {
  for (auto frame : {Bytes(testing::kIcmpv6EchoRequest), Bytes(testing::kIcmpv6EchoReply)}) {
    const Ipv6View ip = Ip6(frame);
    const IcmpView icmp = Icmp6(ip);
    const bool reply = icmp.type == kIcmpv6EchoReply;
    CHECK((reply || icmp.type == kIcmpv6EchoRequest));
    CHECK(icmp.echo_seq() == 1);
    CHECK(icmp.body.size() == 16);
    std::vector<std::byte> out(ip.payload.size());
    std::memcpy(out.data() + 8, icmp.body.data(), icmp.body.size());
    REQUIRE(BuildIcmpv6Echo(out, {reply, icmp.echo_id(), icmp.echo_seq()}, icmp.body.size(), ip.src,
                            ip.dst) == out.size());
    CHECK(std::memcmp(out.data(), ip.payload.data(), out.size()) == 0);
    // The pseudo-header is covered: other addresses fail.
    CHECK(ParseIcmpv6(ip.payload, ip.src, Ip("fd00::3")).error() == ParseError::kIcmpBadChecksum);
    CHECK(ParseIcmpv6(ip.payload, ip.src, Ip("10.0.0.1")).error() == ParseError::kIcmpBadChecksum);
    CHECK(ParseIcmpv6(ip.payload, ip.src, Ip("fd00::3"), ChecksumCheck::kSkip).ok());
  }
  std::vector<std::byte> out(8);
  CHECK(BuildIcmpv6Echo(out, {}, 0, Ip("10.0.0.1"), Ip("fd00::1")) == 0);
  CHECK(BuildIcmpv6Echo(out, {}, 1, Ip("fd00::1"), Ip("fd00::2")) == 0);
}

TEST_CASE("proto: NDP solicitation and advertisement from the kernel parse and rebuild") {
  {
    const Ipv6View ip = Ip6(Bytes(testing::kNeighborSolicitation));
    const IcmpView icmp = Icmp6(ip);
    auto ns = ParseNeighborSolicitation(ip, icmp);
    REQUIRE(ns.ok());
    CHECK(ns->target == Ip("fd00::2"));
    REQUIRE(ns->source_mac.has_value());
    CHECK(*ns->source_mac == kMacA);
    CHECK(ip.dst == SolicitedNodeAddress(ns->target));
    std::vector<std::byte> out(64);
    REQUIRE(BuildNeighborSolicitation(out, *ns, ip.src, ip.dst) == 32);
    CHECK(std::memcmp(out.data(), ip.payload.data(), 32) == 0);
    CHECK(ParseNeighborAdvertisement(ip, icmp).error() == ParseError::kNdpNotNeighborMessage);
  }
  {
    const Ipv6View ip = Ip6(Bytes(testing::kNeighborAdvertisement));
    const IcmpView icmp = Icmp6(ip);
    auto na = ParseNeighborAdvertisement(ip, icmp);
    REQUIRE(na.ok());
    CHECK(na->target == Ip("fd00::2"));
    CHECK_FALSE(na->router);
    CHECK(na->solicited);
    CHECK(na->override_flag);
    REQUIRE(na->target_mac.has_value());
    CHECK(*na->target_mac == kMacB);
    std::vector<std::byte> out(64);
    REQUIRE(BuildNeighborAdvertisement(out, *na, ip.src, ip.dst) == 32);
    CHECK(std::memcmp(out.data(), ip.payload.data(), 32) == 0);
    CHECK(ParseNeighborSolicitation(ip, icmp).error() == ParseError::kNdpNotNeighborMessage);
  }
}

TEST_CASE("proto: NDP duplicate address detection skips unknown options") {
  const Ipv6View ip = Ip6(Bytes(testing::kNeighborSolicitationDad));
  const IcmpView icmp = Icmp6(ip);
  auto ns = ParseNeighborSolicitation(ip, icmp);
  REQUIRE(ns.ok());
  CHECK(ip.src.IsUnspecified());
  CHECK(ns->target == Ip("fe80::ff:fe00:b"));
  CHECK_FALSE(ns->source_mac.has_value());  // the nonce option (14) is not a link-layer address
}

// A message `bytes` (checksum not checked) inside `ip`.
IcmpView ViewOf(const std::vector<std::byte>& bytes) {
  auto icmp = ParseIcmpv6(bytes, IpAddress(), IpAddress(), ChecksumCheck::kSkip);
  REQUIRE(icmp.ok());
  return *icmp;
}

TEST_CASE("proto: NDP validity checks of RFC 4861 section 7.1") {
  const Ipv6View ip = Ip6(Bytes(testing::kNeighborSolicitation));
  const auto msg = Copy(ip.payload);

  Ipv6View hop = ip;
  hop.hop_limit = 254;
  CHECK(ParseNeighborSolicitation(hop, ViewOf(msg)).error() == ParseError::kNdpBadHopLimit);

  auto code = msg;
  Store8(code.data() + 1, 1);
  CHECK(ParseNeighborSolicitation(ip, ViewOf(code)).error() == ParseError::kNdpBadCode);

  auto multicast_target = msg;
  Store8(multicast_target.data() + 8, 0xff);
  CHECK(ParseNeighborSolicitation(ip, ViewOf(multicast_target)).error() ==
        ParseError::kNdpMulticastTarget);

  auto zero_option = msg;
  Store8(zero_option.data() + 25, 0);
  CHECK(ParseNeighborSolicitation(ip, ViewOf(zero_option)).error() == ParseError::kNdpBadOption);
  auto long_option = msg;
  Store8(long_option.data() + 25, 2);  // 16 bytes, only 8 present
  CHECK(ParseNeighborSolicitation(ip, ViewOf(long_option)).error() == ParseError::kNdpBadOption);
  auto odd_tail = msg;
  odd_tail.push_back(std::byte{1});  // a lone option type byte
  CHECK(ParseNeighborSolicitation(ip, ViewOf(odd_tail)).error() == ParseError::kNdpBadOption);

  CHECK(ParseNeighborSolicitation(ip, ViewOf(Copy(std::span(msg).first(23)))).error() ==
        ParseError::kNdpTruncated);
  auto no_options = ParseNeighborSolicitation(ip, ViewOf(Copy(std::span(msg).first(24))));
  REQUIRE(no_options.ok());
  CHECK_FALSE(no_options->source_mac.has_value());

  // From the unspecified address: no source link-layer option, and only to a solicited-node group.
  Ipv6View dad = ip;
  dad.src = Ip("::");
  CHECK(ParseNeighborSolicitation(dad, ViewOf(msg)).error() == ParseError::kNdpBadSource);
  CHECK(ParseNeighborSolicitation(dad, ViewOf(Copy(std::span(msg).first(24)))).ok());
  dad.dst = Ip("fd00::2");
  CHECK(ParseNeighborSolicitation(dad, ViewOf(Copy(std::span(msg).first(24)))).error() ==
        ParseError::kNdpBadSource);

  // A solicited advertisement must not go to a multicast group.
  const Ipv6View na_ip = Ip6(Bytes(testing::kNeighborAdvertisement));
  Ipv6View to_all = na_ip;
  to_all.dst = kAllNodesV6;
  CHECK(ParseNeighborAdvertisement(to_all, ViewOf(Copy(na_ip.payload))).error() ==
        ParseError::kNdpBadSource);
  auto unsolicited = Copy(na_ip.payload);
  Store8(unsolicited.data() + 4, 0x20);  // O only
  auto na = ParseNeighborAdvertisement(to_all, ViewOf(unsolicited));
  REQUIRE(na.ok());
  CHECK_FALSE(na->solicited);
  CHECK(na->override_flag);
}

TEST_CASE("proto: NDP build without the link-layer option and its limits") {
  const IpAddress me = Ip("fd00::5");
  const IpAddress peer = Ip("fd00::6");
  std::vector<std::byte> out(32);
  REQUIRE(BuildNeighborAdvertisement(out, {.target = me, .router = true}, me, peer) == 24);
  Ipv6View ip;
  ip.hop_limit = kNdpHopLimit;
  ip.src = me;
  ip.dst = peer;
  auto icmp = ParseIcmpv6(std::span(out).first(24), me, peer);
  REQUIRE(icmp.ok());
  auto na = ParseNeighborAdvertisement(ip, *icmp);
  REQUIRE(na.ok());
  CHECK(na->router);
  CHECK_FALSE(na->target_mac.has_value());

  CHECK(BuildNeighborSolicitation(std::span(out).first(31), {.target = peer, .source_mac = kMacA},
                                  me, SolicitedNodeAddress(peer)) == 0);
  CHECK(BuildNeighborSolicitation(out, {.target = Ip("10.0.0.1")}, me, peer) == 0);
  CHECK(BuildNeighborSolicitation(out, {.target = peer}, Ip("10.0.0.1"), peer) == 0);
}

TEST_CASE("proto: NDP parse on every truncation of kernel messages is malformed or consistent") {
  for (auto frame : {Bytes(testing::kNeighborSolicitation), Bytes(testing::kNeighborAdvertisement),
                     Bytes(testing::kNeighborSolicitationDad)}) {
    const Ipv6View ip = Ip6(frame);
    for (size_t len = 0; len <= ip.payload.size(); ++len) {
      CAPTURE(len);
      // A heap copy of exactly `len` bytes so that ASan sees any overread.
      const std::vector<std::byte> msg(ip.payload.begin(), ip.payload.begin() + len);
      auto icmp = ParseIcmpv6(msg, ip.src, ip.dst, ChecksumCheck::kSkip);
      if (!icmp.ok()) {
        CHECK(icmp.error() == ParseError::kIcmpTruncated);
        continue;
      }
      auto ns = ParseNeighborSolicitation(ip, *icmp);
      auto na = ParseNeighborAdvertisement(ip, *icmp);
      if (len < kNdpMessageSize) {
        CHECK_FALSE(ns.ok());
        CHECK_FALSE(na.ok());
      }
      // A link-layer option is only reported when all 8 of its bytes are present.
      if (ns.ok() && ns->source_mac) CHECK(len >= 32);
      if (na.ok() && na->target_mac) CHECK(len >= 32);
    }
  }
}

}  // namespace
}  // namespace ringstamp
