#include "engine/proto/multicast.h"

#include <array>

namespace ringstamp {

std::optional<MacAddress> MulticastMac(const IpAddress& group) {
  if (!group.IsMulticast()) return std::nullopt;
  const auto b = group.bytes();
  if (group.is_v4()) {
    return MacAddress{{0x01, 0x00, 0x5e, static_cast<uint8_t>(b[1] & 0x7f), b[2], b[3]}};
  }
  return MacAddress{{0x33, 0x33, b[12], b[13], b[14], b[15]}};
}

IpAddress SolicitedNodeAddress(const IpAddress& address) {
  if (!address.is_v6()) return IpAddress();
  const auto b = address.bytes();
  return IpAddress::V6({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, b[13], b[14], b[15]});
}

}  // namespace ringstamp
