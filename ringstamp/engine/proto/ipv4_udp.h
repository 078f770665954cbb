// ipv4_udp.h — ParseIpv4Udp: the one-pass parse of the common IPv4 UDP datagram (no IP options,
// not a fragment), for the relay's per-frame path.
//
// Example:
// Given: std::span<const std::byte> packet; bool trusted; void Slow(); void Use(const IpUdpView&)
//   IpUdpView v;
//   if (ParseIpv4Udp(packet, trusted ? ChecksumCheck::kSkip : ChecksumCheck::kVerify, &v)) {
//     Use(v);  // v.dst, v.dst_port, v.payload ...
//   } else {
//     Slow();  // ParseIpv4 + ParseUdp: the general parse, and the reason a packet is refused
//   }
//
// It accepts exactly the packets ParseIpv4 followed by ParseUdp accept that have a 20-byte IP
// header, no fragment bits and protocol UDP, and gives the same fields; anything else (options,
// fragments, other protocols, anything malformed) returns false and is for the general parse to
// take or refuse with its reason. It checks what they check, in one pass with no intermediate
// views: version, lengths, the header checksum (five 32-bit adds), the UDP length and, unless
// skipped, the UDP checksum. Any thread, no allocation; a few ns plus the UDP checksum's
// ~0.1 ns per byte when it is verified.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/checksum.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/udp.h"

namespace ringstamp {

// True when `packet` (the Ethernet payload) is a well-formed IPv4 UDP datagram with a 20-byte
// header that is not a fragment; *out is then filled. False: take the general parse.
bool ParseIpv4Udp(std::span<const std::byte> packet, ChecksumCheck check, IpUdpView* out);

}  // namespace ringstamp
