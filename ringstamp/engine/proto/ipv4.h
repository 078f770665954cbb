// ipv4.h — IPv4 header: parse (options skipped, fragments flagged) and build.
//
// Example:
// Given: #include "ringstamp/engine/proto/ip_proto.h"
// Given: #include "ringstamp/engine/proto/ethernet.h"
// Given: #include "ringstamp/engine/proto/udp.h"
// Given: const EthernetView& eth; std::span<std::byte> out; const IpAddress& a; const IpAddress& b; size_t udp_len
//   ParseResult<Ipv4View> ip = ParseIpv4(eth.payload);
//   if (ip && !ip->is_fragment() && ip->protocol == kIpProtoUdp) auto udp = ParseUdp(ip->payload, ip->src, ip->dst);
//   size_t hl = BuildIpv4(out, {.ttl = 64, .protocol = kIpProtoUdp, .src = a, .dst = b}, udp_len);
//
// Parse checks, in order: 20 bytes present, version 4, IHL >= 5, IHL * 4
// bytes present, total length >= IHL * 4 and <= bytes present, header
// checksum. The payload view is trimmed to the total length, so Ethernet
// padding never reaches the upper layer. Options are exposed as bytes, not
// interpreted. A fragment (MF set or offset != 0) is reported by
// is_fragment(); nothing is reassembled. Views point into the caller's bytes.
// Any thread, no allocation; the checksum costs ~5 ns for 20 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/parse_error.h"

namespace ringstamp {

inline constexpr size_t kIpv4MinHeaderSize = 20;
inline constexpr size_t kIpv4MaxHeaderSize = 60;
inline constexpr size_t kIpv4MaxTotalLength = 65535;
// IP Router Alert option (RFC 2113), which IGMP messages carry.
inline constexpr std::byte kIpv4RouterAlertOption[4] = {std::byte{0x94}, std::byte{0x04},
                                                        std::byte{0x00}, std::byte{0x00}};

struct Ipv4View {
  uint8_t tos = 0;  // DSCP (6 bits) + ECN (2 bits)
  uint8_t ttl = 0;
  uint8_t protocol = 0;
  uint8_t header_size = 0;  // IHL * 4
  uint16_t total_length = 0;
  uint16_t id = 0;
  uint16_t checksum = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;  // in bytes (the field times 8)
  IpAddress src{};
  IpAddress dst{};
  std::span<const std::byte> options{};  // header_size - 20 bytes, may be empty
  std::span<const std::byte> payload{};  // total_length - header_size bytes

  constexpr bool is_fragment() const { return more_fragments || fragment_offset != 0; }
  constexpr uint8_t dscp() const { return tos >> 2; }
  constexpr uint8_t ecn() const { return tos & 0x3; }
};

ParseResult<Ipv4View> ParseIpv4(std::span<const std::byte> packet);

struct Ipv4Header {
  uint8_t tos = 0;
  uint16_t id = 0;
  bool dont_fragment = true;
  uint8_t ttl = 64;
  uint8_t protocol = 0;
  IpAddress src{};  // must be IPv4
  IpAddress dst{};  // must be IPv4
  // Copied after the fixed header; a multiple of 4 bytes, at most 40.
  std::span<const std::byte> options{};
};

// Writes the header (20 + options bytes, checksum filled in) at the start of
// `out` for a payload of `payload_size` bytes that the caller puts (or has
// put) right after it. Returns the header size, or 0 when `out` cannot hold
// header + payload, the total exceeds 65535, the options are malformed in
// size, or an address is not IPv4.
size_t BuildIpv4(std::span<std::byte> out, const Ipv4Header& header, size_t payload_size);

}  // namespace ringstamp
