// Tests for ringstamp/engine/proto/ipv6.h: fields, extension-header walk, fragments, build, malformed.
#include <doctest/doctest.h>

#include <cstring>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/ip_proto.h"
#include "ringstamp/engine/proto/ipv6.h"
#include "ringstamp/engine/proto/udp.h"
#include "tests/unit/fixtures/proto_golden_frames.h"
#include "tests/unit/fixtures/proto_test_util.h"

namespace ringstamp {
namespace {

using testing::At;
using testing::Bytes;
using testing::Copy;
using testing::Ip;
using testing::L3;

// An IPv6 packet fd00::1 -> fd00::2 whose extension headers are `types`
// (each 8 bytes, AH written with length 0 = 8 bytes), then 8 bytes of
// `upper` payload.
std::vector<std::byte> Chain(std::initializer_list<uint8_t> types, uint8_t upper = kIpProtoUdp) {
  std::vector<std::byte> p(40 + 8 * types.size() + 8);
  const std::vector<uint8_t> list(types);
  const uint8_t first = list.empty() ? upper : list[0];
  REQUIRE(BuildIpv6(p, {.next_header = first, .src = Ip("fd00::1"), .dst = Ip("fd00::2")},
                    p.size() - 40) == 40);
  for (size_t i = 0; i < list.size(); ++i) {
    std::byte* h = p.data() + 40 + 8 * i;
    Store8(h, i + 1 < list.size() ? list[i + 1] : upper);
    Store8(h + 1, 0);
  }
  return p;
}

TEST_CASE("proto: ParseIpv6 reads a kernel ICMPv6 echo") {
  auto ip = ParseIpv6(L3(Bytes(testing::kIcmpv6EchoRequest)));
  REQUIRE(ip.ok());
  CHECK(ip->traffic_class == 0);
  CHECK(ip->flow_label == 0xa6cb6);
  CHECK(ip->payload_length == 24);
  CHECK(ip->next_header == kIpProtoIcmpv6);
  CHECK(ip->upper_protocol == kIpProtoIcmpv6);
  CHECK(ip->hop_limit == 64);
  CHECK(ip->src == Ip("fd00::1"));
  CHECK(ip->dst == Ip("fd00::2"));
  CHECK(ip->extension_count == 0);
  CHECK(ip->header_size == 40);
  CHECK(ip->payload.size() == 24);
  CHECK_FALSE(ip->is_fragment());
}

TEST_CASE("proto: ParseIpv6 walks hop-by-hop, destination options and routing to UDP") {
  auto ip = ParseIpv6(L3(Bytes(testing::kIpv6ExtensionChain)));
  REQUIRE(ip.ok());
  CHECK(ip->traffic_class == 0x2e);
  CHECK(ip->dscp() == 0x0b);
  CHECK(ip->ecn() == 2);
  CHECK(ip->flow_label == 0xbeef);
  CHECK(ip->hop_limit == 9);
  CHECK(ip->next_header == kIpProtoHopByHop);
  CHECK(ip->extension_count == 3);
  CHECK(ip->header_size == 40 + 8 + 8 + 24);
  CHECK(ip->upper_protocol == kIpProtoUdp);
  auto udp = ParseUdp(ip->payload, ip->src, ip->dst);
  REQUIRE(udp.ok());
  CHECK(udp->src_port == 1111);
  CHECK(udp->dst_port == 2222);
  CHECK(std::string_view(reinterpret_cast<const char*>(udp->payload.data()), 3) == "ext");

  // MLD's hop-by-hop Router Alert (kernel frame).
  auto mld = ParseIpv6(L3(Bytes(testing::kMldv2ReportJoin)));
  REQUIRE(mld.ok());
  CHECK(mld->next_header == kIpProtoHopByHop);
  CHECK(mld->upper_protocol == kIpProtoIcmpv6);
  CHECK(mld->hop_limit == 1);
  CHECK(mld->header_size == 48);
}

TEST_CASE("proto: ParseIpv6 reports fragments and stops after a non-first one") {
  auto first = ParseIpv6(L3(Bytes(testing::kIpv6Fragment)));
  REQUIRE(first.ok());
  CHECK(first->has_fragment_header);
  CHECK(first->is_fragment());
  CHECK(first->more_fragments);
  CHECK(first->fragment_offset == 0);
  CHECK(first->fragment_id == 0xcafe);
  CHECK(first->upper_protocol == kIpProtoUdp);
  CHECK(first->payload.size() == 8 + 16);

  // A later fragment: offset 1448 bytes, whatever follows is data, not headers.
  auto later = Chain({kIpProtoFragment}, kIpProtoDestOpts);
  StoreBe16(later.data() + 42, 1448);  // offset 181 * 8, M clear
  auto ip = ParseIpv6(later);
  REQUIRE(ip.ok());
  CHECK(ip->is_fragment());
  CHECK_FALSE(ip->more_fragments);
  CHECK(ip->fragment_offset == 1448);
  CHECK(ip->upper_protocol == kIpProtoDestOpts);  // not walked: it is in the first fragment
  CHECK(ip->extension_count == 1);
  CHECK(ip->payload.size() == 8);

  // An atomic fragment (offset 0, M clear) holds the whole datagram.
  auto atomic = ParseIpv6(Chain({kIpProtoFragment}));
  REQUIRE(atomic.ok());
  CHECK(atomic->has_fragment_header);
  CHECK_FALSE(atomic->is_fragment());
  CHECK(atomic->upper_protocol == kIpProtoUdp);
}

TEST_CASE("proto: ParseIpv6 accepts the RFC 8200 order and sizes of extension headers") {
  auto full = ParseIpv6(Chain({kIpProtoHopByHop, kIpProtoDestOpts, kIpProtoRouting,
                               kIpProtoFragment, kIpProtoAh, kIpProtoDestOpts}));
  REQUIRE(full.ok());
  CHECK(full->extension_count == 6);
  CHECK(full->upper_protocol == kIpProtoUdp);
  CHECK(full->payload.size() == 8);

  // Header sizes from the length byte: (n + 1) * 8, AH (n + 2) * 4.
  std::vector<std::byte> p(40 + 16 + 12 + 8);
  REQUIRE(BuildIpv6(p,
                    {.next_header = kIpProtoDestOpts, .src = Ip("fd00::1"), .dst = Ip("fd00::2")},
                    p.size() - 40) == 40);
  Store8(p.data() + 40, kIpProtoAh);
  Store8(p.data() + 41, 1);  // 16 bytes
  Store8(p.data() + 56, kIpProtoIcmpv6);
  Store8(p.data() + 57, 1);  // AH: (1 + 2) * 4 = 12 bytes
  auto sized = ParseIpv6(p);
  REQUIRE(sized.ok());
  CHECK(sized->header_size == 40 + 16 + 12);
  CHECK(sized->upper_protocol == kIpProtoIcmpv6);

  // No Next Header: an empty upper layer even if bytes follow.
  auto none = ParseIpv6(Chain({kIpProtoDestOpts}, kIpProtoNoNext));
  REQUIRE(none.ok());
  CHECK(none->upper_protocol == kIpProtoNoNext);
  CHECK(none->payload.empty());
  // ESP stops the walk: what follows is encrypted.
  auto esp = ParseIpv6(Chain({kIpProtoHopByHop}, kIpProtoEsp));
  REQUIRE(esp.ok());
  CHECK(esp->upper_protocol == kIpProtoEsp);
  CHECK(esp->payload.size() == 8);
}

TEST_CASE("proto: ParseIpv6 rejects extension loops, too many headers, misplaced hop-by-hop") {
  CHECK(ParseIpv6(Chain({kIpProtoDestOpts, kIpProtoDestOpts, kIpProtoDestOpts})).error() ==
        ParseError::kIpv6ExtensionHeaderRepeated);
  CHECK(ParseIpv6(Chain({kIpProtoRouting, kIpProtoRouting})).error() ==
        ParseError::kIpv6ExtensionHeaderRepeated);
  CHECK(ParseIpv6(Chain({kIpProtoFragment, kIpProtoDestOpts, kIpProtoFragment})).error() ==
        ParseError::kIpv6ExtensionHeaderRepeated);
  CHECK(ParseIpv6(Chain({kIpProtoDestOpts, kIpProtoHopByHop})).error() ==
        ParseError::kIpv6HopByHopNotFirst);
  CHECK(ParseIpv6(Chain({kIpProtoHopByHop, kIpProtoHopByHop})).error() ==
        ParseError::kIpv6HopByHopNotFirst);
  // Eight distinct headers are the limit; a ninth is too many.
  auto eight =
      ParseIpv6(Chain({kIpProtoHopByHop, kIpProtoDestOpts, kIpProtoRouting, kIpProtoFragment,
                       kIpProtoAh, kIpProtoMobility, kIpProtoHip, kIpProtoShim6}));
  REQUIRE(eight.ok());
  CHECK(eight->extension_count == 8);
  CHECK(ParseIpv6(Chain({kIpProtoHopByHop, kIpProtoDestOpts, kIpProtoRouting, kIpProtoFragment,
                         kIpProtoAh, kIpProtoMobility, kIpProtoHip, kIpProtoShim6,
                         kIpProtoExperimental1}))
            .error() == ParseError::kIpv6TooManyExtensionHeaders);

  // A self-referencing chain of 200 destination-options headers stops early.
  std::vector<std::byte> loop(40 + 8 * 200);
  REQUIRE(BuildIpv6(loop,
                    {.next_header = kIpProtoDestOpts, .src = Ip("fd00::1"), .dst = Ip("fd00::2")},
                    loop.size() - 40) == 40);
  for (size_t i = 0; i < 200; ++i) Store8(loop.data() + 40 + 8 * i, kIpProtoDestOpts);
  CHECK(ParseIpv6(loop).error() == ParseError::kIpv6ExtensionHeaderRepeated);
}

TEST_CASE("proto: ParseIpv6 rejects lying length fields") {
  const auto good = L3(Bytes(testing::kIpv6ExtensionChain));
  auto longer = Copy(good);
  StoreBe16(longer.data() + 4, static_cast<uint16_t>(good.size() - 40 + 1));
  CHECK(ParseIpv6(longer).error() == ParseError::kIpv6PayloadLengthBeyondPacket);
  // Payload length shorter than the headers: the walk runs out.
  auto shorter = Copy(good);
  StoreBe16(shorter.data() + 4, 20);
  CHECK(ParseIpv6(shorter).error() == ParseError::kIpv6ExtensionHeaderTruncated);
  // A header length byte pointing past the payload.
  auto bad_len = Copy(good);
  Store8(bad_len.data() + 41, 200);
  CHECK(ParseIpv6(bad_len).error() == ParseError::kIpv6ExtensionHeaderTruncated);
  auto v4 = Copy(good);
  Store8(v4.data(), 0x45);
  CHECK(ParseIpv6(v4).error() == ParseError::kIpv6BadVersion);
  CHECK(ParseIpv6(good.first(39)).error() == ParseError::kIpv6Truncated);

  // Padding after the payload is trimmed.
  auto padded = Copy(L3(Bytes(testing::kUdp6Datagram)));
  padded.resize(padded.size() + 6);
  auto ip = ParseIpv6(padded);
  REQUIRE(ip.ok());
  CHECK(ip->payload.size() == 26);
}

TEST_CASE("proto: ParseIpv6 on every truncation is malformed or consistent") {
  for (auto frame : {Bytes(testing::kIpv6ExtensionChain), Bytes(testing::kIpv6Fragment),
                     Bytes(testing::kMldv2ReportJoin)}) {
    const auto l3 = L3(frame);
    for (size_t len = 0; len <= l3.size(); ++len) {
      CAPTURE(len);
      auto ip = ParseIpv6(l3.first(len));
      if (!ip.ok()) continue;
      CHECK(len == l3.size());  // the payload length field makes every prefix short
      CHECK(ip->payload.data() >= l3.data());
      CHECK(ip->payload.data() + ip->payload.size() <= l3.data() + len);
    }
  }
}

TEST_CASE("proto: BuildIpv6 and the Router Alert hop-by-hop reproduce kernel headers") {
  for (auto frame : {Bytes(testing::kIcmpv6EchoRequest), Bytes(testing::kUdp6Datagram),
                     Bytes(testing::kMldv2ReportJoin), Bytes(testing::kNeighborAdvertisement)}) {
    const auto l3 = L3(frame);
    auto ip = ParseIpv6(l3);
    REQUIRE(ip.ok());
    std::vector<std::byte> out(l3.size());
    Ipv6Header h{.traffic_class = ip->traffic_class,
                 .flow_label = ip->flow_label,
                 .next_header = ip->next_header,
                 .hop_limit = ip->hop_limit,
                 .src = ip->src,
                 .dst = ip->dst};
    REQUIRE(BuildIpv6(out, h, ip->payload_length) == 40);
    size_t n = 40;
    if (ip->next_header == kIpProtoHopByHop) {
      n += BuildIpv6RouterAlertHopByHop(std::span(out).subspan(40), ip->upper_protocol);
    }
    CHECK(n == ip->header_size);
    CHECK(std::memcmp(out.data(), l3.data(), n) == 0);
  }
  std::vector<std::byte> out(48);
  const Ipv6Header h{.next_header = kIpProtoUdp, .src = Ip("fd00::1"), .dst = Ip("fd00::2")};
  CHECK(BuildIpv6(out, h, 8) == 40);
  CHECK(BuildIpv6(out, h, 9) == 0);
  CHECK(BuildIpv6(out, {.src = Ip("10.0.0.1"), .dst = Ip("fd00::2")}, 0) == 0);
  std::vector<std::byte> big(40 + 65536);
  CHECK(BuildIpv6(big, h, 65535) == 40);
  CHECK(BuildIpv6(big, h, 65536) == 0);
  CHECK(BuildIpv6RouterAlertHopByHop(std::span(out).first(7), kIpProtoIcmpv6) == 0);
}

}  // namespace
}  // namespace ringstamp
