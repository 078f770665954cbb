#include "ringstamp/engine/proto/icmp.h"

#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/ip_proto.h"

namespace ringstamp {

static_assert(ICMP_MINLEN == kIcmpHeaderSize);
static_assert(sizeof(icmp6_hdr) == kIcmpHeaderSize);
static_assert(ICMP_ECHO == kIcmpv4EchoRequest && ICMP_ECHOREPLY == kIcmpv4EchoReply);
static_assert(ICMP6_ECHO_REQUEST == kIcmpv6EchoRequest && ICMP6_ECHO_REPLY == kIcmpv6EchoReply);

namespace {

IcmpView ReadHeader(std::span<const std::byte> message) {
  const std::byte* p = message.data();
  IcmpView view;
  view.type = Load8(p);
  view.code = Load8(p + 1);
  view.checksum = LoadBe16(p + 2);
  view.rest = LoadBe32(p + 4);
  view.message = message;
  view.body = message.subspan(kIcmpHeaderSize);
  return view;
}

void WriteEchoHeader(std::byte* p, uint8_t type, const IcmpEcho& echo) {
  Store8(p, type);
  Store8(p + 1, 0);
  StoreBe16(p + 2, 0);
  StoreBe16(p + 4, echo.id);
  StoreBe16(p + 6, echo.seq);
}

}  // namespace

ParseResult<IcmpView> ParseIcmpv4(std::span<const std::byte> message, ChecksumCheck check) {
  if (message.size() < kIcmpHeaderSize) return ParseError::kIcmpTruncated;
  if (check == ChecksumCheck::kVerify && InternetChecksum(message) != 0) {
    return ParseError::kIcmpBadChecksum;
  }
  return ReadHeader(message);
}

ParseResult<IcmpView> ParseIcmpv6(std::span<const std::byte> message, const IpAddress& src,
                                  const IpAddress& dst, ChecksumCheck check) {
  if (message.size() < kIcmpHeaderSize) return ParseError::kIcmpTruncated;
  if (check == ChecksumCheck::kVerify &&
      (!src.is_v6() || !dst.is_v6() ||
       UpperLayerChecksum(src, dst, kIpProtoIcmpv6, message) != 0)) {
    return ParseError::kIcmpBadChecksum;
  }
  return ReadHeader(message);
}

size_t BuildIcmpv4Echo(std::span<std::byte> out, const IcmpEcho& echo, size_t data_size) {
  if (data_size > 0xffff - kIcmpHeaderSize) return 0;
  const size_t size = kIcmpHeaderSize + data_size;
  if (out.size() < size) return 0;
  WriteEchoHeader(out.data(), echo.reply ? kIcmpv4EchoReply : kIcmpv4EchoRequest, echo);
  StoreBe16(out.data() + 2, InternetChecksum(out.first(size)));
  return size;
}

size_t BuildIcmpv6Echo(std::span<std::byte> out, const IcmpEcho& echo, size_t data_size,
                       const IpAddress& src, const IpAddress& dst) {
  if (!src.is_v6() || !dst.is_v6()) return 0;
  if (data_size > 0xffff - kIcmpHeaderSize) return 0;
  const size_t size = kIcmpHeaderSize + data_size;
  if (out.size() < size) return 0;
  WriteEchoHeader(out.data(), echo.reply ? kIcmpv6EchoReply : kIcmpv6EchoRequest, echo);
  StoreBe16(out.data() + 2, UpperLayerChecksum(src, dst, kIpProtoIcmpv6, out.first(size)));
  return size;
}

}  // namespace ringstamp
