// frame.h — ParseFrame: one walk from Ethernet through VLANs, ARP/IPv4/IPv6 to UDP/ICMP.
//
// Example:
// Given: std::span<const std::byte> bytes; std::span<uint64_t> parse_errors
// Given: void Deliver(const VlanStack& vlans, const IpAddress& src, std::span<const std::byte> payload)
//   FrameSummary f = ParseFrame(bytes);
//   if (!f.ok()) ++parse_errors[static_cast<size_t>(f.error)];
//   else if (f.l4 == L4Kind::kUdp) Deliver(f.eth.vlans, f.src_ip(), f.udp.payload);
//
// For capture's one-line summaries, the relay and the conns. Each layer is
// parsed with its own codec; the walk stops at the first layer that fails
// and records why in `error`; the layers below it stay valid (a frame with
// a bad UDP checksum still shows its IPv4 header). Fragments (IPv4 or IPv6)
// stop at L3 with is_fragment() true: nothing is reassembled. Unknown
// EtherTypes or IP protocols give L3Kind::kOther / L4Kind::kOther, which is
// not an error. Views point into `frame`. Any thread, no allocation; the
// summary is a ~370-byte value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "ringstamp/engine/proto/arp.h"
#include "ringstamp/engine/proto/checksum.h"
#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/proto/icmp.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/ipv4.h"
#include "ringstamp/engine/proto/ipv6.h"
#include "ringstamp/engine/proto/parse_error.h"
#include "ringstamp/engine/proto/udp.h"
#include "ringstamp/engine/proto/vlan.h"

namespace ringstamp {

enum class L3Kind : uint8_t { kNone, kArp, kIpv4, kIpv6, kOther };
enum class L4Kind : uint8_t { kNone, kUdp, kIcmpv4, kIcmpv6, kOther };

struct FrameParseOptions {
  // kSkip for frames whose L4 checksum the kernel left for offload
  // (TP_STATUS_CSUMNOTREADY) or already verified (TP_STATUS_CSUM_VALID).
  ChecksumCheck l4_checksum = ChecksumCheck::kVerify;
  // The tag the kernel took out of the frame into the ring header
  // (TP_STATUS_VLAN_VALID: tp_vlan_tci, tp_vlan_tpid); it is put in front of
  // the tags found in the bytes.
  std::optional<VlanTag> stripped_vlan{};
};

struct FrameSummary {
  EthernetView eth{};
  L3Kind l3 = L3Kind::kNone;
  ArpPacket arp{};  // l3 == kArp
  Ipv4View ipv4;    // l3 == kIpv4
  Ipv6View ipv6;    // l3 == kIpv6
  L4Kind l4 = L4Kind::kNone;
  UdpView udp{};    // l4 == kUdp
  IcmpView icmp{};  // l4 == kIcmpv4 or kIcmpv6
  ParseError error = ParseError::kNone;

  bool ok() const { return error == ParseError::kNone; }
  bool is_ip() const { return l3 == L3Kind::kIpv4 || l3 == L3Kind::kIpv6; }
  bool is_fragment() const {
    return (l3 == L3Kind::kIpv4 && ipv4.is_fragment()) ||
           (l3 == L3Kind::kIpv6 && ipv6.is_fragment());
  }
  // IP fields of either version; kNone / 0 when the frame has no IP layer.
  IpAddress src_ip() const;
  IpAddress dst_ip() const;
  uint8_t ip_protocol() const;  // IPv4 protocol or IPv6 upper-layer protocol
  uint8_t ttl() const;          // TTL or hop limit
  uint8_t tos() const;          // TOS or traffic class
};

FrameSummary ParseFrame(std::span<const std::byte> frame, const FrameParseOptions& options = {});

}  // namespace ringstamp
