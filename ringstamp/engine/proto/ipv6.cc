#include "ringstamp/engine/proto/ipv6.h"

#include <netinet/ip6.h>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/ip_proto.h"

namespace ringstamp {

static_assert(sizeof(ip6_hdr) == kIpv6HeaderSize);
static_assert(sizeof(ip6_frag) == kIpv6FragmentHeaderSize);

namespace {

// Bits of the "seen" mask, one per extension header type.
enum SeenBit : uint32_t {
  kSeenHopByHop = 1u << 0,
  kSeenRouting = 1u << 1,
  kSeenFragment = 1u << 2,
  kSeenDestOpts = 1u << 3,
  kSeenDestOptsTwice = 1u << 4,
  kSeenAh = 1u << 5,
  kSeenMobility = 1u << 6,
  kSeenHip = 1u << 7,
  kSeenShim6 = 1u << 8,
  kSeenExperimental1 = 1u << 9,
  kSeenExperimental2 = 1u << 10,
};

// The "seen" bit of an extension header, or 0 when `type` is not one.
uint32_t ExtensionBit(uint8_t type) {
  switch (type) {
    case kIpProtoHopByHop:
      return kSeenHopByHop;
    case kIpProtoRouting:
      return kSeenRouting;
    case kIpProtoFragment:
      return kSeenFragment;
    case kIpProtoDestOpts:
      return kSeenDestOpts;
    case kIpProtoAh:
      return kSeenAh;
    case kIpProtoMobility:
      return kSeenMobility;
    case kIpProtoHip:
      return kSeenHip;
    case kIpProtoShim6:
      return kSeenShim6;
    case kIpProtoExperimental1:
      return kSeenExperimental1;
    case kIpProtoExperimental2:
      return kSeenExperimental2;
    default:
      return 0;
  }
}

}  // namespace

ParseResult<Ipv6View> ParseIpv6(std::span<const std::byte> packet) {
  if (packet.size() < kIpv6HeaderSize) return ParseError::kIpv6Truncated;
  const std::byte* p = packet.data();
  const uint32_t first_word = LoadBe32(p);
  if ((first_word >> 28) != 6) return ParseError::kIpv6BadVersion;
  Ipv6View view;
  view.traffic_class = static_cast<uint8_t>(first_word >> 20);
  view.flow_label = first_word & 0xfffff;
  view.payload_length = LoadBe16(p + 4);
  view.next_header = Load8(p + 6);
  view.hop_limit = Load8(p + 7);
  view.src.AssignV6(p + 8);
  view.dst.AssignV6(p + 24);
  if (view.payload_length > packet.size() - kIpv6HeaderSize) {
    return ParseError::kIpv6PayloadLengthBeyondPacket;
  }
  const auto payload = packet.subspan(kIpv6HeaderSize, view.payload_length);

  uint8_t type = view.next_header;
  size_t at = 0;  // offset in `payload`
  uint32_t seen = 0;
  for (;;) {
    const uint32_t bit = ExtensionBit(type);
    if (bit == 0) break;  // upper layer, ESP or No Next Header
    if (view.extension_count == kMaxIpv6ExtensionHeaders) {
      return ParseError::kIpv6TooManyExtensionHeaders;
    }
    if (type == kIpProtoHopByHop && view.extension_count != 0) {
      return ParseError::kIpv6HopByHopNotFirst;
    }
    if ((seen & bit) != 0) {
      if (bit != kSeenDestOpts || (seen & kSeenDestOptsTwice) != 0) {
        return ParseError::kIpv6ExtensionHeaderRepeated;
      }
      seen |= kSeenDestOptsTwice;
    }
    seen |= bit;
    // Every extension header starts with next header and a length byte.
    if (payload.size() - at < 2) return ParseError::kIpv6ExtensionHeaderTruncated;
    const std::byte* h = payload.data() + at;
    size_t size;
    if (type == kIpProtoFragment) {
      size = kIpv6FragmentHeaderSize;
    } else if (type == kIpProtoAh) {
      size = (size_t{Load8(h + 1)} + 2) * 4;  // RFC 4302: in 4-byte units, minus 2
    } else {
      size = (size_t{Load8(h + 1)} + 1) * 8;
    }
    if (payload.size() - at < size) return ParseError::kIpv6ExtensionHeaderTruncated;
    ++view.extension_count;
    const uint8_t next = Load8(h);
    at += size;
    type = next;
    if (bit == kSeenFragment) {
      const uint16_t offset_flags = LoadBe16(h + 2);
      view.has_fragment_header = true;
      view.fragment_offset = static_cast<uint16_t>(offset_flags & 0xfff8);
      view.more_fragments = (offset_flags & 0x1) != 0;
      view.fragment_id = LoadBe32(h + 4);
      // A later fragment holds no headers of its own; stop here.
      if (view.fragment_offset != 0) break;
    }
  }
  view.upper_protocol = type;
  view.header_size = static_cast<uint16_t>(kIpv6HeaderSize + at);
  view.payload = type == kIpProtoNoNext ? payload.subspan(at, 0) : payload.subspan(at);
  return view;
}

size_t BuildIpv6(std::span<std::byte> out, const Ipv6Header& header, size_t payload_size) {
  if (!header.src.is_v6() || !header.dst.is_v6()) return 0;
  if (payload_size > 0xffff) return 0;
  if (out.size() < kIpv6HeaderSize + payload_size) return 0;
  std::byte* p = out.data();
  StoreBe32(p, (6u << 28) | (uint32_t{header.traffic_class} << 20) | (header.flow_label & 0xfffff));
  StoreBe16(p + 4, static_cast<uint16_t>(payload_size));
  Store8(p + 6, header.next_header);
  Store8(p + 7, header.hop_limit);
  header.src.StoreTo(p + 8);
  header.dst.StoreTo(p + 24);
  return kIpv6HeaderSize;
}

size_t BuildIpv6RouterAlertHopByHop(std::span<std::byte> out, uint8_t next_header) {
  if (out.size() < kIpv6RouterAlertHopByHopSize) return 0;
  std::byte* p = out.data();
  Store8(p, next_header);
  Store8(p + 1, 0);     // length: (0 + 1) * 8 bytes
  Store8(p + 2, 5);     // option: Router Alert
  Store8(p + 3, 2);     //   length 2
  StoreBe16(p + 4, 0);  //   value 0: Multicast Listener Discovery
  Store8(p + 6, 1);     // option: PadN
  Store8(p + 7, 0);     //   length 0
  return kIpv6RouterAlertHopByHopSize;
}

}  // namespace ringstamp
