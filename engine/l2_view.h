// l2_view.h — L2View: a received frame's Ethernet layer with the full VLAN stack, and its dispatch
// key.
//
//   L2View l2;
//   if (!ParseL2(frame, &l2)) { ++malformed; return; }
//   L2Key key = l2.Key();          // (dst MAC, VLAN IDs + TPIDs, EtherType): the relay's map key
//
// The kernel strips the outermost tag into the ring header on most paths
// (Frame::vlan_valid); ParseL2 puts it back in front of the tags still in the
// frame, so a stack reads the same whichever way it arrived. PCP and DEI are
// kept in `vlans` but left out of the key. Any thread; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/proto/mac_address.h"
#include "engine/proto/parse_error.h"
#include "engine/proto/vlan.h"
#include "ring/frame.h"

namespace ringstamp {

struct L2Key {
  uint64_t mac = 0;
  VlanStack vlans;  // priority bits cleared
  uint16_t ethertype = 0;

  friend bool operator==(const L2Key& a, const L2Key& b) {
    return a.mac == b.mac && a.ethertype == b.ethertype && a.vlans == b.vlans;
  }
  template <typename H>
  friend H AbslHashValue(H h, const L2Key& k) {
    return H::combine(std::move(h), k.mac, k.ethertype, k.vlans.Hash());
  }
};

struct L2View {
  MacAddress dst;
  MacAddress src;
  VlanStack vlans;  // outermost first, as on the wire
  uint16_t ethertype = 0;
  std::span<const std::byte> payload;

  L2Key Key() const { return L2Key{dst.ToU64(), vlans.WithoutPriority(), ethertype}; }
};

// Fills *out; on failure returns the reason (too short, too many tags).
ParseError ParseL2(const Frame& frame, L2View* out);

}  // namespace ringstamp
