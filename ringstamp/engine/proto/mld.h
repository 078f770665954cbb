// mld.h — MLD: MLDv2 report build (RFC 3810 §5.2) and query parse (v1 and v2).
//
// Example:
// Given: std::span<std::byte> out; std::span<const MulticastGroupRecord> records; const IpAddress& my_link_local
// Given: const IcmpView& icmp
//   size_t n = BuildMldv2Report(out, records, my_link_local, kMldv2RoutersV6);
//   auto q = ParseMldQuery(icmp);   // after ParseIcmpv6 verified the checksum
//
// The report is an ICMPv6 message (type 143) with its checksum over the
// pseudo-header of `src` -> `dst`. The caller sends it in an IPv6 packet with
// hop limit 1, a hop-by-hop Router Alert (BuildIpv6RouterAlertHopByHop) and
// a link-local (or, before one exists, unspecified) source, as the kernel
// does. Any thread, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/icmp.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/multicast.h"
#include "ringstamp/engine/proto/parse_error.h"

namespace ringstamp {

inline constexpr size_t kMldv1Size = 24;
inline constexpr size_t kMldv2QueryMinSize = 28;

struct MldQuery {
  uint8_t version = 0;  // 1 (24 bytes) or 2 (28 or more)
  uint16_t max_resp_code = 0;
  IpAddress group{};          // :: in a general query
  uint16_t source_count = 0;  // MLDv2

  // Max response delay in milliseconds (RFC 3810 §5.1.3 float encoding for v2).
  uint32_t MaxResponseMs() const;
};

// kMldNotQuery unless `icmp` is type 130; kMldTruncated when it is shorter than
// MLDv1's 24 bytes or a v2 query's source list runs past its end.
ParseResult<MldQuery> ParseMldQuery(const IcmpView& icmp);

// An MLDv2 report with `records` (IPv6 groups and sources). Returns its size
// (8 + per record 20 + 16 per source), or 0 when it does not fit, an address
// is not IPv6, or there are more than 65535 records or sources.
size_t BuildMldv2Report(std::span<std::byte> out, std::span<const MulticastGroupRecord> records,
                        const IpAddress& src, const IpAddress& dst = kMldv2RoutersV6);

}  // namespace ringstamp
