// icmp.h — ICMPv4 and ICMPv6 messages: generic parse, echo request/reply build.
//
// Example:
// Given: #include "ringstamp/engine/proto/ipv4.h"
// Given: const Ipv4View& ip; std::span<std::byte> out; size_t data_len; const IpAddress& src; const IpAddress& dst
//   ParseResult<IcmpView> m = ParseIcmpv4(ip.payload);
//   uint16_t id = 0, seq = 0;
//   if (m && m->type == kIcmpv4EchoRequest) { id = m->echo_id(); seq = m->echo_seq(); }
//   size_t n = BuildIcmpv6Echo(out, {.reply = true, .id = id, .seq = seq}, data_len, src, dst);
//
// Both versions share the 8-byte layout type, code, checksum and 4 bytes of
// "rest of header" (id + sequence for echo). ICMPv4's checksum covers the
// message only; ICMPv6's adds the IPv6 pseudo-header (RFC 4443 §2.3). Parse
// checks 8 bytes present and the checksum (unless ChecksumCheck::kSkip); the
// whole IP payload is the message (ICMP has no length field). Views point
// into the caller's bytes. Any thread, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/checksum.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/parse_error.h"

namespace ringstamp {

inline constexpr size_t kIcmpHeaderSize = 8;

inline constexpr uint8_t kIcmpv4EchoReply = 0;
inline constexpr uint8_t kIcmpv4DestinationUnreachable = 3;
inline constexpr uint8_t kIcmpv4EchoRequest = 8;
inline constexpr uint8_t kIcmpv4TimeExceeded = 11;

inline constexpr uint8_t kIcmpv6DestinationUnreachable = 1;
inline constexpr uint8_t kIcmpv6PacketTooBig = 2;
inline constexpr uint8_t kIcmpv6TimeExceeded = 3;
inline constexpr uint8_t kIcmpv6EchoRequest = 128;
inline constexpr uint8_t kIcmpv6EchoReply = 129;
inline constexpr uint8_t kIcmpv6MldQuery = 130;
inline constexpr uint8_t kIcmpv6RouterSolicitation = 133;
inline constexpr uint8_t kIcmpv6RouterAdvertisement = 134;
inline constexpr uint8_t kIcmpv6NeighborSolicitation = 135;
inline constexpr uint8_t kIcmpv6NeighborAdvertisement = 136;
inline constexpr uint8_t kIcmpv6Mldv2Report = 143;

struct IcmpView {
  uint8_t type = 0;
  uint8_t code = 0;
  uint16_t checksum = 0;
  uint32_t rest = 0;                     // bytes 4..7 (echo: id << 16 | seq)
  std::span<const std::byte> message{};  // the whole message, header included
  std::span<const std::byte> body{};     // after the 8-byte header

  constexpr uint16_t echo_id() const { return static_cast<uint16_t>(rest >> 16); }
  constexpr uint16_t echo_seq() const { return static_cast<uint16_t>(rest); }
};

// `message` is the IPv4 payload.
ParseResult<IcmpView> ParseIcmpv4(std::span<const std::byte> message,
                                  ChecksumCheck check = ChecksumCheck::kVerify);
// `message` is the IPv6 upper-layer payload; `src`/`dst` the IPv6 addresses.
ParseResult<IcmpView> ParseIcmpv6(std::span<const std::byte> message, const IpAddress& src,
                                  const IpAddress& dst,
                                  ChecksumCheck check = ChecksumCheck::kVerify);

struct IcmpEcho {
  bool reply = false;
  uint16_t id = 0;
  uint16_t seq = 0;
};

// Writes an ICMPv4 echo header at the start of `out` for the `data_size`
// bytes already at out[8, 8 + data_size) and fills in the checksum. Returns
// 8 + data_size, or 0 when that does not fit `out` (or exceeds 65535).
size_t BuildIcmpv4Echo(std::span<std::byte> out, const IcmpEcho& echo, size_t data_size);
// The same for ICMPv6 (checksum with the pseudo-header of `src` -> `dst`,
// both IPv6; 0 otherwise).
size_t BuildIcmpv6Echo(std::span<std::byte> out, const IcmpEcho& echo, size_t data_size,
                       const IpAddress& src, const IpAddress& dst);

}  // namespace ringstamp
