// ndp.h — NDP neighbour solicitation and advertisement (RFC 4861 §4.3, §4.4).
//
// Example:
// Given: #include "ringstamp/engine/proto/icmp.h"
// Given: const Ipv6View& ip; std::span<std::byte> out; const IpAddress& my_ip; const MacAddress& my_mac
//   auto icmp = ParseIcmpv6(ip.payload, ip.src, ip.dst);
//   auto ns = ParseNeighborSolicitation(ip, *icmp);
//   if (ns && ns->target == my_ip) BuildNeighborAdvertisement(out, {.target = my_ip,
//       .solicited = true, .override_flag = true, .target_mac = my_mac}, my_ip, ip.src);
//
// Parse takes the IPv6 and ICMPv6 views (checksum already verified by
// ParseIcmpv6) and applies the validity checks of RFC 4861 §7.1: hop limit
// 255, code 0, at least 24 bytes, target not multicast, every option of
// non-zero length inside the message; for a solicitation from the
// unspecified address, a solicited-node destination and no source
// link-layer option; for an advertisement to a multicast address, S clear.
// Unknown options (nonce, ...) are skipped. The link-layer option is read
// when it is 8 bytes long (Ethernet). Build writes the ICMPv6 message with
// its checksum; the caller puts it in an IPv6 packet with hop limit
// kNdpHopLimit. Any thread, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "ringstamp/engine/proto/icmp.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/ipv6.h"
#include "ringstamp/engine/proto/mac_address.h"
#include "ringstamp/engine/proto/parse_error.h"

namespace ringstamp {

inline constexpr uint8_t kNdpHopLimit = 255;
inline constexpr size_t kNdpMessageSize = 24;         // without options
inline constexpr size_t kNdpLinkLayerOptionSize = 8;  // Ethernet address option

struct NeighborSolicitation {
  IpAddress target{};
  std::optional<MacAddress> source_mac{};  // source link-layer address option
};

struct NeighborAdvertisement {
  IpAddress target{};
  bool router = false;
  bool solicited = false;
  bool override_flag = false;
  std::optional<MacAddress> target_mac{};  // target link-layer address option
};

ParseResult<NeighborSolicitation> ParseNeighborSolicitation(const Ipv6View& ip,
                                                            const IcmpView& icmp);
ParseResult<NeighborAdvertisement> ParseNeighborAdvertisement(const Ipv6View& ip,
                                                              const IcmpView& icmp);

// Write the ICMPv6 message (24 bytes, 32 with the link-layer option) at the
// start of `out`, checksum computed for `src` -> `dst`. Return its size, or 0
// when it does not fit or an address (target, src, dst) is not IPv6.
size_t BuildNeighborSolicitation(std::span<std::byte> out, const NeighborSolicitation& ns,
                                 const IpAddress& src, const IpAddress& dst);
size_t BuildNeighborAdvertisement(std::span<std::byte> out, const NeighborAdvertisement& na,
                                  const IpAddress& src, const IpAddress& dst);

}  // namespace ringstamp
