// arp.h — ARP for IPv4 over Ethernet (RFC 826): parse and build request/reply.
//
// Example:
// Given: #include "ringstamp/engine/proto/ethernet.h"
// Given: const EthernetView& eth; const IpAddress& my_ip; const MacAddress& my_mac; std::span<std::byte> out
//   ParseResult<ArpPacket> arp = ParseArp(eth.payload);
//   if (arp && arp->op == ArpOp::kRequest && arp->target_ip == my_ip) {
//     size_t n = BuildArp(out, ArpPacket::Reply(my_mac, my_ip, arp->sender_mac, arp->sender_ip));
//   }
//
// Only hardware type Ethernet (1) with 6-byte addresses and protocol IPv4
// (0x0800) with 4-byte addresses is accepted (kArpUnsupported otherwise);
// operations other than request (1) and reply (2) are kArpBadOperation.
// Bytes after the 28-byte packet (Ethernet padding) are ignored. ArpPacket
// is a value (the fields are copied out). Any thread, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/mac_address.h"
#include "ringstamp/engine/proto/parse_error.h"

namespace ringstamp {

inline constexpr size_t kArpPacketSize = 28;

enum class ArpOp : uint16_t { kRequest = 1, kReply = 2 };

struct ArpPacket {
  ArpOp op = ArpOp::kRequest;
  MacAddress sender_mac{};
  IpAddress sender_ip{};    // IPv4
  MacAddress target_mac{};  // zero in a request
  IpAddress target_ip{};    // IPv4

  // who-has `target_ip` tell `sender_ip`.
  static ArpPacket Request(const MacAddress& sender_mac, const IpAddress& sender_ip,
                           const IpAddress& target_ip) {
    return {ArpOp::kRequest, sender_mac, sender_ip, MacAddress{}, target_ip};
  }
  // A gratuitous ARP announcing `ip` at `mac` (a request for its own address).
  static ArpPacket Gratuitous(const MacAddress& mac, const IpAddress& ip) {
    return {ArpOp::kRequest, mac, ip, MacAddress{}, ip};
  }
  // `sender_ip` is-at `sender_mac`, to the asker.
  static ArpPacket Reply(const MacAddress& sender_mac, const IpAddress& sender_ip,
                         const MacAddress& target_mac, const IpAddress& target_ip) {
    return {ArpOp::kReply, sender_mac, sender_ip, target_mac, target_ip};
  }

  friend bool operator==(const ArpPacket&, const ArpPacket&) = default;
};

ParseResult<ArpPacket> ParseArp(std::span<const std::byte> payload);

// Writes the 28-byte packet at the start of `out`. Returns 28, or 0 when
// `out` is too small or an address is not IPv4.
size_t BuildArp(std::span<std::byte> out, const ArpPacket& packet);

}  // namespace ringstamp
