// Tests for ringstamp/engine/proto/stamp.h: RFC 8762 layouts against scapy-built packets, NTP and
// PTP timestamp conversions at their edges, error estimate encoding.
#include <doctest/doctest.h>

#include <cstring>
#include <limits>
#include <vector>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/ipv4.h"
#include "ringstamp/engine/proto/ipv6.h"
#include "ringstamp/engine/proto/stamp.h"
#include "ringstamp/engine/proto/udp.h"
#include "tests/unit/fixtures/proto_golden_frames.h"
#include "tests/unit/fixtures/proto_test_util.h"

namespace ringstamp {
namespace {

using testing::Bytes;
using testing::TestRng;

constexpr int64_t kNs = 1'000'000'000;

// The UDP payload of a golden IPv4 or IPv6 frame, after verifying the datagram.
std::span<const std::byte> StampPayload(std::span<const std::byte> frame, uint8_t* ttl) {
  const auto l3 = frame.subspan(14);
  if ((static_cast<uint8_t>(l3[0]) >> 4) == 4) {
    auto ip = ParseIpv4(l3);
    REQUIRE(ip.ok());
    *ttl = ip->ttl;
    auto udp = ParseUdp(ip->payload, ip->src, ip->dst);
    REQUIRE(udp.ok());
    return udp->payload;
  }
  auto ip = ParseIpv6(l3);
  REQUIRE(ip.ok());
  *ttl = ip->hop_limit;
  auto udp = ParseUdp(ip->payload, ip->src, ip->dst);
  REQUIRE(udp.ok());
  return udp->payload;
}

TEST_CASE("proto: STAMP session-sender packet matches RFC 8762 4.2.1 (scapy fixture)") {
  uint8_t ttl = 0;
  const auto payload = StampPayload(Bytes(testing::kStampSender), &ttl);
  REQUIRE(payload.size() == kStampPacketSize);
  auto s = ParseStampSender(payload);
  REQUIRE(s.ok());
  CHECK(s->seq == 0x01020304u);
  CHECK(s->timestamp == 0xe9d45a3180000000ULL);
  CHECK(s->error_estimate.synchronized);
  CHECK_FALSE(s->error_estimate.ptp_format);
  CHECK(s->error_estimate.scale == 10);
  CHECK(s->error_estimate.multiplier == 3);
  CHECK(s->ssid == 0);
  CHECK(ttl == 64);

  std::vector<std::byte> out(kStampPacketSize, std::byte{0xaa});
  REQUIRE(BuildStampSender(out, *s) == kStampPacketSize);
  CHECK(std::memcmp(out.data(), payload.data(), kStampPacketSize) == 0);

  // The same fields over IPv6 with 20 bytes of padding: parse ignores the padding.
  uint8_t hop_limit = 0;
  const auto padded = StampPayload(Bytes(testing::kStampSender6), &hop_limit);
  REQUIRE(padded.size() == 64);
  auto s6 = ParseStampSender(padded);
  REQUIRE(s6.ok());
  CHECK(*s6 == *s);
  std::vector<std::byte> out64(64, std::byte{0xaa});
  REQUIRE(BuildStampSender(out64, *s, 64) == 64);
  CHECK(std::memcmp(out64.data(), padded.data(), 64) == 0);
}

TEST_CASE("proto: STAMP session-reflector packet matches RFC 8762 4.3.1 (scapy fixture)") {
  uint8_t ttl = 0;
  const auto payload = StampPayload(Bytes(testing::kStampReflector), &ttl);
  REQUIRE(payload.size() == kStampPacketSize);
  auto r = ParseStampReflector(payload);
  REQUIRE(r.ok());
  CHECK(r->seq == 7);
  CHECK(r->timestamp == 0xe9d45a3180001000ULL);
  CHECK(r->error_estimate == StampErrorEstimate{false, false, 1, 255});
  CHECK(r->ssid == 0);
  CHECK(r->receive_timestamp == 0xe9d45a3180000800ULL);
  CHECK(r->sender_seq == 0x01020304u);
  CHECK(r->sender_timestamp == 0xe9d45a3180000000ULL);
  CHECK(r->sender_error_estimate == StampErrorEstimate{true, false, 10, 3});
  CHECK(r->sender_ttl == 64);

  // The byte offsets of §4.3.1, read by hand.
  CHECK(LoadBe64(payload.data() + 16) == r->receive_timestamp);
  CHECK(LoadBe32(payload.data() + 24) == r->sender_seq);
  CHECK(LoadBe64(payload.data() + 28) == r->sender_timestamp);
  CHECK(LoadBe16(payload.data() + 36) == 0x8a03);
  CHECK(testing::At(payload, 40) == 64);

  std::vector<std::byte> out(kStampPacketSize, std::byte{0xaa});
  REQUIRE(BuildStampReflector(out, *r) == kStampPacketSize);
  CHECK(std::memcmp(out.data(), payload.data(), kStampPacketSize) == 0);

  // The reflector's answer built from the sender's packet is the same packet.
  uint8_t sender_ttl = 0;
  auto sent = ParseStampSender(StampPayload(Bytes(testing::kStampSender), &sender_ttl));
  REQUIRE(sent.ok());
  const StampReflectorPacket made = MakeStampReflection(
      *sent, sender_ttl, 7, 0xe9d45a3180000800ULL, 0xe9d45a3180001000ULL, {false, false, 1, 255});
  CHECK(made == *r);
}

TEST_CASE("proto: STAMP parse and build limits, MBZ written as zero") {
  std::vector<std::byte> buf(100, std::byte{0xff});
  for (size_t len = 0; len < kStampPacketSize; ++len) {
    CHECK(ParseStampSender(std::span(buf).first(len)).error() == ParseError::kStampTruncated);
    CHECK(ParseStampReflector(std::span(buf).first(len)).error() == ParseError::kStampTruncated);
  }
  const StampSenderPacket s{.seq = 1, .timestamp = 2, .error_estimate = {}, .ssid = 0xbeef};
  CHECK(BuildStampSender(buf, s, 43) == 0);
  CHECK(BuildStampSender(std::span(buf).first(63), s, 64) == 0);
  REQUIRE(BuildStampSender(buf, s, 64) == 64);
  for (size_t i = 16; i < 64; ++i) CHECK(buf[i] == std::byte{0});
  CHECK(buf[64] == std::byte{0xff});
  CHECK(ParseStampSender(buf)->ssid == 0xbeef);  // RFC 8972 SSID where 8762 has MBZ

  StampReflectorPacket r;
  r.sender_ttl = 255;
  std::fill(buf.begin(), buf.end(), std::byte{0xff});
  REQUIRE(BuildStampReflector(buf, r) == 44);
  CHECK(LoadBe16(buf.data() + 38) == 0);
  CHECK(testing::At(buf, 40) == 255);
  CHECK(testing::At(buf, 41) == 0);
  CHECK(testing::At(buf, 43) == 0);
  CHECK(buf[44] == std::byte{0xff});
}

TEST_CASE("proto: NTP timestamp conversion is exact at the edges") {
  // The Unix epoch is NTP second 2208988800.
  CHECK(UnixNsToNtp(0) == (uint64_t{2208988800} << 32));
  CHECK(NtpToUnixNs(uint64_t{2208988800} << 32) == 0);
  // Half a second is fraction 2^31.
  CHECK(UnixNsToNtp(kNs / 2) == ((uint64_t{2208988800} << 32) | 0x80000000u));
  // 1 ns is 4.294967296 fraction units: rounds to 4.
  CHECK((UnixNsToNtp(1) & 0xffffffffu) == 4);
  // The last ns of a second: round(999999999 * 2^32 / 1e9) = 4294967292, no carry.
  CHECK((UnixNsToNtp(kNs - 1) & 0xffffffffu) == 4294967292u);
  CHECK(NtpToUnixNs(UnixNsToNtp(kNs - 1)) == kNs - 1);
  // A fraction of all ones rounds up into the next second.
  CHECK(NtpToUnixNs((uint64_t{2208988800} << 32) | 0xffffffffu) == kNs);
  // Half-way (fraction 2^22 is 976562.5 ns) rounds up.
  CHECK(NtpToUnixNs((uint64_t{2208988800} << 32) | (1u << 22)) == 976563);
  // Before 1970 (negative Unix time) floors the seconds.
  CHECK(UnixNsToNtp(-1) == (((uint64_t{2208988800} - 1) << 32) | 4294967292u));
  CHECK(NtpToUnixNs(UnixNsToNtp(-1)) == -1);

  // Era pivot (RFC 4330): top bit clear means 2036 onwards.
  const int64_t era1_start = (int64_t{1} << 32) - 2208988800;  // 2036-02-07T06:28:16Z
  CHECK(UnixNsToNtp(era1_start * kNs) == 0);
  CHECK(NtpToUnixNs(0) == era1_start * kNs);
  CHECK(NtpToUnixNs(uint64_t{0xffffffff} << 32) == (era1_start - 1) * kNs);
  const int64_t first = ((int64_t{1} << 31) - 2208988800) * kNs;  // 1968-01-20T03:14:08Z
  CHECK(NtpToUnixNs(uint64_t{0x80000000} << 32) == first);
  CHECK(NtpToUnixNs(UnixNsToNtp(first)) == first);
  const int64_t last = ((int64_t{1} << 32) + (int64_t{1} << 31) - 1 - 2208988800) * kNs;  // 2104
  CHECK(NtpToUnixNs(uint64_t{0x7fffffff} << 32) == last);
  CHECK(NtpToUnixNs(UnixNsToNtp(last + kNs - 1)) == last + kNs - 1);

  // A golden packet's timestamp: 0xe9d45a31 s + 0.5 s.
  CHECK(NtpToUnixNs(0xe9d45a3180000000ULL) == (int64_t{0xe9d45a31} - 2208988800) * kNs + kNs / 2);
}

TEST_CASE("proto: NTP round trip is exact for random times, and order-preserving") {
  TestRng rng(2024);
  const int64_t lo = ((int64_t{1} << 31) - 2208988800) * kNs;
  const int64_t span = (int64_t{1} << 32) * kNs;  // the 136 years the NTP era pivot covers
  int64_t previous = lo;
  uint64_t previous_ntp = UnixNsToNtp(lo);
  for (int i = 0; i < 200000; ++i) {
    const int64_t t = lo + static_cast<int64_t>(rng.Next() % static_cast<uint64_t>(span - 1));
    REQUIRE(NtpToUnixNs(UnixNsToNtp(t)) == t);
    // Consecutive ns give strictly increasing NTP stamps within an era.
    const int64_t u = previous + 1 + static_cast<int64_t>(rng.Below(3));
    const uint64_t u_ntp = UnixNsToNtp(u);
    if ((u_ntp >> 63) == (previous_ntp >> 63)) REQUIRE(u_ntp > previous_ntp);
    previous = u;
    previous_ntp = u_ntp;
  }
}

TEST_CASE("proto: PTPv2 truncated timestamps") {
  const int64_t t = 1'700'000'000 * kNs + 123'456'789;
  const uint64_t ptp = UnixNsToPtpTruncated(t);
  CHECK((ptp >> 32) == 1'700'000'000u);
  CHECK((ptp & 0xffffffffu) == 123'456'789u);
  CHECK(PtpTruncatedToUnixNs(ptp) == t);
  CHECK(StampTimestampToUtcNs(UtcNsToStampTimestamp(t, true, 37), true, 37) == t);
  CHECK(StampTimestampToUtcNs(UtcNsToStampTimestamp(t, false, 37), false, 37) == t);
  CHECK(UtcNsToStampTimestamp(t, true, 0) != UtcNsToStampTimestamp(t, false, 0));
}

TEST_CASE("proto: STAMP error estimate encode/decode and ns conversion") {
  const StampErrorEstimate e{true, true, 0x2a, 0x7f};
  CHECK(e.Encode() == 0xea7f);
  CHECK(StampErrorEstimate::Decode(0xea7f) == e);
  CHECK(StampErrorEstimate::Decode(0x8a03) == StampErrorEstimate{true, false, 10, 3});
  for (uint32_t field = 0; field <= 0xffff; ++field) {
    REQUIRE(StampErrorEstimate::Decode(static_cast<uint16_t>(field)).Encode() == field);
  }
  CHECK_FALSE(StampErrorEstimate::Decode(0x0100).valid());  // multiplier 0

  // 3 * 2^(10-32) s = 715.3 ns, rounded up.
  CHECK(StampErrorEstimate{true, false, 10, 3}.ToNs() == 716);
  // 1 * 2^0 s exactly.
  CHECK(StampErrorEstimate{false, false, 32, 1}.ToNs() == 1'000'000'000);
  CHECK(StampErrorEstimate{false, false, 63, 255}.ToNs() == std::numeric_limits<uint64_t>::max());

  // FromNs gives the smallest estimate >= the error, as tightly as 8 bits allow.
  CHECK(StampErrorEstimate::FromNs(0, false) == StampErrorEstimate{false, false, 0, 1});
  CHECK(StampErrorEstimate::FromNs(1, true) == StampErrorEstimate{true, false, 0, 5});
  CHECK(StampErrorEstimate::FromNs(1'000'000'000, false, true) ==
        StampErrorEstimate{false, true, 25, 128});
  for (uint64_t ns : {uint64_t{1}, uint64_t{59}, uint64_t{60}, uint64_t{716}, uint64_t{1000},
                      uint64_t{999'999}, uint64_t{1'000'000'000}, uint64_t{86'400} * 1'000'000'000,
                      std::numeric_limits<uint64_t>::max()}) {
    const StampErrorEstimate f = StampErrorEstimate::FromNs(ns, false);
    CAPTURE(ns);
    CHECK(f.valid());
    CHECK(f.ToNs() >= ns);
    // One step smaller would understate the error (or the multiplier is already minimal).
    if (f.multiplier > 1) {
      StampErrorEstimate smaller = f;
      --smaller.multiplier;
      CHECK(smaller.ToNs() <= ns);
    }
    if (f.scale > 0) CHECK(f.multiplier > 127);  // else a smaller scale would have fit
  }
}

TEST_CASE("proto: PTP-format STAMP timestamps are TAI: a known instant with TAI-UTC 37 s") {
  // 2024-01-01T00:00:00.250000000Z is 1704067200 s UTC, 1704067237 s TAI.
  const int64_t utc = 1'704'067'200 * kNs + 250'000'000;
  const uint64_t wire = (uint64_t{1'704'067'237} << 32) | 250'000'000u;
  CHECK(StampTimestampToUtcNs(wire, /*ptp_format=*/true, 37) == utc);
  CHECK(UtcNsToStampTimestamp(utc, /*ptp_format=*/true, 37) == wire);
  CHECK(StampTimestampToUtcNs(UtcNsToStampTimestamp(utc, true, 37), true, 37) == utc);
  // NTP format is UTC: the offset changes nothing.
  CHECK(UtcNsToStampTimestamp(utc, false, 37) == UnixNsToNtp(utc));
  CHECK(StampTimestampToUtcNs(UnixNsToNtp(utc), false, 37) == utc);
  // Read as if TAI were UTC, the same packet is 37 s late.
  CHECK(StampTimestampToUtcNs(wire, true, 0) - utc == 37 * kNs);
}

}  // namespace
}  // namespace ringstamp
