// udp_frame.h — BuildUdpFrame: Ethernet + VLAN stack + IPv4/IPv6 + UDP, written in place.
//
// Example:
// Given: #include <cstring>
// Given: #include "ringstamp/engine/tx_port.h"
// Given: const MacAddress& gw; const MacAddress& me; const VlanStack& stack; const IpAddress& peer
// Given: TxPort& tx; std::span<const std::byte> payload
//   UdpFrameSpec spec{.dst_mac = gw, .src_mac = me, .vlans = stack,
//                     .src = IpAddress::Parse("10.0.0.1").value(), .dst = peer, .src_port = 862,
//                     .dst_port = 862, .tos = 0, .ttl = 64};
//   std::span<std::byte> slot = tx.Reserve();
//   size_t hdr = UdpFrameHeaderSize(spec);
//   std::memcpy(slot.data() + hdr, payload.data(), payload.size());   // payload first
//   size_t len = BuildUdpFrame(slot, spec, payload.size());          // then headers + checksums
//   tx.Commit(len);
//
// The payload is expected in place at UdpFrameHeaderSize(spec); headers and
// both checksums are written around it. Returns the frame length, or 0 when it
// does not fit or the spec is inconsistent (address families differ).
// Any thread; no allocation. Cost: header writes plus one pass of the UDP
// checksum over the payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/mac_address.h"
#include "ringstamp/engine/proto/vlan.h"

namespace ringstamp {

struct UdpFrameSpec {
  MacAddress dst_mac;
  MacAddress src_mac;
  VlanStack vlans;
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t tos = 0;          // IPv4 TOS / IPv6 traffic class
  uint8_t ttl = 64;         // IPv4 TTL / IPv6 hop limit
  uint32_t flow_label = 0;  // IPv6 only
  uint16_t ip_id = 0;       // IPv4 identification
};

// Bytes before the payload: 14 + 4 × tags + 20 (IPv4) or 40 (IPv6) + 8.
size_t UdpFrameHeaderSize(const UdpFrameSpec& spec);

size_t BuildUdpFrame(std::span<std::byte> out, const UdpFrameSpec& spec, size_t payload_size);

}  // namespace ringstamp
