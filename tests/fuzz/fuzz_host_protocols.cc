// Fuzz: the host-duty parsers an endpoint runs on what peers send it — ARP, IGMP, ICMPv4,
// and over IPv6: ICMPv6, NDP solicitations/advertisements, MLD queries. The first byte picks
// the parser, the rest is the message.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/arp.h"
#include "ringstamp/engine/proto/icmp.h"
#include "ringstamp/engine/proto/igmp.h"
#include "ringstamp/engine/proto/ipv6.h"
#include "ringstamp/engine/proto/mld.h"
#include "ringstamp/engine/proto/ndp.h"

using namespace ringstamp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::span<const std::byte> msg(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  const ChecksumCheck check = (data[0] & 0x80) ? ChecksumCheck::kSkip : ChecksumCheck::kVerify;
  switch (data[0] & 0x7) {
    case 0:
      (void)ParseArp(msg);
      break;
    case 1:
      (void)ParseIgmp(msg, check);
      break;
    case 2:
      (void)ParseIcmpv4(msg, check);
      break;
    default: {
      // An IPv6 packet: header, then ICMPv6, then what ICMPv6 carries.
      ParseResult<Ipv6View> ip = ParseIpv6(msg);
      if (!ip) break;
      ParseResult<IcmpView> icmp = ParseIcmpv6(ip->payload, ip->src, ip->dst, check);
      if (!icmp) break;
      (void)ParseNeighborSolicitation(*ip, *icmp);
      (void)ParseNeighborAdvertisement(*ip, *icmp);
      (void)ParseMldQuery(*icmp);
      break;
    }
  }
  return 0;
}
