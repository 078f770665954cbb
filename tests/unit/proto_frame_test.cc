// Tests for ringstamp/engine/proto/frame.h: ParseFrame over every golden frame, stripped VLAN tags,
// errors at each layer, and every truncation / random corruption (views stay in bounds).
#include <doctest/doctest.h>

#include <cstring>
#include <string_view>
#include <vector>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/frame.h"
#include "ringstamp/engine/proto/ip_proto.h"
#include "tests/unit/fixtures/proto_golden_frames.h"
#include "tests/unit/fixtures/proto_test_util.h"

namespace ringstamp {
namespace {

using testing::Bytes;
using testing::Copy;
using testing::Ip;
using testing::TestRng;

struct Golden {
  const char* name;
  std::span<const std::byte> bytes;
  L3Kind l3;
  L4Kind l4;
  bool fragment;
};

const std::vector<Golden>& AllGolden() {
  static const std::vector<Golden> frames = {
      {"arp request", Bytes(testing::kArpRequest), L3Kind::kArp, L4Kind::kNone, false},
      {"arp reply", Bytes(testing::kArpReply), L3Kind::kArp, L4Kind::kNone, false},
      {"icmp echo", Bytes(testing::kIcmpEchoRequest), L3Kind::kIpv4, L4Kind::kIcmpv4, false},
      {"icmp reply", Bytes(testing::kIcmpEchoReply), L3Kind::kIpv4, L4Kind::kIcmpv4, false},
      {"record route", Bytes(testing::kIcmpEchoRecordRoute), L3Kind::kIpv4, L4Kind::kIcmpv4, false},
      {"v4 first fragment", Bytes(testing::kIpv4FirstFragment), L3Kind::kIpv4, L4Kind::kNone, true},
      {"v4 last fragment", Bytes(testing::kIpv4LastFragment), L3Kind::kIpv4, L4Kind::kNone, true},
      {"udp4", Bytes(testing::kUdp4Datagram), L3Kind::kIpv4, L4Kind::kUdp, false},
      {"udp4 odd", Bytes(testing::kUdp4OddPayload), L3Kind::kIpv4, L4Kind::kUdp, false},
      {"udp4 empty", Bytes(testing::kUdp4Empty), L3Kind::kIpv4, L4Kind::kUdp, false},
      {"udp6", Bytes(testing::kUdp6Datagram), L3Kind::kIpv6, L4Kind::kUdp, false},
      {"icmpv6 echo", Bytes(testing::kIcmpv6EchoRequest), L3Kind::kIpv6, L4Kind::kIcmpv6, false},
      {"icmpv6 reply", Bytes(testing::kIcmpv6EchoReply), L3Kind::kIpv6, L4Kind::kIcmpv6, false},
      {"ns", Bytes(testing::kNeighborSolicitation), L3Kind::kIpv6, L4Kind::kIcmpv6, false},
      {"na", Bytes(testing::kNeighborAdvertisement), L3Kind::kIpv6, L4Kind::kIcmpv6, false},
      {"dad", Bytes(testing::kNeighborSolicitationDad), L3Kind::kIpv6, L4Kind::kIcmpv6, false},
      {"igmpv3", Bytes(testing::kIgmpv3ReportJoin), L3Kind::kIpv4, L4Kind::kOther, false},
      {"igmpv3 two", Bytes(testing::kIgmpv3ReportTwoRecords), L3Kind::kIpv4, L4Kind::kOther, false},
      {"mldv2", Bytes(testing::kMldv2ReportJoin), L3Kind::kIpv6, L4Kind::kIcmpv6, false},
      {"igmpv2 report", Bytes(testing::kIgmpv2Report), L3Kind::kIpv4, L4Kind::kOther, false},
      {"igmpv2 leave", Bytes(testing::kIgmpv2Leave), L3Kind::kIpv4, L4Kind::kOther, false},
      {"vlan icmp", Bytes(testing::kVlanIcmpEcho), L3Kind::kIpv4, L4Kind::kIcmpv4, false},
      {"qinq udp", Bytes(testing::kQinQUdp), L3Kind::kIpv4, L4Kind::kUdp, false},
      {"v6 ext chain", Bytes(testing::kIpv6ExtensionChain), L3Kind::kIpv6, L4Kind::kUdp, false},
      {"v6 fragment", Bytes(testing::kIpv6Fragment), L3Kind::kIpv6, L4Kind::kNone, true},
      {"stamp sender", Bytes(testing::kStampSender), L3Kind::kIpv4, L4Kind::kUdp, false},
      {"stamp reflector", Bytes(testing::kStampReflector), L3Kind::kIpv4, L4Kind::kUdp, false},
      {"stamp sender6", Bytes(testing::kStampSender6), L3Kind::kIpv6, L4Kind::kUdp, false},
  };
  return frames;
}

// Every view of `f` lies inside `frame`.
void CheckInside(const FrameSummary& f, std::span<const std::byte> frame) {
  auto inside = [&](std::span<const std::byte> s) {
    if (s.empty()) return true;
    return s.data() >= frame.data() && s.data() + s.size() <= frame.data() + frame.size();
  };
  CHECK(inside(f.eth.payload));
  if (f.l3 == L3Kind::kIpv4) {
    CHECK(inside(f.ipv4.payload));
    CHECK(inside(f.ipv4.options));
  }
  if (f.l3 == L3Kind::kIpv6) CHECK(inside(f.ipv6.payload));
  if (f.l4 == L4Kind::kUdp) CHECK(inside(f.udp.payload));
  if (f.l4 == L4Kind::kIcmpv4 || f.l4 == L4Kind::kIcmpv6) {
    CHECK(inside(f.icmp.message));
    CHECK(inside(f.icmp.body));
  }
  // A layer is only set when the ones below it are.
  if (f.l4 != L4Kind::kNone) CHECK(f.is_ip());
  if (f.l3 == L3Kind::kNone) CHECK(f.l4 == L4Kind::kNone);
}

TEST_CASE("proto: ParseFrame classifies every golden frame") {
  for (const Golden& g : AllGolden()) {
    CAPTURE(g.name);
    const FrameSummary f = ParseFrame(g.bytes);
    CHECK(f.ok());
    CHECK(ParseErrorName(f.error) == "none");
    CHECK(f.l3 == g.l3);
    CHECK(f.l4 == g.l4);
    CHECK(f.is_fragment() == g.fragment);
    CheckInside(f, g.bytes);
  }
}

TEST_CASE("proto: ParseFrame exposes the fields a capture line or a conn needs") {
  const FrameSummary udp = ParseFrame(Bytes(testing::kQinQUdp));
  REQUIRE(udp.ok());
  CHECK(udp.eth.vlans.size() == 2);
  CHECK(udp.src_ip() == Ip("10.2.0.1"));
  CHECK(udp.dst_ip() == Ip("10.2.0.2"));
  CHECK(udp.ip_protocol() == kIpProtoUdp);
  CHECK(udp.ttl() == 17);
  CHECK(udp.tos() == 0xb8);
  CHECK(udp.udp.src_port == 5000);
  CHECK(udp.udp.dst_port == 862);
  CHECK(std::string_view(reinterpret_cast<const char*>(udp.udp.payload.data()),
                         udp.udp.payload.size()) == "qinq");

  const FrameSummary v6 = ParseFrame(Bytes(testing::kIpv6ExtensionChain));
  CHECK(v6.ip_protocol() == kIpProtoUdp);
  CHECK(v6.ttl() == 9);
  CHECK(v6.tos() == 0x2e);

  const FrameSummary echo = ParseFrame(Bytes(testing::kIcmpEchoRequest));
  CHECK(echo.icmp.type == 8);
  CHECK(echo.icmp.echo_seq() == 1);

  const FrameSummary arp = ParseFrame(Bytes(testing::kArpReply));
  CHECK(arp.arp.op == ArpOp::kReply);
  CHECK_FALSE(arp.src_ip().is_valid());
  CHECK(arp.ttl() == 0);
  CHECK(arp.ip_protocol() == 0);
}

TEST_CASE("proto: ParseFrame puts a kernel-stripped VLAN tag back in front") {
  // kVlanIcmpEcho without its tag, as the ring hands it over with tp_vlan_tci.
  const auto tagged = Bytes(testing::kVlanIcmpEcho);
  std::vector<std::byte> stripped(tagged.begin(), tagged.begin() + 12);
  stripped.insert(stripped.end(), tagged.begin() + 16, tagged.end());
  FrameParseOptions options;
  options.stripped_vlan = VlanTag{kEtherTypeVlan, LoadBe16(tagged.data() + 14)};
  const FrameSummary f = ParseFrame(stripped, options);
  REQUIRE(f.ok());
  CHECK(f.eth.vlans == ParseFrame(tagged).eth.vlans);
  CHECK(f.l4 == L4Kind::kIcmpv4);

  // The stripped outer tag goes in front of the inner tags left in the frame.
  const auto qinq = Bytes(testing::kQinQUdp);
  std::vector<std::byte> inner_only(qinq.begin(), qinq.begin() + 12);
  inner_only.insert(inner_only.end(), qinq.begin() + 16, qinq.end());
  options.stripped_vlan = VlanTag{kEtherTypeQinQ, LoadBe16(qinq.data() + 14)};
  const FrameSummary q = ParseFrame(inner_only, options);
  REQUIRE(q.ok());
  CHECK(q.eth.vlans == ParseFrame(qinq).eth.vlans);

  // Eight tags in the bytes plus a stripped one are nine.
  std::vector<std::byte> eight(12 + 32 + 2 + 20);
  for (size_t i = 0; i < 8; ++i) {
    StoreBe16(eight.data() + 12 + 4 * i, kEtherTypeVlan);
    StoreBe16(eight.data() + 14 + 4 * i, static_cast<uint16_t>(i + 1));
  }
  StoreBe16(eight.data() + 44, 0x88b5);  // local experimental EtherType
  CHECK(ParseFrame(eight).ok());
  CHECK(ParseFrame(eight).l3 == L3Kind::kOther);
  CHECK(ParseFrame(eight, options).error == ParseError::kTooManyVlanTags);
}

TEST_CASE("proto: ParseFrame stops at the failing layer and keeps the ones below") {
  auto bad_udp = Copy(Bytes(testing::kUdp4Datagram));
  bad_udp.back() ^= std::byte{0x01};
  FrameSummary f = ParseFrame(bad_udp);
  CHECK(f.error == ParseError::kUdpBadChecksum);
  CHECK(f.l3 == L3Kind::kIpv4);
  CHECK(f.l4 == L4Kind::kNone);
  CHECK(f.ipv4.src == Ip("10.0.0.1"));
  FrameParseOptions skip;
  skip.l4_checksum = ChecksumCheck::kSkip;
  CHECK(ParseFrame(bad_udp, skip).ok());

  auto bad_icmp6 = Copy(Bytes(testing::kIcmpv6EchoRequest));
  bad_icmp6.back() ^= std::byte{0x01};
  CHECK(ParseFrame(bad_icmp6).error == ParseError::kIcmpBadChecksum);
  CHECK(ParseFrame(bad_icmp6, skip).l4 == L4Kind::kIcmpv6);

  auto bad_ip = Copy(Bytes(testing::kIcmpEchoRequest));
  bad_ip[14] = std::byte{0x44};  // IHL 4
  f = ParseFrame(bad_ip);
  CHECK(f.error == ParseError::kIpv4HeaderLengthTooSmall);
  CHECK(f.l3 == L3Kind::kNone);
  CHECK(f.eth.ethertype == kEtherTypeIpv4);

  auto bad_arp = Copy(Bytes(testing::kArpRequest));
  bad_arp[21] = std::byte{9};  // operation 9
  CHECK(ParseFrame(bad_arp).error == ParseError::kArpBadOperation);

  CHECK(ParseFrame(Bytes(testing::kArpRequest).first(10)).error == ParseError::kEthernetTruncated);
}

TEST_CASE("proto: ParseFrame on every truncation of every golden frame stays in bounds") {
  for (const Golden& g : AllGolden()) {
    CAPTURE(g.name);
    for (size_t len = 0; len < g.bytes.size(); ++len) {
      CAPTURE(len);
      // A fresh heap copy of exactly `len` bytes, so ASan sees any read past it.
      std::vector<std::byte> prefix(g.bytes.begin(), g.bytes.begin() + len);
      const FrameSummary f = ParseFrame(prefix);
      CheckInside(f, prefix);
      // Only a length-free layer can survive truncation intact (ICMP, ARP padding, "other").
      if (f.ok() && f.l4 == L4Kind::kUdp) CHECK(f.udp.length + 0u <= len);
    }
  }
}

TEST_CASE("proto: ParseFrame on randomly corrupted frames stays in bounds") {
  TestRng rng(0x5eed);
  size_t ok = 0;
  for (int round = 0; round < 30000; ++round) {
    const Golden& g = AllGolden()[rng.Below(AllGolden().size())];
    std::vector<std::byte> bytes(g.bytes.begin(), g.bytes.end());
    const size_t flips = 1 + rng.Below(4);
    for (size_t i = 0; i < flips; ++i) {
      // Mostly headers: the first 80 bytes.
      bytes[rng.Below(std::min<size_t>(bytes.size(), 80))] = static_cast<std::byte>(rng.Next());
    }
    if (rng.Below(4) == 0) bytes.resize(rng.Below(bytes.size() + 1));
    FrameParseOptions options;
    if (rng.Below(2) == 0) options.l4_checksum = ChecksumCheck::kSkip;
    const FrameSummary f = ParseFrame(bytes, options);
    CheckInside(f, bytes);
    if (f.ok()) ++ok;
  }
  CHECK(ok > 0);  // the corruption is not so heavy that nothing parses
}

}  // namespace
}  // namespace ringstamp
