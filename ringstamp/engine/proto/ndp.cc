#include "ringstamp/engine/proto/ndp.h"

#include <netinet/icmp6.h>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/ip_proto.h"
#include "ringstamp/engine/proto/multicast.h"

namespace ringstamp {

static_assert(sizeof(nd_neighbor_solicit) == kNdpMessageSize);
static_assert(sizeof(nd_neighbor_advert) == kNdpMessageSize);
static_assert(ND_NEIGHBOR_SOLICIT == kIcmpv6NeighborSolicitation &&
              ND_NEIGHBOR_ADVERT == kIcmpv6NeighborAdvertisement);

namespace {

constexpr uint8_t kOptionSourceLinkLayer = 1;
constexpr uint8_t kOptionTargetLinkLayer = 2;

// Checks shared by NS and NA (RFC 4861 §7.1.1 and §7.1.2).
ParseError CheckCommon(const Ipv6View& ip, const IcmpView& icmp, uint8_t type) {
  if (icmp.type != type) return ParseError::kNdpNotNeighborMessage;
  if (ip.hop_limit != kNdpHopLimit) return ParseError::kNdpBadHopLimit;
  if (icmp.code != 0) return ParseError::kNdpBadCode;
  if (icmp.message.size() < kNdpMessageSize) return ParseError::kNdpTruncated;
  if (IpAddress::Load6(icmp.message.data() + 8).IsMulticast()) {
    return ParseError::kNdpMulticastTarget;
  }
  return ParseError::kNone;
}

// Walks the options after the 24-byte message; picks the Ethernet address of
// option `wanted`. Sets `present` when that option appears at all.
ParseError WalkOptions(std::span<const std::byte> message, uint8_t wanted,
                       std::optional<MacAddress>& mac, bool& present) {
  size_t at = kNdpMessageSize;
  while (at < message.size()) {
    if (message.size() - at < 2) return ParseError::kNdpBadOption;
    const uint8_t type = Load8(message.data() + at);
    const size_t size = size_t{Load8(message.data() + at + 1)} * 8;
    if (size == 0 || size > message.size() - at) return ParseError::kNdpBadOption;
    if (type == wanted) {
      present = true;
      if (size == kNdpLinkLayerOptionSize && !mac) mac = MacAddress::Load(message.data() + at + 2);
    }
    at += size;
  }
  return ParseError::kNone;
}

// ff02::1:ff00:0/104 (RFC 4291 §2.7.1).
bool IsSolicitedNode(const IpAddress& a) {
  static constexpr uint8_t kPrefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
  if (!a.is_v6()) return false;
  const auto b = a.bytes();
  for (size_t i = 0; i < sizeof(kPrefix); ++i) {
    if (b[i] != kPrefix[i]) return false;
  }
  return true;
}

size_t WriteMessage(std::span<std::byte> out, uint8_t type, uint32_t flags, const IpAddress& target,
                    uint8_t option_type, const std::optional<MacAddress>& mac, const IpAddress& src,
                    const IpAddress& dst) {
  if (!target.is_v6() || !src.is_v6() || !dst.is_v6()) return 0;
  const size_t size = kNdpMessageSize + (mac ? kNdpLinkLayerOptionSize : 0);
  if (out.size() < size) return 0;
  std::byte* p = out.data();
  Store8(p, type);
  Store8(p + 1, 0);
  StoreBe16(p + 2, 0);
  StoreBe32(p + 4, flags);
  target.StoreTo(p + 8);
  if (mac) {
    Store8(p + 24, option_type);
    Store8(p + 25, 1);
    mac->StoreTo(p + 26);
  }
  StoreBe16(p + 2, UpperLayerChecksum(src, dst, kIpProtoIcmpv6, out.first(size)));
  return size;
}

}  // namespace

ParseResult<NeighborSolicitation> ParseNeighborSolicitation(const Ipv6View& ip,
                                                            const IcmpView& icmp) {
  if (const ParseError e = CheckCommon(ip, icmp, kIcmpv6NeighborSolicitation);
      e != ParseError::kNone) {
    return e;
  }
  NeighborSolicitation ns;
  ns.target = IpAddress::Load6(icmp.message.data() + 8);
  bool present = false;
  if (const ParseError e =
          WalkOptions(icmp.message, kOptionSourceLinkLayer, ns.source_mac, present);
      e != ParseError::kNone) {
    return e;
  }
  if (ip.src.IsUnspecified() && (present || !IsSolicitedNode(ip.dst))) {
    return ParseError::kNdpBadSource;
  }
  return ns;
}

ParseResult<NeighborAdvertisement> ParseNeighborAdvertisement(const Ipv6View& ip,
                                                              const IcmpView& icmp) {
  if (const ParseError e = CheckCommon(ip, icmp, kIcmpv6NeighborAdvertisement);
      e != ParseError::kNone) {
    return e;
  }
  NeighborAdvertisement na;
  na.target = IpAddress::Load6(icmp.message.data() + 8);
  na.router = (icmp.rest & 0x80000000u) != 0;
  na.solicited = (icmp.rest & 0x40000000u) != 0;
  na.override_flag = (icmp.rest & 0x20000000u) != 0;
  if (na.solicited && ip.dst.IsMulticast()) return ParseError::kNdpBadSource;
  bool present = false;
  if (const ParseError e =
          WalkOptions(icmp.message, kOptionTargetLinkLayer, na.target_mac, present);
      e != ParseError::kNone) {
    return e;
  }
  return na;
}

size_t BuildNeighborSolicitation(std::span<std::byte> out, const NeighborSolicitation& ns,
                                 const IpAddress& src, const IpAddress& dst) {
  return WriteMessage(out, kIcmpv6NeighborSolicitation, 0, ns.target, kOptionSourceLinkLayer,
                      ns.source_mac, src, dst);
}

size_t BuildNeighborAdvertisement(std::span<std::byte> out, const NeighborAdvertisement& na,
                                  const IpAddress& src, const IpAddress& dst) {
  const uint32_t flags = (na.router ? 0x80000000u : 0u) | (na.solicited ? 0x40000000u : 0u) |
                         (na.override_flag ? 0x20000000u : 0u);
  return WriteMessage(out, kIcmpv6NeighborAdvertisement, flags, na.target, kOptionTargetLinkLayer,
                      na.target_mac, src, dst);
}

}  // namespace ringstamp
