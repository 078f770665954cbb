#include "ringstamp/engine/proto/udp.h"

#include <netinet/udp.h>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/ip_proto.h"

namespace ringstamp {

static_assert(sizeof(udphdr) == kUdpHeaderSize);

ParseResult<UdpView> ParseUdp(std::span<const std::byte> segment, const IpAddress& src,
                              const IpAddress& dst, ChecksumCheck check) {
  if (!src.is_valid() || src.family() != dst.family()) return ParseError::kUdpBadAddressFamily;
  if (segment.size() < kUdpHeaderSize) return ParseError::kUdpTruncated;
  const std::byte* p = segment.data();
  UdpView view;
  view.src_port = LoadBe16(p);
  view.dst_port = LoadBe16(p + 2);
  view.length = LoadBe16(p + 4);
  view.checksum = LoadBe16(p + 6);
  if (view.length < kUdpHeaderSize) return ParseError::kUdpLengthTooSmall;
  if (view.length > segment.size()) return ParseError::kUdpLengthBeyondPacket;
  const auto datagram = segment.first(view.length);
  if (view.checksum == 0) {
    if (src.is_v6()) return ParseError::kUdpZeroChecksumIpv6;
  } else if (check == ChecksumCheck::kVerify &&
             UpperLayerChecksum(src, dst, kIpProtoUdp, datagram) != 0) {
    return ParseError::kUdpBadChecksum;
  }
  view.payload = datagram.subspan(kUdpHeaderSize);
  return view;
}

size_t BuildUdp(std::span<std::byte> out, const UdpHeader& header, size_t payload_size,
                const IpAddress& src, const IpAddress& dst, UdpChecksum checksum) {
  if (!src.is_valid() || src.family() != dst.family()) return 0;
  if (checksum == UdpChecksum::kNone && !src.is_v4()) return 0;
  if (payload_size > 0xffff - kUdpHeaderSize) return 0;
  const size_t length = kUdpHeaderSize + payload_size;
  if (out.size() < length) return 0;
  std::byte* p = out.data();
  StoreBe16(p, header.src_port);
  StoreBe16(p + 2, header.dst_port);
  StoreBe16(p + 4, static_cast<uint16_t>(length));
  StoreBe16(p + 6, 0);
  if (checksum == UdpChecksum::kCompute) {
    uint16_t sum = UpperLayerChecksum(src, dst, kIpProtoUdp, out.first(length));
    // RFC 768: a computed zero is sent as all ones (zero means "no checksum").
    if (sum == 0) sum = 0xffff;
    StoreBe16(p + 6, sum);
  }
  return length;
}

}  // namespace ringstamp
