#include "ringstamp/engine/conn/short_frames.h"

#include <algorithm>
#include <cstring>

#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/proto/icmp.h"
#include "ringstamp/engine/proto/igmp.h"
#include "ringstamp/engine/proto/ip_proto.h"
#include "ringstamp/engine/proto/ipv4.h"

namespace ringstamp {

size_t PadToEthernetMinimum(std::span<std::byte> out, size_t len) {
  const size_t padded = std::max(len, kEthernetMinFrameSize);
  if (out.size() < padded) return 0;
  if (padded > len) std::memset(out.data() + len, 0, padded - len);
  return padded;
}

size_t BuildArpReplyFrame(std::span<std::byte> out, const MacAddress& dst, const MacAddress& src,
                          const VlanStack& vlans, const ArpPacket& reply) {
  const size_t hdr = EthernetHeaderSize(vlans);
  if (out.size() < hdr + kArpPacketSize) return 0;
  BuildEthernet(out, dst, src, vlans, kEtherTypeArp);
  BuildArp(out.subspan(hdr), reply);
  return PadToEthernetMinimum(out, hdr + kArpPacketSize);
}

size_t BuildIcmpv4EchoReplyFrame(std::span<std::byte> out, const EchoReplyFrame& r) {
  const size_t l2h = EthernetHeaderSize(r.vlans);
  const size_t data = r.data.size();
  const size_t need = l2h + kIpv4MinHeaderSize + kIcmpHeaderSize + data;
  if (out.size() < need) return 0;
  if (data != 0) {
    std::memcpy(out.data() + l2h + kIpv4MinHeaderSize + kIcmpHeaderSize, r.data.data(), data);
  }
  BuildIcmpv4Echo(out.subspan(l2h + kIpv4MinHeaderSize), {.reply = true, .id = r.id, .seq = r.seq},
                  data);
  BuildIpv4(out.subspan(l2h),
            {.ttl = 64, .protocol = kIpProtoIcmp, .src = r.ip_src, .dst = r.ip_dst},
            kIcmpHeaderSize + data);
  BuildEthernet(out, r.dst, r.src, r.vlans, kEtherTypeIpv4);
  return PadToEthernetMinimum(out, need);
}

size_t BuildIgmpv3ReportFrame(std::span<std::byte> out, const MacAddress& src,
                              const VlanStack& vlans, const IpAddress& ip_src,
                              const MulticastGroupRecord& record) {
  const size_t l2h = EthernetHeaderSize(vlans);
  const size_t ip_hdr = kIpv4MinHeaderSize + sizeof(kIpv4RouterAlertOption);
  if (out.size() < l2h + ip_hdr) return 0;
  const size_t igmp = BuildIgmpv3Report(out.subspan(l2h + ip_hdr), std::span(&record, 1));
  if (igmp == 0) return 0;
  BuildIpv4(out.subspan(l2h),
            {.tos = 0xc0,
             .ttl = 1,
             .protocol = kIpProtoIgmp,
             .src = ip_src,
             .dst = kIgmpv3RoutersV4,
             .options = kIpv4RouterAlertOption},
            igmp);
  BuildEthernet(out, *MulticastMac(kIgmpv3RoutersV4), src, vlans, kEtherTypeIpv4);
  return PadToEthernetMinimum(out, l2h + ip_hdr + igmp);
}

}  // namespace ringstamp
