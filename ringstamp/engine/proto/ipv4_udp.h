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
#include <cstring>
#include <span>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/checksum.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/ip_proto.h"
#include "ringstamp/engine/proto/ipv4.h"
#include "ringstamp/engine/proto/udp.h"

namespace ringstamp {

// True when the checksum of the 20-byte IPv4 header at `p` is right: its 16-bit one's-complement
// sum is 0xffff. That sum is congruent to the plain sum S of the header's five 32-bit words
// modulo 0xffff (2^16 ≡ 1), and folds to 0xffff exactly when S is a non-zero multiple of 0xffff;
// the byte order the words are read in does not matter (a byte swap multiplies by 2^8, which
// keeps a multiple of 0xffff one). Read as two 64-bit words and one 32-bit word, added with the
// carry put back in (2^64 ≡ 1 too), the sum keeps both properties and is 0 only for a header of
// zeros; one remainder by a constant (a multiply and a compare) instead of four folds.
inline bool Ipv4HeaderChecksumOk(const std::byte* p) {
  uint64_t a;
  uint64_t b;
  uint32_t c;
  std::memcpy(&a, p, sizeof(a));
  std::memcpy(&b, p + 8, sizeof(b));
  std::memcpy(&c, p + 16, sizeof(c));
  uint64_t sum = a + b;
  sum += sum < a ? 1 : 0;  // end-around carry
  const uint64_t with_c = sum + c;
  sum = with_c + (with_c < sum ? 1 : 0);
  return sum % 0xffffu == 0 && sum != 0;
}

// Where ParseIpv4Udp reads the destination: the address in the IPv4 header, the port in the UDP
// header after it.
inline constexpr size_t kIpv4UdpDstOffset = 16;
inline constexpr size_t kIpv4UdpDstPortOffset = kIpv4MinHeaderSize + 2;

// True when `packet` (the Ethernet payload) has the shape ParseIpv4Udp takes — version 4, a
// 20-byte header, protocol UDP, room for a UDP header — so that its destination can be read at
// the offsets above; nothing else is checked. ParseIpv4Udp starts with it; the relay uses it to
// look a datagram's binding up a pass before the parse.
inline bool HasIpv4UdpShape(std::span<const std::byte> packet) {
  if (packet.size() < kIpv4MinHeaderSize + kUdpHeaderSize) return false;
  const std::byte* p = packet.data();
  return Load8(p) == 0x45 && Load8(p + 9) == kIpProtoUdp;  // version 4, IHL 5, UDP
}

// Where ParseIpv4UdpShaped writes a datagram's fields: an IpUdpView's (FieldsOf), or another
// type's that has them under other names (the relay writes straight into the Datagram it hands
// to a handler, so that the fields are not copied from a view into it).
struct Ipv4UdpFieldRefs {
  IpAddress& src;
  IpAddress& dst;
  uint8_t& ttl;
  uint8_t& tos;
  uint16_t& src_port;
  uint16_t& dst_port;
  std::span<const std::byte>& payload;
};

inline Ipv4UdpFieldRefs FieldsOf(IpUdpView& v) {
  return {v.src, v.dst, v.ttl, v.tos, v.src_port, v.dst_port, v.payload};
}

// ParseIpv4Udp for a `packet` that HasIpv4UdpShape already accepted (the relay checks the
// shape a pass before it parses): the rest of the checks and the fields. Calling it on a
// packet of another shape is a bug (it reads 28 bytes). When it returns false, some of the
// fields may have been written.
inline bool ParseIpv4UdpShaped(std::span<const std::byte> packet, ChecksumCheck check,
                               const Ipv4UdpFieldRefs& out) {
  constexpr size_t kHeader = kIpv4MinHeaderSize;
  const std::byte* p = packet.data();
  const uint16_t total_length = LoadBe16(p + 2);
  if (total_length < kHeader + kUdpHeaderSize || total_length > packet.size()) return false;
  if ((LoadBe16(p + 6) & 0x3fff) != 0) return false;  // MF or an offset: a fragment
  if (!Ipv4HeaderChecksumOk(p)) return false;
  const std::byte* u = p + kHeader;
  const uint16_t udp_length = LoadBe16(u + 4);
  if (udp_length < kUdpHeaderSize || udp_length > total_length - kHeader) return false;
  out.src.AssignV4(p + 12);
  out.dst.AssignV4(p + kIpv4UdpDstOffset);
  if (check == ChecksumCheck::kVerify && LoadBe16(u + 6) != 0 &&
      UpperLayerChecksum(out.src, out.dst, kIpProtoUdp,
                         std::span<const std::byte>(u, udp_length)) != 0) {
    return false;
  }
  out.tos = Load8(p + 1);
  out.ttl = Load8(p + 8);
  out.src_port = LoadBe16(u);
  out.dst_port = LoadBe16(p + kIpv4UdpDstPortOffset);
  out.payload = std::span<const std::byte>(u + kUdpHeaderSize, udp_length - kUdpHeaderSize);
  return true;
}

// True when `packet` (the Ethernet payload) is a well-formed IPv4 UDP datagram with a 20-byte
// header that is not a fragment; `out`'s fields are then written. False: take the general
// parse. Inline: the relay calls it once per received datagram.
inline bool ParseIpv4Udp(std::span<const std::byte> packet, ChecksumCheck check,
                         const Ipv4UdpFieldRefs& out) {
  return HasIpv4UdpShape(packet) && ParseIpv4UdpShaped(packet, check, out);
}
inline bool ParseIpv4Udp(std::span<const std::byte> packet, ChecksumCheck check, IpUdpView* out) {
  return ParseIpv4Udp(packet, check, FieldsOf(*out));
}

}  // namespace ringstamp
