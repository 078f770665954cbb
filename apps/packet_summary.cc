#include "apps/packet_summary.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/engine/proto/frame.h"
#include "ringstamp/engine/proto/ip_proto.h"

namespace ringstamp::app {
namespace {

std::string Icmp(const FrameSummary& p, const std::string& s, const std::string& d) {
  const bool v6 = p.l4 == L4Kind::kIcmpv6;
  const IcmpView& m = p.icmp;
  const char* what = nullptr;
  if ((!v6 && m.type == 8) || (v6 && m.type == 128)) what = "echo request";
  if ((!v6 && m.type == 0) || (v6 && m.type == 129)) what = "echo reply";
  if (what != nullptr) {
    return absl::StrFormat("%s > %s: ICMP%s %s, id %d, seq %d, length %d", s, d, v6 ? "6" : "",
                           what, m.echo_id(), m.echo_seq(), m.message.size());
  }
  if (v6 && m.type == 135) return absl::StrFormat("%s > %s: ICMP6, neighbor solicitation", s, d);
  if (v6 && m.type == 136) return absl::StrFormat("%s > %s: ICMP6, neighbor advertisement", s, d);
  return absl::StrFormat("%s > %s: ICMP%s type %d code %d", s, d, v6 ? "6" : "", m.type, m.code);
}

}  // namespace

std::string FormatPacketSummary(const Frame& f) {
  std::string out;
  if (auto best = f.stamps.BestSystem()) {
    absl::StrAppend(&out, FormatStampNs(best->ns), " ", ToAbsl(StampSourceAbbrev(best->source)),
                    " ");
  } else {
    absl::StrAppend(&out, "- ");
  }
  // The checksum is not judged here: capture shows frames, it does not drop them.
  const FrameSummary p = ParseFrame(f.bytes(), {.l4_checksum = ChecksumCheck::kSkip});
  if (p.eth.header_size == 0) {  // not even an Ethernet header
    absl::StrAppend(&out, "[", ToAbsl(ParseErrorName(p.error)), "], frame ", f.wire_len);
    return out;
  }
  absl::StrAppend(&out, p.eth.src.ToString(), " > ", p.eth.dst.ToString());
  if (f.vlan_valid) absl::StrAppend(&out, ", vlan ", f.vlan_tci & 0x0fff);
  for (const VlanTag& t : p.eth.vlans) absl::StrAppend(&out, ", vlan ", t.tci & 0x0fff);
  absl::StrAppend(&out, ", ");
  switch (p.l3) {
    case L3Kind::kArp:
      if (p.arp.op == ArpOp::kRequest) {
        absl::StrAppend(&out, "ARP, who-has ", p.arp.target_ip.ToString(), " tell ",
                        p.arp.sender_ip.ToString());
      } else {
        absl::StrAppend(&out, "ARP, ", p.arp.sender_ip.ToString(), " is-at ",
                        p.arp.sender_mac.ToString());
      }
      break;
    case L3Kind::kIpv4:
    case L3Kind::kIpv6: {
      const std::string s = p.src_ip().ToString(), d = p.dst_ip().ToString();
      absl::StrAppend(&out, p.l3 == L3Kind::kIpv4 ? "IPv4 " : "IPv6 ");
      if (p.is_fragment()) {
        absl::StrAppend(&out, s, " > ", d, ": fragment, proto ", p.ip_protocol());
      } else if (p.l4 == L4Kind::kUdp) {
        absl::StrAppend(&out, absl::StrFormat("%s.%d > %s.%d: UDP, length %d", s, p.udp.src_port, d,
                                              p.udp.dst_port, p.udp.payload.size()));
      } else if (p.l4 == L4Kind::kIcmpv4 || p.l4 == L4Kind::kIcmpv6) {
        absl::StrAppend(&out, Icmp(p, s, d));
      } else if (p.ip_protocol() == kIpProtoTcp) {
        absl::StrAppend(&out, s, " > ", d, ": TCP");
      } else {
        absl::StrAppend(&out, s, " > ", d, ": proto ", p.ip_protocol());
      }
      break;
    }
    default:
      if (p.eth.ethertype == kEtherTypeIpv4 || p.eth.ethertype == kEtherTypeIpv6) {
        absl::StrAppend(&out, p.eth.ethertype == kEtherTypeIpv4 ? "IPv4" : "IPv6");
      } else {
        absl::StrAppend(&out, absl::StrFormat("ethertype 0x%04x", p.eth.ethertype));
      }
  }
  if (!p.ok()) absl::StrAppend(&out, " [", ToAbsl(ParseErrorName(p.error)), "]");
  absl::StrAppend(&out, ", frame ", f.wire_len);
  return out;
}

}  // namespace ringstamp::app
