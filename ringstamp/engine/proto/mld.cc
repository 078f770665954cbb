#include "ringstamp/engine/proto/mld.h"

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/checksum.h"
#include "ringstamp/engine/proto/ip_proto.h"

namespace ringstamp {

uint32_t MldQuery::MaxResponseMs() const {
  if (version != 2 || max_resp_code < 0x8000) return max_resp_code;
  const uint32_t exp = (max_resp_code >> 12) & 0x7;
  const uint32_t mant = max_resp_code & 0xfff;
  return (mant | 0x1000) << (exp + 3);
}

ParseResult<MldQuery> ParseMldQuery(const IcmpView& icmp) {
  if (icmp.type != kIcmpv6MldQuery) return ParseError::kMldNotQuery;
  const auto m = icmp.message;
  if (m.size() < kMldv1Size) return ParseError::kMldTruncated;
  MldQuery q;
  q.max_resp_code = LoadBe16(m.data() + 4);
  q.group = IpAddress::Load6(m.data() + 8);
  if (m.size() < kMldv2QueryMinSize) {
    q.version = 1;
    return q;
  }
  q.version = 2;
  q.source_count = LoadBe16(m.data() + 26);
  if ((m.size() - kMldv2QueryMinSize) / 16 < q.source_count) return ParseError::kMldTruncated;
  return q;
}

size_t BuildMldv2Report(std::span<std::byte> out, std::span<const MulticastGroupRecord> records,
                        const IpAddress& src, const IpAddress& dst) {
  if (!src.is_v6() || !dst.is_v6()) return 0;
  const size_t size = GroupRecordReportSize(records, IpFamily::kV6);
  if (size == 0 || out.size() < size || size > 0xffff) return 0;
  StoreGroupRecordReport(out.first(size), kIcmpv6Mldv2Report, records);
  StoreBe16(out.data() + 2, UpperLayerChecksum(src, dst, kIpProtoIcmpv6, out.first(size)));
  return size;
}

}  // namespace ringstamp
