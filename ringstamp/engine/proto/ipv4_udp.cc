#include "ringstamp/engine/proto/ipv4_udp.h"

#include <cstring>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/ip_proto.h"
#include "ringstamp/engine/proto/ipv4.h"
#include "ringstamp/engine/proto/udp.h"

namespace ringstamp {
namespace {

// One's-complement sum of a 20-byte header is 0xffff when its checksum is right. Summing
// native-order 32-bit words and folding gives the byte-swapped sum, and 0xffff swapped is itself.
bool HeaderChecksumOk(const std::byte* p) {
  uint32_t w[5];
  std::memcpy(w, p, sizeof(w));
  uint64_t sum = uint64_t{w[0]} + w[1] + w[2] + w[3] + w[4];
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return sum == 0xffffu;
}

}  // namespace

bool ParseIpv4Udp(std::span<const std::byte> packet, ChecksumCheck check, IpUdpView* out) {
  constexpr size_t kHeader = kIpv4MinHeaderSize;
  if (packet.size() < kHeader + kUdpHeaderSize) return false;
  const std::byte* p = packet.data();
  if (Load8(p) != 0x45 || Load8(p + 9) != kIpProtoUdp) return false;  // version 4, IHL 5, UDP
  const uint16_t total_length = LoadBe16(p + 2);
  if (total_length < kHeader + kUdpHeaderSize || total_length > packet.size()) return false;
  if ((LoadBe16(p + 6) & 0x3fff) != 0) return false;  // MF or an offset: a fragment
  if (!HeaderChecksumOk(p)) return false;
  const std::byte* u = p + kHeader;
  const uint16_t udp_length = LoadBe16(u + 4);
  if (udp_length < kUdpHeaderSize || udp_length > total_length - kHeader) return false;
  out->src = IpAddress::Load4(p + 12);
  out->dst = IpAddress::Load4(p + 16);
  if (check == ChecksumCheck::kVerify && LoadBe16(u + 6) != 0 &&
      UpperLayerChecksum(out->src, out->dst, kIpProtoUdp,
                         std::span<const std::byte>(u, udp_length)) != 0) {
    return false;
  }
  out->tos = Load8(p + 1);
  out->ttl = Load8(p + 8);
  out->src_port = LoadBe16(u);
  out->dst_port = LoadBe16(u + 2);
  out->payload = std::span<const std::byte>(u + kUdpHeaderSize, udp_length - kUdpHeaderSize);
  return true;
}

}  // namespace ringstamp
