// multicast.h — multicast address helpers shared by NDP, IGMP and MLD.
//
// Example:
// Given: const IpAddress& my_v6; const IpAddress& group
//   MacAddress m = *MulticastMac(*IpAddress::Parse("239.1.2.3"));  // 01:00:5e:01:02:03
//   IpAddress sn = SolicitedNodeAddress(my_v6);                     // ff02::1:ffXX:XXXX
//   MulticastGroupRecord join{MulticastRecordType::kChangeToExclude, group, {}};
//
// IPv4 groups map to 01:00:5e + the low 23 bits (RFC 1112 §6.4), IPv6 groups
// to 33:33 + the low 32 bits (RFC 2464 §7). Pure functions on values: any
// thread, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/mac_address.h"

namespace ringstamp {

// The Ethernet multicast MAC for a multicast group (IPv4 224/4 or IPv6
// ff00::/8); std::nullopt for a unicast or kNone address.
std::optional<MacAddress> MulticastMac(const IpAddress& group);

// The solicited-node multicast address of an IPv6 address (RFC 4291 §2.7.1):
// ff02::1:ff00:0/104 + its low 24 bits. kNone for a non-IPv6 address.
IpAddress SolicitedNodeAddress(const IpAddress& address);

// Well-known groups.
inline constexpr IpAddress kAllHostsV4 = IpAddress::V4(224, 0, 0, 1);
inline constexpr IpAddress kAllRoutersV4 = IpAddress::V4(224, 0, 0, 2);      // IGMPv2 leave
inline constexpr IpAddress kIgmpv3RoutersV4 = IpAddress::V4(224, 0, 0, 22);  // IGMPv3 reports
inline constexpr IpAddress kAllNodesV6 =
    IpAddress::V6({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01});
inline constexpr IpAddress kMldv2RoutersV6 =
    IpAddress::V6({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16});

// Group record types of IGMPv3 (RFC 3376 §4.2.12) and MLDv2 (RFC 3810 §5.2.12).
enum class MulticastRecordType : uint8_t {
  kModeIsInclude = 1,
  kModeIsExclude = 2,
  kChangeToInclude = 3,  // with no sources: leave
  kChangeToExclude = 4,  // with no sources: join (any source)
  kAllowNewSources = 5,
  kBlockOldSources = 6,
};

// One group record of an IGMPv3 or MLDv2 report. `group` and `sources` must
// match the report's family. The sources are not owned.
struct MulticastGroupRecord {
  MulticastRecordType type = MulticastRecordType::kChangeToExclude;
  IpAddress group{};
  std::span<const IpAddress> sources{};
};

// IGMPv3 reports (RFC 3376 §4.2) and MLDv2 reports (RFC 3810 §5.2) share one layout,
// differing in address size only: type, reserved, checksum, reserved (2 bytes), record
// count, then per record its type, aux data length (0), source count, group and sources.
// The protocol's Build function checks the family, sizes, writes, then sets its checksum:
//
// Example:
// Given: #include "ringstamp/engine/proto/igmp.h"
// Given: std::span<std::byte> out; std::span<const MulticastGroupRecord> records
//   const size_t size = GroupRecordReportSize(records, IpFamily::kV4);
//   if (size == 0 || out.size() < size) return absl::InvalidArgumentError("does not fit");
//   StoreGroupRecordReport(out.first(size), kIgmpv3Report, records);

// The report's size in bytes; 0 when a group or source is not of `family` or a count does
// not fit its 16 bits.
size_t GroupRecordReportSize(std::span<const MulticastGroupRecord> records, IpFamily family);

// Writes the report of `records` (already sized by GroupRecordReportSize: `out` holds
// exactly that many bytes), checksum 0.
void StoreGroupRecordReport(std::span<std::byte> out, uint8_t type,
                            std::span<const MulticastGroupRecord> records);

}  // namespace ringstamp
