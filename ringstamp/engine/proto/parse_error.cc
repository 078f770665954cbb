#include "ringstamp/engine/proto/parse_error.h"

#include <array>

namespace ringstamp {
namespace {

constexpr std::array<std::string_view, kParseErrorCount> kNames = {
    "none",
    "ethernet_truncated",
    "vlan_truncated",
    "too_many_vlan_tags",
    "arp_truncated",
    "arp_unsupported",
    "arp_bad_operation",
    "ipv4_truncated",
    "ipv4_bad_version",
    "ipv4_header_length_too_small",
    "ipv4_header_beyond_packet",
    "ipv4_total_length_too_small",
    "ipv4_total_length_beyond_packet",
    "ipv4_bad_checksum",
    "ipv6_truncated",
    "ipv6_bad_version",
    "ipv6_payload_length_beyond_packet",
    "ipv6_extension_header_truncated",
    "ipv6_too_many_extension_headers",
    "ipv6_extension_header_repeated",
    "ipv6_hop_by_hop_not_first",
    "udp_truncated",
    "udp_length_too_small",
    "udp_length_beyond_packet",
    "udp_bad_checksum",
    "udp_zero_checksum_ipv6",
    "udp_bad_address_family",
    "icmp_truncated",
    "icmp_bad_checksum",
    "ndp_truncated",
    "ndp_not_neighbor_message",
    "ndp_bad_hop_limit",
    "ndp_bad_code",
    "ndp_bad_option",
    "ndp_multicast_target",
    "ndp_bad_source",
    "igmp_truncated",
    "igmp_bad_checksum",
    "mld_truncated",
    "mld_not_query",
    "stamp_truncated",
};

}  // namespace

std::string_view ParseErrorName(ParseError error) {
  const auto index = static_cast<size_t>(error);
  return index < kNames.size() ? kNames[index] : std::string_view("unknown");
}

}  // namespace ringstamp
