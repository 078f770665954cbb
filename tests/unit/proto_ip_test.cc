// Tests for engine/proto/: IpAddress, checksums, IPv4 and UDP.
#include <doctest/doctest.h>

#include <cstring>
#include <string_view>
#include <vector>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/checksum.h"
#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/ip_proto.h"
#include "ringstamp/engine/proto/ipv4.h"
#include "ringstamp/engine/proto/udp.h"
#include "tests/unit/fixtures/proto_golden_frames.h"
#include "tests/unit/fixtures/proto_test_util.h"

namespace ringstamp {
namespace {

using testing::At;
using testing::Bytes;
using testing::Copy;
using testing::Ip;
using testing::L3;
using testing::NaiveChecksum;
using testing::TestRng;

TEST_CASE("proto: IpAddress parses and formats both families") {
  const IpAddress v4 = Ip("192.0.2.1");
  CHECK(v4.is_v4());
  CHECK(v4.v4() == 0xc0000201u);
  CHECK(v4 == IpAddress::V4(192, 0, 2, 1));
  CHECK(v4 == IpAddress::V4(0xc0000201u));
  CHECK(v4.ToString() == "192.0.2.1");
  CHECK(v4.size() == 4);
  CHECK(v4.bytes()[0] == 192);

  const IpAddress v6 = Ip("2001:DB8::1");
  CHECK(v6.is_v6());
  CHECK(v6.ToString() == "2001:db8::1");
  CHECK(v6.size() == 16);
  CHECK(v6.v4() == 0);
  CHECK(Ip("::ffff:10.0.0.1").is_v6());

  for (std::string_view bad :
       {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4x", " 1.2.3.4", "1.2.3.4 ", "fe80::1%eth0",
        "2001:db8::1/64", ":::", "1.2.3.4/24", "hello", "1:2:3:4:5:6:7:8:9"}) {
    CAPTURE(bad);
    CHECK_FALSE(IpAddress::Parse(bad).has_value());
  }
  CHECK_FALSE(IpAddress::Parse(std::string_view("1.2.3.4\0junk", 12)).has_value());

  const IpAddress none;
  CHECK_FALSE(none.is_valid());
  CHECK(none.size() == 0);
  CHECK(none.ToString() == "none");
  CHECK(none != Ip("0.0.0.0"));
  CHECK(Ip("0.0.0.0") != Ip("::"));
  CHECK(Ip("0.0.0.0").Hash() != Ip("::").Hash());

  char buf[IpAddress::kFormatBufferSize];
  CHECK(Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").Format(buf) == 39);
  CHECK(Ip("::ffff:10.0.0.1").Format(buf) == 15);
  CHECK(std::string_view(buf) == "::ffff:10.0.0.1");

  std::byte wire[16];
  v6.StoreTo(wire);
  CHECK(IpAddress::Load6(wire) == v6);
  v4.StoreTo(wire);
  CHECK(IpAddress::Load4(wire) == v4);

  // In place over an address of the other family: the same value as the loads, nothing left
  // of what was there (an IPv4 address keeps its twelve unused bytes zero).
  IpAddress in_place = v6;
  in_place.AssignV4(wire);
  CHECK(in_place == v4);
  CHECK(in_place.Hash() == v4.Hash());
  v6.StoreTo(wire);
  in_place.AssignV6(wire);
  CHECK(in_place == v6);
}

TEST_CASE("proto: IpAddress predicates and masks") {
  CHECK(Ip("0.0.0.0").IsUnspecified());
  CHECK(Ip("::").IsUnspecified());
  CHECK_FALSE(IpAddress().IsUnspecified());
  CHECK(Ip("127.1.2.3").IsLoopback());
  CHECK(Ip("::1").IsLoopback());
  CHECK_FALSE(Ip("::2").IsLoopback());
  CHECK(Ip("224.0.0.22").IsMulticast());
  CHECK(Ip("239.255.255.255").IsMulticast());
  CHECK_FALSE(Ip("240.0.0.1").IsMulticast());
  CHECK(Ip("ff02::16").IsMulticast());
  CHECK(Ip("169.254.1.1").IsLinkLocal());
  CHECK(Ip("fe80::1").IsLinkLocal());
  CHECK(Ip("febf::1").IsLinkLocal());
  CHECK_FALSE(Ip("fec0::1").IsLinkLocal());
  CHECK(Ip("255.255.255.255").IsBroadcast());

  CHECK(Ip("10.1.2.3").Masked(24) == Ip("10.1.2.0"));
  CHECK(Ip("10.1.2.3").Masked(12) == Ip("10.0.0.0"));
  CHECK(Ip("10.1.2.3").Masked(0) == Ip("0.0.0.0"));
  CHECK(Ip("10.1.2.3").Masked(99) == Ip("10.1.2.3"));
  CHECK(Ip("2001:db8:abcd:12ff::1").Masked(56) == Ip("2001:db8:abcd:1200::"));
  CHECK(Ip("2001:db8::1").Masked(-5) == Ip("::"));
}

TEST_CASE("proto: InternetChecksum agrees with a naive RFC 1071 sum at every length") {
  TestRng rng(42);
  for (size_t len = 0; len <= 1600; ++len) {
    auto data = rng.RandomBytes(len);
    CAPTURE(len);
    REQUIRE(InternetChecksum(data) == NaiveChecksum(data));
  }
  // All-ones data stresses the carries: 0xffff words sum to -0.
  std::vector<std::byte> ones(4099, std::byte{0xff});
  for (size_t len : {0, 1, 2, 3, 8, 31, 32, 33, 4096, 4099}) {
    auto span = std::span(ones).first(len);
    CAPTURE(len);
    CHECK(InternetChecksum(span) == NaiveChecksum(span));
  }
}

TEST_CASE("proto: ChecksumAccumulator over arbitrary pieces equals one pass") {
  TestRng rng(7);
  for (int round = 0; round < 2000; ++round) {
    const size_t len = rng.Below(300);
    auto data = rng.RandomBytes(len);
    ChecksumAccumulator acc;
    size_t at = 0;
    while (at < len) {
      const size_t piece = std::min(len - at, rng.Below(17));
      acc.Add(std::span(data).subspan(at, piece));
      at += piece;
    }
    CAPTURE(len);
    REQUIRE(acc.Checksum() == NaiveChecksum(data));
  }
  // Fields added as numbers land at the same offsets as their bytes would.
  std::byte bytes[7] = {std::byte{0x12}, std::byte{0x34}, std::byte{0x56}, std::byte{0x78},
                        std::byte{0x9a}, std::byte{0xbc}, std::byte{0xde}};
  ChecksumAccumulator acc;
  acc.Add(std::span(bytes, 1));
  acc.AddBe16(0x3456);
  acc.AddBe32(0x789abcde);
  CHECK(acc.Checksum() == NaiveChecksum(bytes));
}

TEST_CASE("proto: ChecksumAdjust matches a full recomputation (RFC 1624)") {
  TestRng rng(99);
  for (int round = 0; round < 1000; ++round) {
    auto data = rng.RandomBytes(2 * (1 + rng.Below(40)));
    const uint16_t before = InternetChecksum(data);
    const size_t word = 2 * rng.Below(data.size() / 2);
    const uint16_t old_word = LoadBe16(data.data() + word);
    const uint16_t new_word = round % 10 == 0 ? 0 : static_cast<uint16_t>(rng.Next());
    StoreBe16(data.data() + word, new_word);
    const uint16_t adjusted = ChecksumAdjust(before, old_word, new_word);
    // One's complement has two zeros; compare as sums (both verify the data).
    std::vector<std::byte> with(data);
    with.resize(data.size() + 2);
    StoreBe16(with.data() + data.size(), adjusted);
    CHECK(InternetChecksum(with) == 0);
  }
}

TEST_CASE("proto: ParseIpv4 reads a kernel ICMP echo and its fields") {
  auto ip = ParseIpv4(L3(Bytes(testing::kIcmpEchoRequest)));
  REQUIRE(ip.ok());
  CHECK(ip->header_size == 20);
  CHECK(ip->total_length == 60);
  CHECK(ip->ttl == 64);
  CHECK(ip->tos == 0);
  CHECK(ip->protocol == kIpProtoIcmp);
  CHECK(ip->dont_fragment);
  CHECK_FALSE(ip->is_fragment());
  CHECK(ip->src == Ip("10.0.0.1"));
  CHECK(ip->dst == Ip("10.0.0.2"));
  CHECK(ip->options.empty());
  CHECK(ip->payload.size() == 40);
  CHECK(ip->checksum == LoadBe16(L3(Bytes(testing::kIcmpEchoRequest)).data() + 10));

  auto qinq = ParseIpv4(Bytes(testing::kQinQUdp).subspan(22));
  REQUIRE(qinq.ok());
  CHECK(qinq->tos == 0xb8);
  CHECK(qinq->dscp() == 46);
  CHECK(qinq->ecn() == 0);
  CHECK(qinq->ttl == 17);
}

TEST_CASE("proto: ParseIpv4 skips options by IHL (ping -R)") {
  auto ip = ParseIpv4(L3(Bytes(testing::kIcmpEchoRecordRoute)));
  REQUIRE(ip.ok());
  CHECK(ip->header_size == 60);
  CHECK(ip->options.size() == 40);
  CHECK(At(ip->options, 0) == 1);  // NOP
  CHECK(At(ip->options, 1) == 7);  // Record Route
  CHECK(ip->payload.size() == ip->total_length - 60u);
  CHECK(At(ip->payload, 0) == 8);  // ICMP echo request starts right after the options
}

TEST_CASE("proto: ParseIpv4 flags fragments and does not reassemble") {
  auto first = ParseIpv4(L3(Bytes(testing::kIpv4FirstFragment)));
  REQUIRE(first.ok());
  CHECK(first->more_fragments);
  CHECK(first->fragment_offset == 0);
  CHECK(first->is_fragment());

  auto last = ParseIpv4(L3(Bytes(testing::kIpv4LastFragment)));
  REQUIRE(last.ok());
  CHECK_FALSE(last->more_fragments);
  CHECK(last->fragment_offset == first->payload.size());
  CHECK(last->is_fragment());
  CHECK(last->id == first->id);
}

TEST_CASE("proto: ParseIpv4 trims Ethernet padding off the payload") {
  auto padded = Copy(L3(Bytes(testing::kUdp4Empty)));
  padded.resize(padded.size() + 18, std::byte{0});  // a 60-byte minimum frame's padding
  auto ip = ParseIpv4(padded);
  REQUIRE(ip.ok());
  CHECK(ip->payload.size() == 8);
}

TEST_CASE("proto: BuildIpv4 reproduces kernel headers, options included") {
  for (auto frame : {Bytes(testing::kIcmpEchoRequest), Bytes(testing::kUdp4Datagram),
                     Bytes(testing::kIcmpEchoRecordRoute), Bytes(testing::kIgmpv3ReportJoin)}) {
    auto ip = ParseIpv4(L3(frame));
    REQUIRE(ip.ok());
    Ipv4Header h;
    h.tos = ip->tos;
    h.id = ip->id;
    h.dont_fragment = ip->dont_fragment;
    h.ttl = ip->ttl;
    h.protocol = ip->protocol;
    h.src = ip->src;
    h.dst = ip->dst;
    h.options = ip->options;
    std::vector<std::byte> out(ip->total_length, std::byte{0x55});
    REQUIRE(BuildIpv4(out, h, ip->payload.size()) == ip->header_size);
    CHECK(std::memcmp(out.data(), L3(frame).data(), ip->header_size) == 0);
    CHECK(out[ip->header_size] == std::byte{0x55});
  }
}

TEST_CASE("proto: BuildIpv4 refuses what it cannot write") {
  Ipv4Header h{.protocol = kIpProtoUdp, .src = Ip("10.0.0.1"), .dst = Ip("10.0.0.2")};
  std::vector<std::byte> out(100);
  CHECK(BuildIpv4(out, h, 80) == 20);
  CHECK(BuildIpv4(out, h, 81) == 0);  // header + payload must fit
  std::vector<std::byte> big(70000);
  CHECK(BuildIpv4(big, h, 65515) == 20);
  CHECK(BuildIpv4(big, h, 65516) == 0);  // total length overflows 16 bits
  const std::byte three[3] = {};
  h.options = three;
  CHECK(BuildIpv4(out, h, 0) == 0);  // options not a multiple of 4
  std::byte forty_four[44] = {};
  h.options = forty_four;
  CHECK(BuildIpv4(out, h, 0) == 0);  // more than 40 bytes of options
  h.options = kIpv4RouterAlertOption;
  CHECK(BuildIpv4(out, h, 0) == 24);
  h.dst = Ip("::1");
  CHECK(BuildIpv4(out, h, 0) == 0);
  h.dst = IpAddress();
  CHECK(BuildIpv4(out, h, 0) == 0);
}

TEST_CASE("proto: ParseIpv4 rejects every lying length field") {
  const auto good = L3(Bytes(testing::kIcmpEchoRecordRoute));
  auto with = [&](size_t offset, uint8_t value, bool fix_checksum = true) {
    auto bytes = Copy(good);
    bytes[offset] = std::byte{value};
    if (fix_checksum) {
      const size_t hl = std::min<size_t>((value & 0xf) * 4, bytes.size());
      StoreBe16(bytes.data() + 10, 0);
      if (offset == 0 && hl >= 20) {
        StoreBe16(bytes.data() + 10, InternetChecksum(std::span(bytes).first(hl)));
      } else {
        StoreBe16(bytes.data() + 10, InternetChecksum(std::span(bytes).first(60)));
      }
    }
    return bytes;
  };
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    CAPTURE(ihl);
    CHECK(ParseIpv4(with(0, 0x40 | ihl)).error() == ParseError::kIpv4HeaderLengthTooSmall);
  }
  CHECK(ParseIpv4(with(0, 0x60 | 15)).error() == ParseError::kIpv4BadVersion);
  // IHL 15 but only 40 bytes present.
  CHECK(ParseIpv4(good.first(40)).error() == ParseError::kIpv4HeaderBeyondPacket);
  // Total length below the header length.
  auto short_total = Copy(good);
  StoreBe16(short_total.data() + 2, 59);
  CHECK(ParseIpv4(short_total).error() == ParseError::kIpv4TotalLengthTooSmall);
  // Total length beyond the bytes present.
  auto long_total = Copy(good);
  StoreBe16(long_total.data() + 2, static_cast<uint16_t>(good.size() + 1));
  StoreBe16(long_total.data() + 10, 0);
  StoreBe16(long_total.data() + 10, InternetChecksum(std::span(long_total).first(60)));
  CHECK(ParseIpv4(long_total).error() == ParseError::kIpv4TotalLengthBeyondPacket);
  // Every single-bit flip in the header is caught (by a length check or the checksum).
  for (size_t bit = 0; bit < 60 * 8; ++bit) {
    auto flipped = Copy(good);
    flipped[bit / 8] ^= std::byte{static_cast<uint8_t>(1u << (bit % 8))};
    CAPTURE(bit);
    CHECK_FALSE(ParseIpv4(flipped).ok());
  }
  CHECK(ParseIpv4(good.first(19)).error() == ParseError::kIpv4Truncated);
}

TEST_CASE("proto: ParseUdp over IPv4 and IPv6 (kernel datagrams, real checksums)") {
  auto ip = ParseIpv4(L3(Bytes(testing::kUdp4Datagram)));
  REQUIRE(ip.ok());
  auto udp = ParseUdp(ip->payload, ip->src, ip->dst);
  REQUIRE(udp.ok());
  CHECK(udp->src_port == 40000);
  CHECK(udp->dst_port == 862);
  CHECK(udp->length == 23);
  CHECK(udp->checksum != 0);
  CHECK(std::string_view(reinterpret_cast<const char*>(udp->payload.data()), udp->payload.size()) ==
        "hello ringstamp");

  for (auto frame : {Bytes(testing::kUdp4OddPayload), Bytes(testing::kUdp4Empty)}) {
    auto ip4 = ParseIpv4(L3(frame));
    REQUIRE(ip4.ok());
    auto u = ParseUdp(ip4->payload, ip4->src, ip4->dst);
    REQUIRE(u.ok());
    CHECK(u->dst_port == 9);
    CHECK(u->payload.size() == u->length - 8u);
  }

  // IPv6: header fields read by hand here; ipv6.h has its own tests.
  const auto l3 = L3(Bytes(testing::kUdp6Datagram));
  const IpAddress src = IpAddress::Load6(l3.data() + 8);
  const IpAddress dst = IpAddress::Load6(l3.data() + 24);
  auto udp6 = ParseUdp(l3.subspan(40), src, dst);
  REQUIRE(udp6.ok());
  CHECK(udp6->src_port == 40001);
  CHECK(udp6->payload.size() == 18);
}

TEST_CASE("proto: ParseUdp checksum rules: zero over IPv4 ok, zero over IPv6 malformed") {
  auto ip = ParseIpv4(L3(Bytes(testing::kUdp4Datagram)));
  REQUIRE(ip.ok());
  auto seg = Copy(ip->payload);
  StoreBe16(seg.data() + 6, 0);
  CHECK(ParseUdp(seg, ip->src, ip->dst).ok());
  seg[10] ^= std::byte{1};  // payload change, no checksum: still accepted
  CHECK(ParseUdp(seg, ip->src, ip->dst).ok());

  auto bad = Copy(ip->payload);
  bad[12] ^= std::byte{0x40};
  CHECK(ParseUdp(bad, ip->src, ip->dst).error() == ParseError::kUdpBadChecksum);
  CHECK(ParseUdp(bad, ip->src, ip->dst, ChecksumCheck::kSkip).ok());
  // The pseudo-header counts: the same bytes to another address fail.
  CHECK(ParseUdp(ip->payload, ip->src, Ip("10.0.0.3")).error() == ParseError::kUdpBadChecksum);

  const auto l3 = L3(Bytes(testing::kUdp6Datagram));
  const IpAddress src = IpAddress::Load6(l3.data() + 8);
  const IpAddress dst = IpAddress::Load6(l3.data() + 24);
  auto seg6 = Copy(l3.subspan(40));
  StoreBe16(seg6.data() + 6, 0);
  CHECK(ParseUdp(seg6, src, dst).error() == ParseError::kUdpZeroChecksumIpv6);
  CHECK(ParseUdp(seg6, src, dst, ChecksumCheck::kSkip).error() == ParseError::kUdpZeroChecksumIpv6);
  CHECK(ParseUdp(l3.subspan(40), src, Ip("10.0.0.1")).error() == ParseError::kUdpBadAddressFamily);
  CHECK(ParseUdp(l3.subspan(40), IpAddress(), IpAddress()).error() ==
        ParseError::kUdpBadAddressFamily);
}

TEST_CASE("proto: ParseUdp rejects a lying length field, trims a short one") {
  auto ip = ParseIpv4(L3(Bytes(testing::kUdp4Datagram)));
  REQUIRE(ip.ok());
  for (uint16_t len : {0, 1, 7}) {
    auto seg = Copy(ip->payload);
    StoreBe16(seg.data() + 4, len);
    CHECK(ParseUdp(seg, ip->src, ip->dst, ChecksumCheck::kSkip).error() ==
          ParseError::kUdpLengthTooSmall);
  }
  auto seg = Copy(ip->payload);
  StoreBe16(seg.data() + 4, static_cast<uint16_t>(seg.size() + 1));
  CHECK(ParseUdp(seg, ip->src, ip->dst, ChecksumCheck::kSkip).error() ==
        ParseError::kUdpLengthBeyondPacket);
  // A datagram shorter than the IP payload: the rest is not UDP payload.
  auto trailing = Copy(ip->payload);
  trailing.resize(trailing.size() + 5, std::byte{0xaa});
  auto udp = ParseUdp(trailing, ip->src, ip->dst);
  REQUIRE(udp.ok());
  CHECK(udp->payload.size() == 15);
  for (size_t len = 0; len < 8; ++len) {
    CHECK(ParseUdp(ip->payload.first(len), ip->src, ip->dst).error() == ParseError::kUdpTruncated);
  }
}

TEST_CASE("proto: BuildUdp reproduces kernel datagrams, IPv4 and IPv6") {
  struct Case {
    std::span<const std::byte> frame;
    bool v6;
  };
  for (const Case& c :
       {Case{Bytes(testing::kUdp4Datagram), false}, Case{Bytes(testing::kUdp4OddPayload), false},
        Case{Bytes(testing::kUdp4Empty), false}, Case{Bytes(testing::kUdp6Datagram), true}}) {
    const auto l3 = L3(c.frame);
    const IpAddress src = c.v6 ? IpAddress::Load6(l3.data() + 8) : IpAddress::Load4(l3.data() + 12);
    const IpAddress dst =
        c.v6 ? IpAddress::Load6(l3.data() + 24) : IpAddress::Load4(l3.data() + 16);
    const auto seg = l3.subspan(c.v6 ? 40 : 20);
    auto udp = ParseUdp(seg, src, dst);
    REQUIRE(udp.ok());
    std::vector<std::byte> out(seg.size());
    std::memcpy(out.data() + 8, udp->payload.data(), udp->payload.size());
    REQUIRE(BuildUdp(out, {udp->src_port, udp->dst_port}, udp->payload.size(), src, dst) ==
            seg.size());
    CHECK(std::memcmp(out.data(), seg.data(), seg.size()) == 0);
  }
}

TEST_CASE("proto: BuildUdp checksum modes and limits") {
  const IpAddress a = Ip("10.0.0.1");
  const IpAddress b = Ip("10.0.0.2");
  std::vector<std::byte> out(64);
  CHECK(BuildUdp(out, {1, 2}, 10, a, b, UdpChecksum::kNone) == 18);
  CHECK(LoadBe16(out.data() + 6) == 0);
  CHECK(ParseUdp(std::span(out).first(18), a, b).ok());
  CHECK(BuildUdp(out, {1, 2}, 57, a, b) == 0);  // does not fit
  CHECK(BuildUdp(out, {1, 2}, 10, a, Ip("::1")) == 0);
  CHECK(BuildUdp(out, {1, 2}, 10, Ip("::1"), Ip("::2"), UdpChecksum::kNone) == 0);
  std::vector<std::byte> big(70000);
  CHECK(BuildUdp(big, {1, 2}, 65527, a, b) == 65535);
  CHECK(BuildUdp(big, {1, 2}, 65528, a, b) == 0);

  // A datagram whose sum is exactly 0 goes out as 0xffff (RFC 768) and verifies.
  // Find a payload word that makes the computed checksum zero.
  std::vector<std::byte> d(10);
  REQUIRE(BuildUdp(d, {1, 2}, 2, a, b) == 10);
  const uint16_t c = LoadBe16(d.data() + 6);
  StoreBe16(d.data() + 8, c);  // adding ~sum to the data drives the checksum to 0 (-0)
  REQUIRE(BuildUdp(d, {1, 2}, 2, a, b) == 10);
  CHECK(LoadBe16(d.data() + 6) == 0xffff);
  CHECK(ParseUdp(d, a, b).ok());

  // Random round trips against the naive checksum with the pseudo-header laid out.
  TestRng rng(3);
  for (int round = 0; round < 200; ++round) {
    const bool v6 = round % 2 == 1;
    const IpAddress src = v6 ? Ip("fd00::1") : a;
    const IpAddress dst = v6 ? Ip("fd00::2:3") : b;
    const size_t n = rng.Below(200);
    std::vector<std::byte> dgram(8 + n);
    auto payload = rng.RandomBytes(n);
    if (n > 0) std::memcpy(dgram.data() + 8, payload.data(), n);
    REQUIRE(BuildUdp(dgram, {static_cast<uint16_t>(rng.Next()), 862}, n, src, dst) == 8 + n);
    CHECK(ParseUdp(dgram, src, dst).ok());
    std::vector<std::byte> pseudo;
    pseudo.resize(src.size() * 2);
    src.StoreTo(pseudo.data());
    dst.StoreTo(pseudo.data() + src.size());
    std::byte tail[8] = {};
    if (v6) {
      StoreBe32(tail, static_cast<uint32_t>(8 + n));
      tail[7] = std::byte{17};
      pseudo.insert(pseudo.end(), tail, tail + 8);
    } else {
      tail[1] = std::byte{17};
      StoreBe16(tail + 2, static_cast<uint16_t>(8 + n));
      pseudo.insert(pseudo.end(), tail, tail + 4);
    }
    pseudo.insert(pseudo.end(), dgram.begin(), dgram.end());
    CHECK(NaiveChecksum(pseudo) == 0);
  }
}

}  // namespace
}  // namespace ringstamp
