#include "ringstamp/engine/udp_frame.h"

#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/proto/ip_proto.h"
#include "ringstamp/engine/proto/ipv4.h"
#include "ringstamp/engine/proto/ipv6.h"
#include "ringstamp/engine/proto/udp.h"

namespace ringstamp {

size_t UdpFrameHeaderSize(const UdpFrameSpec& spec) {
  return kEthernetHeaderSize + kVlanTagSize * spec.vlans.size() + (spec.src.is_v6() ? 40 : 20) +
         kUdpHeaderSize;
}

size_t BuildUdpFrame(std::span<std::byte> out, const UdpFrameSpec& spec, size_t payload_size) {
  if (spec.src.family() != spec.dst.family() || !spec.src.is_valid()) return 0;
  const size_t hdr = UdpFrameHeaderSize(spec);
  if (out.size() < hdr + payload_size) return 0;
  const bool v6 = spec.src.is_v6();
  const size_t l2 = BuildEthernet(out, spec.dst_mac, spec.src_mac, spec.vlans,
                                  v6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
  if (l2 == 0) return 0;
  const size_t udp_len = kUdpHeaderSize + payload_size;
  size_t l3;
  if (v6) {
    l3 = BuildIpv6(out.subspan(l2),
                   {.traffic_class = spec.tos,
                    .flow_label = spec.flow_label,
                    .next_header = kIpProtoUdp,
                    .hop_limit = spec.ttl,
                    .src = spec.src,
                    .dst = spec.dst},
                   udp_len);
  } else {
    l3 = BuildIpv4(out.subspan(l2),
                   {.tos = spec.tos,
                    .id = spec.ip_id,
                    .ttl = spec.ttl,
                    .protocol = kIpProtoUdp,
                    .src = spec.src,
                    .dst = spec.dst},
                   udp_len);
  }
  if (l3 == 0) return 0;
  const size_t l4 =
      BuildUdp(out.subspan(l2 + l3), {.src_port = spec.src_port, .dst_port = spec.dst_port},
               payload_size, spec.src, spec.dst);
  if (l4 == 0) return 0;
  return l2 + l3 + l4;  // l4 = UDP header + payload
}

}  // namespace ringstamp
