#include "ringstamp/engine/proto/ipv4.h"

#include <netinet/ip.h>

#include <cstring>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/checksum.h"

namespace ringstamp {

static_assert(sizeof(iphdr) == kIpv4MinHeaderSize);
static_assert(IPOPT_RA == 0x94);  // kIpv4RouterAlertOption's type byte

ParseResult<Ipv4View> ParseIpv4(std::span<const std::byte> packet) {
  if (packet.size() < kIpv4MinHeaderSize) return ParseError::kIpv4Truncated;
  const std::byte* p = packet.data();
  const uint8_t version_ihl = Load8(p);
  if ((version_ihl >> 4) != 4) return ParseError::kIpv4BadVersion;
  const size_t header_size = size_t{version_ihl & 0x0fu} * 4;
  if (header_size < kIpv4MinHeaderSize) return ParseError::kIpv4HeaderLengthTooSmall;
  if (header_size > packet.size()) return ParseError::kIpv4HeaderBeyondPacket;
  const uint16_t total_length = LoadBe16(p + 2);
  if (total_length < header_size) return ParseError::kIpv4TotalLengthTooSmall;
  if (total_length > packet.size()) return ParseError::kIpv4TotalLengthBeyondPacket;
  if (InternetChecksum(packet.first(header_size)) != 0) return ParseError::kIpv4BadChecksum;

  Ipv4View view;
  view.tos = Load8(p + 1);
  view.total_length = total_length;
  view.id = LoadBe16(p + 4);
  const uint16_t flags_offset = LoadBe16(p + 6);
  view.dont_fragment = (flags_offset & 0x4000) != 0;
  view.more_fragments = (flags_offset & 0x2000) != 0;
  view.fragment_offset = static_cast<uint16_t>((flags_offset & 0x1fff) * 8);
  view.ttl = Load8(p + 8);
  view.protocol = Load8(p + 9);
  view.checksum = LoadBe16(p + 10);
  view.src.AssignV4(p + 12);
  view.dst.AssignV4(p + 16);
  view.header_size = static_cast<uint8_t>(header_size);
  view.options = packet.subspan(kIpv4MinHeaderSize, header_size - kIpv4MinHeaderSize);
  view.payload = packet.subspan(header_size, total_length - header_size);
  return view;
}

size_t BuildIpv4(std::span<std::byte> out, const Ipv4Header& header, size_t payload_size) {
  const size_t options_size = header.options.size();
  if (options_size % 4 != 0 || options_size > kIpv4MaxHeaderSize - kIpv4MinHeaderSize) return 0;
  if (!header.src.is_v4() || !header.dst.is_v4()) return 0;
  const size_t header_size = kIpv4MinHeaderSize + options_size;
  if (payload_size > kIpv4MaxTotalLength - header_size) return 0;
  if (out.size() < header_size + payload_size) return 0;

  std::byte* p = out.data();
  Store8(p, static_cast<uint8_t>(0x40 | (header_size / 4)));
  Store8(p + 1, header.tos);
  StoreBe16(p + 2, static_cast<uint16_t>(header_size + payload_size));
  StoreBe16(p + 4, header.id);
  StoreBe16(p + 6, header.dont_fragment ? 0x4000 : 0);
  Store8(p + 8, header.ttl);
  Store8(p + 9, header.protocol);
  StoreBe16(p + 10, 0);
  header.src.StoreTo(p + 12);
  header.dst.StoreTo(p + 16);
  if (options_size > 0) std::memcpy(p + kIpv4MinHeaderSize, header.options.data(), options_size);
  StoreBe16(p + 10, InternetChecksum(out.first(header_size)));
  return header_size;
}

}  // namespace ringstamp
