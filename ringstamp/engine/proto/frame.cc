#include "ringstamp/engine/proto/frame.h"

#include "ringstamp/engine/proto/ip_proto.h"

namespace ringstamp {
namespace {

void ParseL4(FrameSummary& f, uint8_t protocol, std::span<const std::byte> payload,
             const IpAddress& src, const IpAddress& dst, ChecksumCheck check) {
  if (protocol == kIpProtoUdp) {
    auto udp = ParseUdp(payload, src, dst, check);
    if (!udp) {
      f.error = udp.error();
      return;
    }
    f.udp = *udp;
    f.l4 = L4Kind::kUdp;
  } else if (protocol == kIpProtoIcmp && src.is_v4()) {
    auto icmp = ParseIcmpv4(payload, check);
    if (!icmp) {
      f.error = icmp.error();
      return;
    }
    f.icmp = *icmp;
    f.l4 = L4Kind::kIcmpv4;
  } else if (protocol == kIpProtoIcmpv6 && src.is_v6()) {
    auto icmp = ParseIcmpv6(payload, src, dst, check);
    if (!icmp) {
      f.error = icmp.error();
      return;
    }
    f.icmp = *icmp;
    f.l4 = L4Kind::kIcmpv6;
  } else {
    f.l4 = L4Kind::kOther;
  }
}

}  // namespace

IpAddress FrameSummary::src_ip() const {
  if (l3 == L3Kind::kIpv4) return ipv4.src;
  if (l3 == L3Kind::kIpv6) return ipv6.src;
  return IpAddress();
}

IpAddress FrameSummary::dst_ip() const {
  if (l3 == L3Kind::kIpv4) return ipv4.dst;
  if (l3 == L3Kind::kIpv6) return ipv6.dst;
  return IpAddress();
}

uint8_t FrameSummary::ip_protocol() const {
  if (l3 == L3Kind::kIpv4) return ipv4.protocol;
  if (l3 == L3Kind::kIpv6) return ipv6.upper_protocol;
  return 0;
}

uint8_t FrameSummary::ttl() const {
  if (l3 == L3Kind::kIpv4) return ipv4.ttl;
  if (l3 == L3Kind::kIpv6) return ipv6.hop_limit;
  return 0;
}

uint8_t FrameSummary::tos() const {
  if (l3 == L3Kind::kIpv4) return ipv4.tos;
  if (l3 == L3Kind::kIpv6) return ipv6.traffic_class;
  return 0;
}

FrameSummary ParseFrame(std::span<const std::byte> frame, const FrameParseOptions& options) {
  FrameSummary f;
  auto eth = ParseEthernet(frame);
  if (!eth) {
    f.error = eth.error();
    return f;
  }
  f.eth = *eth;
  if (options.stripped_vlan && !f.eth.vlans.PushFront(*options.stripped_vlan)) {
    f.error = ParseError::kTooManyVlanTags;
    return f;
  }

  switch (f.eth.ethertype) {
    case kEtherTypeArp: {
      auto arp = ParseArp(f.eth.payload);
      if (!arp) {
        f.error = arp.error();
        return f;
      }
      f.arp = *arp;
      f.l3 = L3Kind::kArp;
      return f;
    }
    case kEtherTypeIpv4: {
      auto ip = ParseIpv4(f.eth.payload);
      if (!ip) {
        f.error = ip.error();
        return f;
      }
      f.ipv4 = *ip;
      f.l3 = L3Kind::kIpv4;
      if (!f.ipv4.is_fragment()) {
        ParseL4(f, f.ipv4.protocol, f.ipv4.payload, f.ipv4.src, f.ipv4.dst, options.l4_checksum);
      }
      return f;
    }
    case kEtherTypeIpv6: {
      auto ip = ParseIpv6(f.eth.payload);
      if (!ip) {
        f.error = ip.error();
        return f;
      }
      f.ipv6 = *ip;
      f.l3 = L3Kind::kIpv6;
      if (!f.ipv6.is_fragment()) {
        ParseL4(f, f.ipv6.upper_protocol, f.ipv6.payload, f.ipv6.src, f.ipv6.dst,
                options.l4_checksum);
      }
      return f;
    }
    default:
      f.l3 = L3Kind::kOther;
      return f;
  }
}

}  // namespace ringstamp
