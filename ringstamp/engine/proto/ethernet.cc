#include "ringstamp/engine/proto/ethernet.h"

#include <net/ethernet.h>

#include "ringstamp/engine/proto/byte_order.h"

namespace ringstamp {

// Our sizes agree with the C library's header structs (which we never cast to).
static_assert(sizeof(ether_header) == kEthernetHeaderSize);
static_assert(ETHERTYPE_IP == kEtherTypeIpv4 && ETHERTYPE_ARP == kEtherTypeArp &&
              ETHERTYPE_IPV6 == kEtherTypeIpv6 && ETHERTYPE_VLAN == kEtherTypeVlan);

ParseResult<EthernetView> ParseEthernet(std::span<const std::byte> frame) {
  if (frame.size() < kEthernetHeaderSize) return ParseError::kEthernetTruncated;
  const std::byte* p = frame.data();
  EthernetView view;
  view.dst = MacAddress::Load(p);
  view.src = MacAddress::Load(p + 6);
  size_t at = 12;
  uint16_t type = LoadBe16(p + at);
  while (IsVlanTpid(type)) {
    // TPID at `at`, TCI at `at + 2`, next EtherType at `at + 4`.
    if (frame.size() < at + kVlanTagSize + 2) return ParseError::kVlanTruncated;
    if (!view.vlans.Push(VlanTag{type, LoadBe16(p + at + 2)})) {
      return ParseError::kTooManyVlanTags;
    }
    at += kVlanTagSize;
    type = LoadBe16(p + at);
  }
  view.ethertype = type;
  view.header_size = at + 2;
  view.payload = frame.subspan(view.header_size);
  return view;
}

size_t BuildEthernet(std::span<std::byte> out, const MacAddress& dst, const MacAddress& src,
                     const VlanStack& vlans, uint16_t ethertype) {
  const size_t size = EthernetHeaderSize(vlans);
  if (out.size() < size) return 0;
  std::byte* p = out.data();
  dst.StoreTo(p);
  src.StoreTo(p + 6);
  size_t at = 12;
  for (const VlanTag& tag : vlans) {
    StoreBe16(p + at, tag.tpid);
    StoreBe16(p + at + 2, tag.tci);
    at += kVlanTagSize;
  }
  StoreBe16(p + at, ethertype);
  return size;
}

}  // namespace ringstamp
