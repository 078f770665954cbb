#include "ringstamp/engine/conn/l2_view.h"

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/ethernet.h"

namespace ringstamp {

ParseError ParseL2(const Frame& frame, L2View* out) {
  const std::byte* p = frame.data;
  const size_t size = frame.snap_len;
  if (size < kEthernetHeaderSize) return ParseError::kEthernetTruncated;
  out->dst = MacAddress::Load(p);
  out->src = MacAddress::Load(p + 6);
  out->vlans.Clear();
  L2Key key;
  size_t tag = 0;
  if (frame.vlan_valid) {
    const uint16_t tpid = frame.vlan_tpid != 0 ? frame.vlan_tpid : kEtherTypeVlan;
    out->vlans.Push(VlanTag{tpid, frame.vlan_tci});
    key.AddTag(tag++, VlanKeyTag(tpid, frame.vlan_tci));
  }
  size_t at = 12;
  uint16_t type = LoadBe16(p + at);
  while (IsVlanTpid(type)) {
    // TPID at `at`, TCI at `at + 2`, next EtherType at `at + 4`.
    if (size < at + kVlanTagSize + 2) return ParseError::kVlanTruncated;
    const uint16_t tci = LoadBe16(p + at + 2);
    if (!out->vlans.Push(VlanTag{type, tci})) return ParseError::kTooManyVlanTags;
    key.AddTag(tag++, VlanKeyTag(type, tci));
    at += kVlanTagSize;
    type = LoadBe16(p + at);
  }
  out->ethertype = type;
  out->payload = std::span<const std::byte>(p + at + 2, size - at - 2);
  // The destination MAC is the frame's first 48 bits: one load, no byte loop.
  key.mac_type = (LoadBe64(p) & ~uint64_t{0xffff}) | type;
  out->key = key;
  return ParseError::kNone;
}

}  // namespace ringstamp
