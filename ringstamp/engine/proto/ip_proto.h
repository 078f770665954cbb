// ip_proto.h — IP protocol / IPv6 next-header numbers used by the codecs.
//
// Example:
// Given: #include "ringstamp/engine/proto/ipv4.h"
// Given: #include "ringstamp/engine/proto/udp.h"
// Given: const Ipv4View& ip
//   if (ip.protocol == kIpProtoUdp) auto udp = ParseUdp(ip.payload, ip.src, ip.dst);
//
// Constants only (IANA "Assigned Internet Protocol Numbers").
#pragma once

#include <cstdint>

namespace ringstamp {

inline constexpr uint8_t kIpProtoHopByHop = 0;  // IPv6 Hop-by-Hop Options
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoIgmp = 2;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoRouting = 43;   // IPv6 Routing header
inline constexpr uint8_t kIpProtoFragment = 44;  // IPv6 Fragment header
inline constexpr uint8_t kIpProtoEsp = 50;
inline constexpr uint8_t kIpProtoAh = 51;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
inline constexpr uint8_t kIpProtoNoNext = 59;    // IPv6 No Next Header
inline constexpr uint8_t kIpProtoDestOpts = 60;  // IPv6 Destination Options
inline constexpr uint8_t kIpProtoMobility = 135;
inline constexpr uint8_t kIpProtoHip = 139;
inline constexpr uint8_t kIpProtoShim6 = 140;
inline constexpr uint8_t kIpProtoExperimental1 = 253;  // RFC 3692 experimentation
inline constexpr uint8_t kIpProtoExperimental2 = 254;

}  // namespace ringstamp
