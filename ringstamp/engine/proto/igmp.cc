#include "ringstamp/engine/proto/igmp.h"

#include <netinet/igmp.h>

#include "ringstamp/engine/proto/byte_order.h"

namespace ringstamp {

static_assert(sizeof(igmp) == kIgmpMinSize);
static_assert(IGMP_MEMBERSHIP_QUERY == kIgmpMembershipQuery &&
              IGMP_V2_MEMBERSHIP_REPORT == kIgmpv2Report && IGMP_V2_LEAVE_GROUP == kIgmpv2Leave);

uint32_t IgmpMessage::MaxResponseDeciseconds() const {
  if (version != 3 || max_resp_code < 128) return max_resp_code;
  const uint32_t exp = (max_resp_code >> 4) & 0x7;
  const uint32_t mant = max_resp_code & 0xf;
  return (mant | 0x10) << (exp + 3);
}

ParseResult<IgmpMessage> ParseIgmp(std::span<const std::byte> message, ChecksumCheck check) {
  if (message.size() < kIgmpMinSize) return ParseError::kIgmpTruncated;
  if (check == ChecksumCheck::kVerify && InternetChecksum(message) != 0) {
    return ParseError::kIgmpBadChecksum;
  }
  const std::byte* p = message.data();
  IgmpMessage m;
  m.type = Load8(p);
  m.max_resp_code = Load8(p + 1);
  m.message = message;
  switch (m.type) {
    case kIgmpMembershipQuery:
      m.group = IpAddress::Load4(p + 4);
      if (message.size() >= kIgmpv3QueryMinSize) {
        m.version = 3;
      } else {
        m.version = m.max_resp_code == 0 ? 1 : 2;
      }
      break;
    case kIgmpv1Report:
      m.version = 1;
      m.group = IpAddress::Load4(p + 4);
      break;
    case kIgmpv2Report:
    case kIgmpv2Leave:
      m.version = 2;
      m.group = IpAddress::Load4(p + 4);
      break;
    case kIgmpv3Report:
      m.version = 3;
      m.v3_record_count = LoadBe16(p + 6);
      break;
    default:
      break;
  }
  return m;
}

size_t BuildIgmpv2(std::span<std::byte> out, uint8_t type, const IpAddress& group) {
  if (out.size() < kIgmpMinSize || !group.is_v4()) return 0;
  std::byte* p = out.data();
  Store8(p, type);
  Store8(p + 1, 0);
  StoreBe16(p + 2, 0);
  group.StoreTo(p + 4);
  StoreBe16(p + 2, InternetChecksum(out.first(kIgmpMinSize)));
  return kIgmpMinSize;
}

size_t BuildIgmpv3Report(std::span<std::byte> out, std::span<const MulticastGroupRecord> records) {
  const size_t size = GroupRecordReportSize(records, IpFamily::kV4);
  if (size == 0 || out.size() < size) return 0;
  StoreGroupRecordReport(out.first(size), kIgmpv3Report, records);
  StoreBe16(out.data() + 2, InternetChecksum(out.first(size)));
  return size;
}

}  // namespace ringstamp
