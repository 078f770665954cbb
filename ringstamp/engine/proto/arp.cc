#include "ringstamp/engine/proto/arp.h"

#include <netinet/if_ether.h>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/ethernet.h"

namespace ringstamp {

static_assert(sizeof(ether_arp) == kArpPacketSize);

namespace {

constexpr uint16_t kHardwareEthernet = 1;

}  // namespace

ParseResult<ArpPacket> ParseArp(std::span<const std::byte> payload) {
  if (payload.size() < kArpPacketSize) return ParseError::kArpTruncated;
  const std::byte* p = payload.data();
  if (LoadBe16(p) != kHardwareEthernet || LoadBe16(p + 2) != kEtherTypeIpv4 || Load8(p + 4) != 6 ||
      Load8(p + 5) != 4) {
    return ParseError::kArpUnsupported;
  }
  const uint16_t op = LoadBe16(p + 6);
  if (op != static_cast<uint16_t>(ArpOp::kRequest) && op != static_cast<uint16_t>(ArpOp::kReply)) {
    return ParseError::kArpBadOperation;
  }
  ArpPacket packet;
  packet.op = static_cast<ArpOp>(op);
  packet.sender_mac = MacAddress::Load(p + 8);
  packet.sender_ip.AssignV4(p + 14);
  packet.target_mac = MacAddress::Load(p + 18);
  packet.target_ip.AssignV4(p + 24);
  return packet;
}

size_t BuildArp(std::span<std::byte> out, const ArpPacket& packet) {
  if (out.size() < kArpPacketSize) return 0;
  if (!packet.sender_ip.is_v4() || !packet.target_ip.is_v4()) return 0;
  std::byte* p = out.data();
  StoreBe16(p, kHardwareEthernet);
  StoreBe16(p + 2, kEtherTypeIpv4);
  Store8(p + 4, 6);
  Store8(p + 5, 4);
  StoreBe16(p + 6, static_cast<uint16_t>(packet.op));
  packet.sender_mac.StoreTo(p + 8);
  packet.sender_ip.StoreTo(p + 14);
  packet.target_mac.StoreTo(p + 18);
  packet.target_ip.StoreTo(p + 24);
  return kArpPacketSize;
}

}  // namespace ringstamp
