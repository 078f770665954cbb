// datagram.h — Datagram and DatagramMeta: one received UDP datagram as RUDPConn hands it to a
// handler or a reader, and UdpEndpoint (address + port).
//
// Example:
// Given: const Datagram& d
//   UdpEndpoint from = d.meta.source();           // where a reply goes
//   bool tagged = !d.meta.vlans.empty();          // arrived with a VLAN stack
//   size_t n = d.payload.size();
//
// Plain value types, any thread. A Datagram's payload points into the receive ring: valid only
// inside the handler call that got it (copy what must outlive it); the meta is a copy.
#pragma once

#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/mac_address.h"
#include "ringstamp/engine/proto/vlan.h"
#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp {

struct UdpEndpoint {
  IpAddress ip;
  uint16_t port = 0;
  friend bool operator==(const UdpEndpoint&, const UdpEndpoint&) = default;
};

struct DatagramMeta {
  IpAddress src;
  uint16_t src_port = 0;
  IpAddress dst;
  uint16_t dst_port = 0;
  uint8_t ttl = 0;  // TTL / hop limit as received
  uint8_t tos = 0;  // TOS / traffic class as received
  int ifindex = 0;
  MacAddress src_mac;
  VlanStack vlans;
  Timestamps stamps;
  int worker = -1;
  UdpEndpoint source() const { return {src, src_port}; }
};

struct Datagram {
  std::span<const std::byte> payload;
  DatagramMeta meta;
};

}  // namespace ringstamp
