// ipv6.h — IPv6 header: parse (extension headers walked to the upper layer) and build.
//
// Example:
// Given: #include "ringstamp/engine/proto/ip_proto.h"
// Given: #include "ringstamp/engine/proto/ethernet.h"
// Given: #include "ringstamp/engine/proto/udp.h"
// Given: const EthernetView& eth; std::span<std::byte> out; const IpAddress& a; const IpAddress& b; size_t udp_len
//   ParseResult<Ipv6View> ip = ParseIpv6(eth.payload);
//   if (ip && ip->upper_protocol == kIpProtoUdp && !ip->is_fragment()) auto udp = ParseUdp(ip->payload, ip->src, ip->dst);
//   size_t hl = BuildIpv6(out, {.next_header = kIpProtoUdp, .src = a, .dst = b}, udp_len);
//
// Parse checks 40 bytes present, version 6 and payload length <= bytes
// present (the view is trimmed to it: Ethernet padding is dropped), then
// walks hop-by-hop, routing, fragment, destination options, AH, mobility,
// HIP, shim6 and the experimental 253/254 headers until an upper-layer
// protocol (or ESP, or No Next Header) is reached. The walk is bounded: at
// most kMaxIpv6ExtensionHeaders headers; hop-by-hop only first; each header
// type at most once, destination options at most twice (RFC 8200 §4.1) —
// a repeat is reported as a loop (kIpv6ExtensionHeaderRepeated). A fragment
// header sets is_fragment(); after a non-first fragment the walk stops, since
// the upper-layer header is not in this packet. Nothing is reassembled.
// Views point into the caller's bytes. Any thread, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/parse_error.h"

namespace ringstamp {

inline constexpr size_t kIpv6HeaderSize = 40;
inline constexpr size_t kMaxIpv6ExtensionHeaders = 8;
inline constexpr size_t kIpv6FragmentHeaderSize = 8;
// Hop-by-hop header holding only a Router Alert option (RFC 2711), as MLD uses.
inline constexpr size_t kIpv6RouterAlertHopByHopSize = 8;

struct Ipv6View {
  uint8_t traffic_class = 0;  // DSCP (6 bits) + ECN (2 bits)
  uint32_t flow_label = 0;    // 20 bits
  uint16_t payload_length = 0;
  uint8_t next_header = 0;  // as in the fixed header
  uint8_t hop_limit = 0;
  uint8_t upper_protocol = 0;  // after the extension headers (kIpProtoNoNext, kIpProtoEsp, ...)
  uint8_t extension_count = 0;
  uint16_t header_size = 0;  // 40 + all extension headers walked
  IpAddress src{};
  IpAddress dst{};
  // Fragment header, when present.
  bool has_fragment_header = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;  // in bytes
  uint32_t fragment_id = 0;
  std::span<const std::byte> payload{};  // upper-layer bytes (or fragment data)

  // True for every packet with a fragment header except an atomic fragment
  // (offset 0, M clear: RFC 6946), which holds the whole datagram.
  constexpr bool is_fragment() const {
    return has_fragment_header && (more_fragments || fragment_offset != 0);
  }
  constexpr uint8_t dscp() const { return traffic_class >> 2; }
  constexpr uint8_t ecn() const { return traffic_class & 0x3; }
};

ParseResult<Ipv6View> ParseIpv6(std::span<const std::byte> packet);

struct Ipv6Header {
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;  // low 20 bits used
  uint8_t next_header = 0;
  uint8_t hop_limit = 64;
  IpAddress src{};  // must be IPv6
  IpAddress dst{};  // must be IPv6
};

// Writes the 40-byte fixed header at the start of `out` for `payload_size`
// bytes (extension headers included) that follow it. Returns 40, or 0 when
// header + payload do not fit `out`, exceed 65535 payload bytes, or an
// address is not IPv6.
size_t BuildIpv6(std::span<std::byte> out, const Ipv6Header& header, size_t payload_size);

// Writes a hop-by-hop header with a Router Alert option (value 0: MLD) and
// PadN, followed by `next_header`. Returns 8, or 0 when `out` is too small.
size_t BuildIpv6RouterAlertHopByHop(std::span<std::byte> out, uint8_t next_header);

}  // namespace ringstamp
