// ParseIpv4Udp, the relay's one-pass parse, against the general parse it stands in for
// (ParseIpv4 + ParseUdp): on well-formed datagrams and on many mutations of them (bit flips in
// every header byte, truncation, options, fragments, other protocols, bad checksums) it must
// accept exactly what the general parse accepts with a 20-byte header, no fragment bits and
// protocol UDP, and give the same fields; everything else it must leave to the general parse.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <random>
#include <vector>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/ip_proto.h"
#include "ringstamp/engine/proto/ipv4.h"
#include "ringstamp/engine/proto/ipv4_udp.h"
#include "ringstamp/engine/proto/udp.h"

using namespace ringstamp;

namespace {

// A valid IPv4 UDP packet (no Ethernet header) with `payload` bytes; `options` 0..40 bytes of
// IP options (NOPs).
std::vector<std::byte> Packet(size_t payload, size_t options = 0, uint8_t proto = kIpProtoUdp) {
  const IpAddress src = IpAddress::V4(10, 1, 2, 3), dst = IpAddress::V4(10, 4, 5, 6);
  std::vector<std::byte> opts(options, std::byte{1});
  std::vector<std::byte> p(20 + options + kUdpHeaderSize + payload);
  for (size_t i = 0; i < payload; ++i)
    p[20 + options + kUdpHeaderSize + i] = static_cast<std::byte>(i * 7 + 1);
  REQUIRE(BuildUdp(std::span(p).subspan(20 + options), {.src_port = 4000, .dst_port = 9}, payload,
                   src, dst) == kUdpHeaderSize + payload);
  REQUIRE(BuildIpv4(p,
                    {.tos = 0xb8,
                     .id = 7,
                     .ttl = 33,
                     .protocol = proto,
                     .src = src,
                     .dst = dst,
                     .options = opts},
                    kUdpHeaderSize + payload) == 20 + options);
  return p;
}

// Fast parse accepts iff the general parse accepts a plain (IHL 5, unfragmented) UDP datagram,
// and then with the same fields.
void CheckAgrees(std::span<const std::byte> packet, ChecksumCheck check) {
  IpUdpView fast;
  const bool fast_ok = ParseIpv4Udp(packet, check, &fast);
  auto ip = ParseIpv4(packet);
  bool general_ok =
      ip && ip->header_size == 20 && !ip->is_fragment() && ip->protocol == kIpProtoUdp;
  ParseResult<UdpView> udp = ParseError::kUdpTruncated;
  if (general_ok) {
    udp = ParseUdp(ip->payload, ip->src, ip->dst, check);
    general_ok = static_cast<bool>(udp);
  }
  REQUIRE(fast_ok == general_ok);
  if (!fast_ok) return;
  // The relay reads the binding a pass ahead where the parse reads it.
  REQUIRE(HasIpv4UdpShape(packet));
  CHECK(IpAddress::Load4(packet.data() + kIpv4UdpDstOffset) == fast.dst);
  CHECK(LoadBe16(packet.data() + kIpv4UdpDstPortOffset) == fast.dst_port);
  CHECK(fast.src == ip->src);
  CHECK(fast.dst == ip->dst);
  CHECK(fast.ttl == ip->ttl);
  CHECK(fast.tos == ip->tos);
  CHECK(fast.src_port == udp->src_port);
  CHECK(fast.dst_port == udp->dst_port);
  CHECK(fast.payload.data() == udp->payload.data());
  CHECK(fast.payload.size() == udp->payload.size());
}

}  // namespace

TEST_CASE("ParseIpv4Udp: a plain datagram parses with the general parse's fields") {
  for (size_t payload : {0u, 1u, 18u, 1400u}) {
    const auto p = Packet(payload);
    IpUdpView v;
    REQUIRE(ParseIpv4Udp(p, ChecksumCheck::kVerify, &v));
    CHECK(v.dst_port == 9);
    CHECK(v.payload.size() == payload);
    CheckAgrees(p, ChecksumCheck::kVerify);
  }
}

TEST_CASE("HasIpv4UdpShape: the shape alone (checksum unread), anything else refused") {
  auto p = Packet(4);
  p[10] ^= std::byte{0xff};  // a bad header checksum: the shape holds, the parse refuses
  CHECK(HasIpv4UdpShape(p));
  CHECK(IpAddress::Load4(p.data() + kIpv4UdpDstOffset) == IpAddress::V4(10, 4, 5, 6));
  CHECK(LoadBe16(p.data() + kIpv4UdpDstPortOffset) == 9);
  IpUdpView v;
  CHECK_FALSE(ParseIpv4Udp(p, ChecksumCheck::kVerify, &v));
  CHECK_FALSE(HasIpv4UdpShape(Packet(4, 4)));               // options
  CHECK_FALSE(HasIpv4UdpShape(Packet(4, 0, kIpProtoTcp)));  // not UDP
  const auto bare = Packet(0);
  CHECK_FALSE(HasIpv4UdpShape(std::span(bare).first(27)));  // no room for the UDP header
}

TEST_CASE("ParseIpv4Udp: options, fragments and other protocols go to the general parse") {
  IpUdpView v;
  CHECK_FALSE(ParseIpv4Udp(Packet(10, 4), ChecksumCheck::kVerify, &v));
  CHECK_FALSE(ParseIpv4Udp(Packet(10, 0, kIpProtoIcmp), ChecksumCheck::kVerify, &v));
  auto frag = Packet(10);
  frag[6] = std::byte{0x20};  // MF
  frag[10] = frag[11] = std::byte{0};
  const uint16_t c = InternetChecksum(std::span(frag).first(20));
  frag[10] = static_cast<std::byte>(c >> 8);
  frag[11] = static_cast<std::byte>(c);
  CHECK(ParseIpv4(frag));  // well formed, but a fragment
  CHECK_FALSE(ParseIpv4Udp(frag, ChecksumCheck::kVerify, &v));
}

TEST_CASE("ParseIpv4Udp: agrees with the general parse on every single-bit flip and truncation") {
  for (size_t options : {0u, 4u}) {
    const auto good = Packet(24, options);
    for (ChecksumCheck check : {ChecksumCheck::kVerify, ChecksumCheck::kSkip}) {
      for (size_t byte = 0; byte < good.size(); ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
          auto p = good;
          p[byte] ^= static_cast<std::byte>(1u << bit);
          INFO("options ", options, " byte ", byte, " bit ", bit);
          CheckAgrees(p, check);
        }
      }
      for (size_t len = 0; len <= good.size(); ++len) {
        INFO("truncated to ", len);
        CheckAgrees(std::span(good).first(len), check);
      }
    }
  }
}

TEST_CASE("Ipv4HeaderChecksumOk: the header checksum as InternetChecksum reads it") {
  // Edge cases of the remainder test: a zero sum (fold 0, wrong), all ones (fold 0xffff,
  // right), and random headers, half of them with the checksum repaired.
  std::array<std::byte, 20> h{};
  CHECK_FALSE(Ipv4HeaderChecksumOk(h.data()));
  CHECK(InternetChecksum(h) != 0);
  h.fill(std::byte{0xff});
  CHECK(Ipv4HeaderChecksumOk(h.data()));
  CHECK(InternetChecksum(h) == 0);
  std::mt19937_64 rng(0x43534f4b);
  int right = 0;
  for (int round = 0; round < 100000; ++round) {
    for (std::byte& b : h) b = static_cast<std::byte>(rng());
    if (round % 2 == 0) {
      h[10] = h[11] = std::byte{0};
      const uint16_t c = InternetChecksum(h);
      h[10] = static_cast<std::byte>(c >> 8);
      h[11] = static_cast<std::byte>(c);
    }
    INFO("round ", round);
    const bool ok = InternetChecksum(h) == 0;
    CHECK(Ipv4HeaderChecksumOk(h.data()) == ok);
    right += ok ? 1 : 0;
  }
  CHECK(right >= 50000);  // the repaired half, and any random one that happens to be right
}

TEST_CASE("ParseIpv4Udp: agrees with the general parse on random headers") {
  std::mt19937_64 rng(0x49505634);
  const auto good = Packet(16);
  for (int round = 0; round < 20000; ++round) {
    auto p = good;
    // Rewrite a few header bytes at random, then sometimes repair the header checksum so
    // that the later checks are reached.
    for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) {
      p[rng() % 28] = static_cast<std::byte>(rng());
    }
    if (rng() % 2 == 0 && (static_cast<uint8_t>(p[0]) & 0x0f) >= 5) {
      const size_t hl = size_t{static_cast<uint8_t>(p[0]) & 0x0fu} * 4;
      if (hl <= p.size()) {
        p[10] = p[11] = std::byte{0};
        const uint16_t c = InternetChecksum(std::span(p).first(hl));
        p[10] = static_cast<std::byte>(c >> 8);
        p[11] = static_cast<std::byte>(c);
      }
    }
    INFO("round ", round);
    CheckAgrees(p, rng() % 2 ? ChecksumCheck::kVerify : ChecksumCheck::kSkip);
  }
}
