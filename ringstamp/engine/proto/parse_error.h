// parse_error.h — ParseError, the reason a codec rejected bytes, and ParseResult<View>.
//
// Example:
// Given: #include "ringstamp/engine/proto/ipv4.h"
// Given: #include "ringstamp/engine/proto/udp.h"
// Given: const Ipv4View& ip; std::span<uint64_t> counters; void Use(uint16_t port, std::span<const std::byte> payload)
//   ParseResult<UdpView> udp = ParseUdp(ip.payload, ip.src, ip.dst);
//   if (!udp) { ++counters[static_cast<size_t>(udp.error())]; return absl::OkStatus(); }
//   Use(udp->dst_port, udp->payload);
//
// One enum for every protocol so that a caller can keep one counter array
// (kParseErrorCount entries, indexed by the enum) and print it with
// ParseErrorName(). ParseResult holds either a view (ok) or a reason, never
// both; reading value() of a failed result is a caller bug (it returns a
// default view, no UB). Plain values: copy freely, any thread, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringstamp {

enum class ParseError : uint8_t {
  kNone = 0,
  // Ethernet and VLAN tags.
  kEthernetTruncated,  // fewer than 14 bytes
  kVlanTruncated,      // a tag TPID is followed by fewer than 4 bytes
  kTooManyVlanTags,    // more than VlanStack::kMaxTags tags
  // ARP.
  kArpTruncated,
  kArpUnsupported,   // not Ethernet/IPv4 (hardware type, protocol type or address lengths)
  kArpBadOperation,  // neither request (1) nor reply (2)
  // IPv4.
  kIpv4Truncated,
  kIpv4BadVersion,
  kIpv4HeaderLengthTooSmall,     // IHL < 5
  kIpv4HeaderBeyondPacket,       // IHL * 4 > bytes present
  kIpv4TotalLengthTooSmall,      // total length < IHL * 4
  kIpv4TotalLengthBeyondPacket,  // total length > bytes present
  kIpv4BadChecksum,
  // IPv6.
  kIpv6Truncated,
  kIpv6BadVersion,
  kIpv6PayloadLengthBeyondPacket,
  kIpv6ExtensionHeaderTruncated,  // an extension header runs past the payload
  kIpv6TooManyExtensionHeaders,   // more than kMaxIpv6ExtensionHeaders
  kIpv6ExtensionHeaderRepeated,   // a header type seen again (a loop), beyond RFC 8200 §4.1
  kIpv6HopByHopNotFirst,
  // UDP.
  kUdpTruncated,
  kUdpLengthTooSmall,      // length field < 8
  kUdpLengthBeyondPacket,  // length field > bytes present
  kUdpBadChecksum,
  kUdpZeroChecksumIpv6,  // RFC 8200 §8.1: a zero UDP checksum is not allowed over IPv6
  kUdpBadAddressFamily,  // pseudo-header addresses missing or of mixed families
  // ICMP and ICMPv6.
  kIcmpTruncated,
  kIcmpBadChecksum,
  // NDP (RFC 4861 §7.1).
  kNdpTruncated,
  kNdpNotNeighborMessage,  // ICMPv6 type is neither 135 nor 136
  kNdpBadHopLimit,         // IPv6 hop limit is not 255
  kNdpBadCode,             // ICMPv6 code is not 0
  kNdpBadOption,           // an option of length 0 or running past the message
  kNdpMulticastTarget,
  kNdpBadSource,  // unspecified source with a source link-layer option, or NA with S to multicast
  // IGMP and MLD.
  kIgmpTruncated,
  kIgmpBadChecksum,
  kMldTruncated,
  kMldNotQuery,  // ParseMldQuery given an ICMPv6 type other than 130
  // STAMP.
  kStampTruncated,
  kCount,
};

inline constexpr size_t kParseErrorCount = static_cast<size_t>(ParseError::kCount);

// A stable snake_case name for counters and logs: "ipv4_bad_checksum". "none" for kNone,
// "unknown" for a value out of range.
std::string_view ParseErrorName(ParseError error);

template <typename View>
class [[nodiscard]] ParseResult {
 public:
  // A successful parse.
  constexpr ParseResult(const View& view) : view_(view) {}  // NOLINT: implicit by design
  // A rejected input; `error` must not be kNone.
  constexpr ParseResult(ParseError error) : error_(error) {}  // NOLINT: implicit by design

  constexpr bool ok() const { return error_ == ParseError::kNone; }
  constexpr explicit operator bool() const { return ok(); }
  constexpr ParseError error() const { return error_; }

  constexpr const View& value() const { return view_; }
  constexpr const View& operator*() const { return view_; }
  constexpr const View* operator->() const { return &view_; }

 private:
  View view_{};
  ParseError error_ = ParseError::kNone;
};

}  // namespace ringstamp
