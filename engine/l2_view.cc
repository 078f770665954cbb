#include "engine/l2_view.h"

#include "engine/proto/ethernet.h"

namespace ringstamp {

ParseError ParseL2(const Frame& frame, L2View* out) {
  auto eth = ParseEthernet(frame.bytes());
  if (!eth) return eth.error();
  out->dst = eth->dst;
  out->src = eth->src;
  out->vlans = eth->vlans;
  out->ethertype = eth->ethertype;
  out->payload = eth->payload;
  if (frame.vlan_valid) {
    const uint16_t tpid = frame.vlan_tpid != 0 ? frame.vlan_tpid : kEtherTypeVlan;
    if (!out->vlans.PushFront(VlanTag{tpid, frame.vlan_tci})) return ParseError::kTooManyVlanTags;
  }
  return ParseError::kNone;
}

}  // namespace ringstamp
