// udp.h — UDP header over IPv4 or IPv6: parse (length and checksum checked) and build.
//
// Example:
// Given: #include "ringstamp/engine/proto/ipv4.h"
// Given: const Ipv4View& ip; std::span<std::byte> out; uint16_t p; size_t payload_len
// Given: const IpAddress& src; const IpAddress& dst; void HandleStamp(std::span<const std::byte> payload)
//   ParseResult<UdpView> udp = ParseUdp(ip.payload, ip.src, ip.dst);
//   if (udp && udp->dst_port == 862) HandleStamp(udp->payload);
//   size_t n = BuildUdp(out, {.src_port = 862, .dst_port = p}, payload_len, src, dst);
//
// Parse checks: 8 bytes present, length field >= 8 and <= bytes present (the
// payload view is trimmed to it), then the checksum over the pseudo-header
// (RFC 768 for IPv4, RFC 8200 §8.1 for IPv6). A zero checksum means "none"
// over IPv4 and is accepted; over IPv6 it is kUdpZeroChecksumIpv6 (even with
// ChecksumCheck::kSkip, because it is a malformed header, not an unchecked
// sum). Views point into the caller's bytes. Any thread, no allocation; the
// checksum runs at ~0.1 ns per byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/checksum.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/parse_error.h"

namespace ringstamp {

inline constexpr size_t kUdpHeaderSize = 8;

struct UdpView {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t length = 0;    // header + payload, from the length field
  uint16_t checksum = 0;  // as on the wire; 0 = none (IPv4 only)
  std::span<const std::byte> payload{};
};

// A UDP datagram with the IP fields a receiver dispatches on, IPv4 or IPv6 alike: what
// ParseIpv4Udp fills in one pass, and what an IPv6 parse (ParseIpv6 + ParseUdp) gives the same way.
struct IpUdpView {
  IpAddress src;
  IpAddress dst;
  uint8_t ttl = 0;  // TTL / hop limit
  uint8_t tos = 0;  // TOS / traffic class
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  std::span<const std::byte> payload{};  // after the UDP header, trimmed to its length field
};

// `segment` is the IP payload; `src` and `dst` the IP addresses (same family).
ParseResult<UdpView> ParseUdp(std::span<const std::byte> segment, const IpAddress& src,
                              const IpAddress& dst, ChecksumCheck check = ChecksumCheck::kVerify);

struct UdpHeader {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
};

enum class UdpChecksum : uint8_t {
  kCompute,  // full checksum over pseudo-header, header and payload
  kNone,     // zero checksum field: IPv4 only (BuildUdp returns 0 for IPv6)
};

// Writes the 8-byte header at the start of `out` for the `payload_size` bytes
// already at out[8, 8 + payload_size) and fills in the checksum. Returns
// 8 + payload_size, or 0 when that does not fit `out`, exceeds 65535, or the
// addresses are not of one family (or kNone is asked over IPv6).
size_t BuildUdp(std::span<std::byte> out, const UdpHeader& header, size_t payload_size,
                const IpAddress& src, const IpAddress& dst,
                UdpChecksum checksum = UdpChecksum::kCompute);

}  // namespace ringstamp
