// ethernet.h — Ethernet II header with its VLAN tag stack: parse and build.
//
// Example:
// Given: #include "ringstamp/engine/proto/ipv4.h"
// Given: std::span<const std::byte> frame; std::span<std::byte> out; const MacAddress& dst
// Given: const MacAddress& src; const VlanStack& stack
//   ParseResult<EthernetView> eth = ParseEthernet(frame);
//   if (eth && eth->ethertype == kEtherTypeIpv4) auto ip = ParseIpv4(eth->payload);
//   size_t n = BuildEthernet(out, dst, src, stack, kEtherTypeIpv6);  // 14 + 4 * tags
//
// Parse walks every 802.1Q (0x8100), 802.1ad (0x88a8) and legacy 0x9100 tag
// after the source MAC, up to VlanStack::kMaxTags; a ninth tag is
// kTooManyVlanTags. The payload view starts after the last tag and runs to
// the end of the given bytes (trailing padding and FCS, if present, are the
// upper layer's to trim by its own length field). An EtherType below 0x0600
// is an 802.3 length; it is reported as is. Views point into the caller's
// bytes and live as long as they do. Any thread, no allocation, O(tags).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/mac_address.h"
#include "ringstamp/engine/proto/parse_error.h"
#include "ringstamp/engine/proto/vlan.h"

namespace ringstamp {

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

inline constexpr size_t kEthernetHeaderSize = 14;    // dst, src, EtherType
inline constexpr size_t kVlanTagSize = 4;            // TPID, TCI
inline constexpr size_t kEthernetMinFrameSize = 60;  // without FCS

struct EthernetView {
  MacAddress dst{};
  MacAddress src{};
  VlanStack vlans{};       // outermost first
  uint16_t ethertype = 0;  // after the last tag
  size_t header_size = 0;  // 14 + 4 * vlans.size()
  std::span<const std::byte> payload{};
};

ParseResult<EthernetView> ParseEthernet(std::span<const std::byte> frame);

constexpr size_t EthernetHeaderSize(const VlanStack& vlans) {
  return kEthernetHeaderSize + vlans.WireSize();
}

// Writes dst, src, each tag of `vlans` (outermost first) and `ethertype` at
// the start of `out`. Returns the bytes written, or 0 when they do not fit.
size_t BuildEthernet(std::span<std::byte> out, const MacAddress& dst, const MacAddress& src,
                     const VlanStack& vlans, uint16_t ethertype);

}  // namespace ringstamp
