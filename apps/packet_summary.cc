#include "apps/packet_summary.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/absl_compat.h"
#include "engine/proto/arp.h"
#include "engine/proto/ethernet.h"
#include "engine/proto/icmp.h"
#include "engine/proto/ip_proto.h"
#include "engine/proto/ipv4.h"
#include "engine/proto/ipv6.h"
#include "engine/proto/udp.h"

namespace ringstamp::app {
namespace {

const char* SourceAbbrev(StampSource s) {
  switch (s) {
    case StampSource::kHardwareRaw:
    case StampSource::kHardwareSys:
      return "hw";
    case StampSource::kSoftware:
      return "sw";
    case StampSource::kUserspace:
      return "user";
    case StampSource::kEstimate:
      return "est";
  }
  return "?";
}

std::string Transport(uint8_t proto, std::span<const std::byte> payload, const IpAddress& src,
                      const IpAddress& dst, bool fragment) {
  const std::string s = src.ToString(), d = dst.ToString();
  if (fragment) return absl::StrFormat("%s > %s: fragment, proto %d", s, d, proto);
  if (proto == kIpProtoUdp) {
    auto udp = ParseUdp(payload, src, dst, ChecksumCheck::kSkip);
    if (!udp)
      return absl::StrFormat("%s > %s: UDP [%s]", s, d, ToAbsl(ParseErrorName(udp.error())));
    return absl::StrFormat("%s.%d > %s.%d: UDP, length %d", s, udp->src_port, d, udp->dst_port,
                           udp->payload.size());
  }
  if (proto == kIpProtoIcmp || proto == kIpProtoIcmpv6) {
    auto icmp = proto == kIpProtoIcmp ? ParseIcmpv4(payload, ChecksumCheck::kSkip)
                                      : ParseIcmpv6(payload, src, dst, ChecksumCheck::kSkip);
    if (!icmp)
      return absl::StrFormat("%s > %s: ICMP [%s]", s, d, ToAbsl(ParseErrorName(icmp.error())));
    const bool v6 = proto == kIpProtoIcmpv6;
    const char* what = nullptr;
    if ((!v6 && icmp->type == 8) || (v6 && icmp->type == 128)) what = "echo request";
    if ((!v6 && icmp->type == 0) || (v6 && icmp->type == 129)) what = "echo reply";
    if (v6 && icmp->type == 135)
      return absl::StrFormat("%s > %s: ICMP6, neighbor solicitation", s, d);
    if (v6 && icmp->type == 136)
      return absl::StrFormat("%s > %s: ICMP6, neighbor advertisement", s, d);
    if (what != nullptr) {
      return absl::StrFormat("%s > %s: ICMP%s %s, id %d, seq %d, length %d", s, d, v6 ? "6" : "",
                             what, icmp->echo_id(), icmp->echo_seq(), icmp->message.size());
    }
    return absl::StrFormat("%s > %s: ICMP%s type %d code %d", s, d, v6 ? "6" : "", icmp->type,
                           icmp->code);
  }
  if (proto == kIpProtoTcp) return absl::StrFormat("%s > %s: TCP, length %d", s, d, payload.size());
  return absl::StrFormat("%s > %s: proto %d, length %d", s, d, proto, payload.size());
}

}  // namespace

std::string FormatPacketSummary(const Frame& f) {
  std::string out;
  if (auto best = f.stamps.BestSystem()) {
    absl::StrAppend(&out, FormatStampNs(best->ns), " ", SourceAbbrev(best->source), " ");
  } else {
    absl::StrAppend(&out, "- ");
  }
  auto eth = ParseEthernet(f.bytes());
  if (!eth) {
    absl::StrAppend(&out, "[", ToAbsl(ParseErrorName(eth.error())), "], length ", f.wire_len);
    return out;
  }
  absl::StrAppend(&out, eth->src.ToString(), " > ", eth->dst.ToString());
  if (f.vlan_valid) absl::StrAppend(&out, ", vlan ", f.vlan_tci & 0x0fff);
  for (const VlanTag& t : eth->vlans) absl::StrAppend(&out, ", vlan ", t.tci & 0x0fff);
  absl::StrAppend(&out, ", ");
  switch (eth->ethertype) {
    case kEtherTypeIpv4: {
      auto ip = ParseIpv4(eth->payload);
      if (!ip) {
        absl::StrAppend(&out, "IPv4 [", ToAbsl(ParseErrorName(ip.error())), "]");
        break;
      }
      absl::StrAppend(&out, "IPv4 ",
                      Transport(ip->protocol, ip->payload, ip->src, ip->dst,
                                ip->is_fragment() && ip->fragment_offset != 0));
      break;
    }
    case kEtherTypeIpv6: {
      auto ip = ParseIpv6(eth->payload);
      if (!ip) {
        absl::StrAppend(&out, "IPv6 [", ToAbsl(ParseErrorName(ip.error())), "]");
        break;
      }
      absl::StrAppend(&out, "IPv6 ",
                      Transport(ip->upper_protocol, ip->payload, ip->src, ip->dst,
                                ip->is_fragment() && ip->fragment_offset != 0));
      break;
    }
    case kEtherTypeArp: {
      auto arp = ParseArp(eth->payload);
      if (!arp) {
        absl::StrAppend(&out, "ARP [", ToAbsl(ParseErrorName(arp.error())), "]");
      } else if (arp->op == ArpOp::kRequest) {
        absl::StrAppend(&out, "ARP, who-has ", arp->target_ip.ToString(), " tell ",
                        arp->sender_ip.ToString());
      } else {
        absl::StrAppend(&out, "ARP, ", arp->sender_ip.ToString(), " is-at ",
                        arp->sender_mac.ToString());
      }
      break;
    }
    default:
      absl::StrAppend(&out, absl::StrFormat("ethertype 0x%04x", eth->ethertype));
  }
  absl::StrAppend(&out, ", frame ", f.wire_len);
  return out;
}

}  // namespace ringstamp::app
