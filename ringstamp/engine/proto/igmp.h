// igmp.h — IGMP: v2 report/leave and v3 report build, query/report parse.
//
// Example:
// Given: #include "ringstamp/engine/proto/ipv4.h"
// Given: std::span<std::byte> out; std::span<const MulticastGroupRecord> records; const IpAddress& group; const Ipv4View& ip
//   size_t n = BuildIgmpv3Report(out, records);    // to 224.0.0.22, TTL 1, Router Alert
//   size_t m = BuildIgmpv2(out, kIgmpv2Report, group);  // to the group itself
//   auto q = ParseIgmp(ip.payload);                // answer queries for our groups
//
// The IPv4 header around these (BuildIpv4 with ttl 1, tos 0xc0 and
// kIpv4RouterAlertOption, as the kernel sends them) is the caller's.
// IGMPv3 report layout: RFC 3376 §4.2; IGMPv2: RFC 2236 §2. Any thread, no
// allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/checksum.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/multicast.h"
#include "ringstamp/engine/proto/parse_error.h"

namespace ringstamp {

inline constexpr uint8_t kIgmpMembershipQuery = 0x11;
inline constexpr uint8_t kIgmpv1Report = 0x12;
inline constexpr uint8_t kIgmpv2Report = 0x16;
inline constexpr uint8_t kIgmpv2Leave = 0x17;
inline constexpr uint8_t kIgmpv3Report = 0x22;
inline constexpr size_t kIgmpMinSize = 8;
inline constexpr size_t kIgmpv3QueryMinSize = 12;

struct IgmpMessage {
  uint8_t type = 0;
  uint8_t max_resp_code = 0;
  IpAddress group{};  // queries, v1/v2 reports and leaves; 0.0.0.0 in a general query
  // Queries: 1, 2 or 3 by RFC 3376 §7.1 (size and max resp code); reports:
  // 1 (0x12), 2 (0x16, 0x17), 3 (0x22); 0 for other types.
  uint8_t version = 0;
  uint16_t v3_record_count = 0;  // IGMPv3 reports
  std::span<const std::byte> message{};

  // Max response time in tenths of a second (RFC 3376 §4.1.1 float encoding
  // for v3 queries; the plain value for v2).
  uint32_t MaxResponseDeciseconds() const;
};

ParseResult<IgmpMessage> ParseIgmp(std::span<const std::byte> message,
                                   ChecksumCheck check = ChecksumCheck::kVerify);

// An 8-byte IGMPv2 message (`type` kIgmpv2Report or kIgmpv2Leave) for
// `group` (IPv4). Returns 8, or 0 when it does not fit or `group` is not IPv4.
size_t BuildIgmpv2(std::span<std::byte> out, uint8_t type, const IpAddress& group);

// An IGMPv3 report with `records` (IPv4 groups and sources). Returns its size
// (8 + per record 8 + 4 per source), or 0 when it does not fit, a record
// holds a non-IPv4 address, or there are more than 65535 records or sources.
size_t BuildIgmpv3Report(std::span<std::byte> out, std::span<const MulticastGroupRecord> records);

}  // namespace ringstamp
