#include "ringstamp/engine/proto/multicast.h"

#include <array>

#include "ringstamp/engine/proto/byte_order.h"

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

size_t GroupRecordReportSize(std::span<const MulticastGroupRecord> records, IpFamily family) {
  if (records.size() > 0xffff) return 0;
  size_t size = 8;
  for (const MulticastGroupRecord& r : records) {
    if (r.group.family() != family || r.sources.size() > 0xffff) return 0;
    for (const IpAddress& s : r.sources) {
      if (s.family() != family) return 0;
    }
    size += 4 + r.group.size() * (1 + r.sources.size());
  }
  return size;
}

void StoreGroupRecordReport(std::span<std::byte> out, uint8_t type,
                            std::span<const MulticastGroupRecord> records) {
  std::byte* p = out.data();
  Store8(p, type);
  Store8(p + 1, 0);
  StoreBe16(p + 2, 0);
  StoreBe16(p + 4, 0);
  StoreBe16(p + 6, static_cast<uint16_t>(records.size()));
  size_t at = 8;
  for (const MulticastGroupRecord& r : records) {
    Store8(p + at, static_cast<uint8_t>(r.type));
    Store8(p + at + 1, 0);  // aux data length
    StoreBe16(p + at + 2, static_cast<uint16_t>(r.sources.size()));
    r.group.StoreTo(p + at + 4);
    at += 4 + r.group.size();
    for (const IpAddress& s : r.sources) {
      s.StoreTo(p + at);
      at += s.size();
    }
  }
}

}  // namespace ringstamp
