// short_frames.h — the frames EtherConn answers with that can be shorter than
// the Ethernet minimum (ARP reply, ICMPv4 echo reply, IGMPv3 report), built in
// place in a TX slot and padded to 60 bytes with zeros.
//
// Example:
// Given: std::span<std::byte> slot; const MacAddress& requester_mac; const MacAddress& my_mac
// Given: const VlanStack& vlans; const ArpPacket& reply
//   size_t n = BuildArpReplyFrame(slot, requester_mac, my_mac, vlans, reply);
//   if (n == 0) return absl::ResourceExhaustedError("slot too small");
//
// A TX slot keeps the bytes of the frame sent from it before: a pad that is not
// written would carry up to 18 bytes of that earlier frame onto the wire
// (the "Etherleak" of CVE-2003-0001). Every builder here zeroes its pad.
// Pure functions over the caller's span: any thread, no allocation, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/arp.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/mac_address.h"
#include "ringstamp/engine/proto/multicast.h"
#include "ringstamp/engine/proto/vlan.h"

namespace ringstamp {

// Zeroes out[len, 60) so a frame of `len` bytes at the start of `out` reaches
// the Ethernet minimum. Returns max(len, 60), or 0 when that does not fit in out.
size_t PadToEthernetMinimum(std::span<std::byte> out, size_t len);

// Ethernet (+ `vlans`) + the 28-byte ARP packet + zero pad. 0 when out is too small.
size_t BuildArpReplyFrame(std::span<std::byte> out, const MacAddress& dst, const MacAddress& src,
                          const VlanStack& vlans, const ArpPacket& reply);

struct EchoReplyFrame {
  MacAddress dst;
  MacAddress src;
  VlanStack vlans;
  IpAddress ip_src;  // IPv4
  IpAddress ip_dst;  // IPv4
  uint16_t id = 0;
  uint16_t seq = 0;
  std::span<const std::byte> data;  // the request's echo data, copied (must not overlap out)
};
// Ethernet + IPv4 (TTL 64) + ICMPv4 echo reply + zero pad. 0 when out is too small.
size_t BuildIcmpv4EchoReplyFrame(std::span<std::byte> out, const EchoReplyFrame& reply);

// Ethernet to 01:00:5e:00:00:16 + IPv4 with Router Alert (TTL 1, TOS 0xc0) to
// 224.0.0.22 + an IGMPv3 report of one record + zero pad. 0 when out is too small.
size_t BuildIgmpv3ReportFrame(std::span<std::byte> out, const MacAddress& src,
                              const VlanStack& vlans, const IpAddress& ip_src,
                              const MulticastGroupRecord& record);

}  // namespace ringstamp
