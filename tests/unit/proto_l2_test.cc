// Tests for engine/proto/: byte order helpers, MacAddress, VlanStack, Ethernet.
#include <doctest/doctest.h>

#include <cstring>
#include <set>
#include <string_view>
#include <tuple>
#include <vector>

#include "ringstamp/engine/proto/arp.h"
#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/proto/mac_address.h"
#include "ringstamp/engine/proto/parse_error.h"
#include "ringstamp/engine/proto/vlan.h"
#include "tests/unit/fixtures/proto_golden_frames.h"
#include "tests/unit/fixtures/proto_test_util.h"

namespace ringstamp {
namespace {

using testing::Bytes;
using testing::Copy;
using testing::Ip;

constexpr MacAddress kMacA = {{0x02, 0, 0, 0, 0, 0x0a}};
constexpr MacAddress kMacB = {{0x02, 0, 0, 0, 0, 0x0b}};

TEST_CASE("proto: big-endian loads and stores, unaligned") {
  std::byte buf[16] = {};
  StoreBe16(buf + 1, 0x1234);
  StoreBe32(buf + 3, 0x89abcdef);
  StoreBe64(buf + 7, 0x0102030405060708ULL);
  CHECK(static_cast<uint8_t>(buf[1]) == 0x12);
  CHECK(static_cast<uint8_t>(buf[2]) == 0x34);
  CHECK(static_cast<uint8_t>(buf[3]) == 0x89);
  CHECK(static_cast<uint8_t>(buf[6]) == 0xef);
  CHECK(static_cast<uint8_t>(buf[7]) == 0x01);
  CHECK(static_cast<uint8_t>(buf[14]) == 0x08);
  CHECK(LoadBe16(buf + 1) == 0x1234);
  CHECK(LoadBe32(buf + 3) == 0x89abcdef);
  CHECK(LoadBe64(buf + 7) == 0x0102030405060708ULL);
  Store8(buf, 0xfe);
  CHECK(Load8(buf) == 0xfe);
}

TEST_CASE("proto: ParseErrorName gives a distinct name to every reason") {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kParseErrorCount; ++i) {
    const std::string_view name = ParseErrorName(static_cast<ParseError>(i));
    CHECK_FALSE(name.empty());
    CHECK(name != "unknown");
    names.insert(name);
  }
  CHECK(names.size() == kParseErrorCount);
  CHECK(ParseErrorName(ParseError::kNone) == "none");
  CHECK(ParseErrorName(ParseError::kTooManyVlanTags) == "too_many_vlan_tags");
  CHECK(ParseErrorName(ParseError::kCount) == "unknown");
}

TEST_CASE("proto: MacAddress parses, formats and classifies") {
  auto mac = MacAddress::Parse("02:00:5E:10:aB:ff");
  REQUIRE(mac.has_value());
  CHECK(mac->ToString() == "02:00:5e:10:ab:ff");
  CHECK(mac->ToU64() == 0x02005e10abffULL);
  CHECK(MacAddress::FromU64(0x02005e10abffULL) == *mac);
  CHECK(MacAddress::Parse("02-00-5e-10-ab-ff") == mac);
  CHECK(mac->IsUnicast());
  CHECK(mac->IsLocallyAdministered());
  CHECK_FALSE(mac->IsMulticast());

  for (std::string_view bad :
       {"", "02:00:5e:10:ab", "02:00:5e:10:ab:ff:", "2:00:5e:10:ab:ff0", "02:00-5e:10:ab:ff",
        "02:00:5e:10:ab:fg", "02.00.5e.10.ab.ff", " 02:00:5e:10:ab:f", "0200:5e:10:ab:ff:"}) {
    CAPTURE(bad);
    CHECK_FALSE(MacAddress::Parse(bad).has_value());
  }

  CHECK(MacAddress::Broadcast().IsBroadcast());
  CHECK(MacAddress::Broadcast().IsMulticast());
  CHECK(MacAddress::Parse("01:00:5e:00:00:16")->IsMulticast());
  CHECK_FALSE(MacAddress::Parse("01:00:5e:00:00:16")->IsBroadcast());
  CHECK(MacAddress{}.IsZero());

  char buf[MacAddress::kFormatBufferSize];
  CHECK(MacAddress::Broadcast().Format(buf) == 17);
  CHECK(std::string_view(buf) == "ff:ff:ff:ff:ff:ff");

  std::byte wire[6];
  mac->StoreTo(wire);
  CHECK(MacAddress::Load(wire) == *mac);
  CHECK(kMacA < kMacB);
  CHECK(kMacA.Hash() != kMacB.Hash());
}

TEST_CASE("proto: VlanTag packs PCP, DEI and VID into the TCI") {
  const VlanTag tag = VlanTag::Make(kEtherTypeQinQ, 300, 5, true);
  CHECK(tag.tpid == 0x88a8);
  CHECK(tag.tci == ((5 << 13) | 0x1000 | 300));
  CHECK(tag.vid() == 300);
  CHECK(tag.pcp() == 5);
  CHECK(tag.dei());
  // Out-of-range inputs are masked, never spill into the neighbouring field.
  const VlanTag masked = VlanTag::Make(kEtherTypeVlan, 0xffff, 0xff, false);
  CHECK(masked.vid() == 0xfff);
  CHECK(masked.pcp() == 7);
  CHECK_FALSE(masked.dei());
}

TEST_CASE("proto: VlanStack holds up to 8 tags and works as a hash key") {
  VlanStack a;
  CHECK(a.empty());
  for (uint16_t i = 0; i < VlanStack::kMaxTags; ++i)
    CHECK(a.Push(VlanTag::Make(kEtherTypeVlan, i + 1)));
  CHECK(a.full());
  CHECK_FALSE(a.Push(VlanTag::Make(kEtherTypeVlan, 99)));
  CHECK_FALSE(a.PushFront(VlanTag::Make(kEtherTypeVlan, 99)));
  CHECK(a.size() == 8);
  CHECK(a[7].vid() == 8);
  CHECK(a.WireSize() == 32);

  VlanStack b;
  b.Push(VlanTag::Make(kEtherTypeVlan, 200));
  CHECK(b.PushFront(VlanTag::Make(kEtherTypeQinQ, 100)));
  CHECK(b[0].tpid == kEtherTypeQinQ);
  CHECK(b[0].vid() == 100);
  CHECK(b[1].vid() == 200);

  VlanStack c;
  c.Push(VlanTag::Make(kEtherTypeQinQ, 100));
  c.Push(VlanTag::Make(kEtherTypeVlan, 200, 6));
  CHECK_FALSE(b == c);  // PCP differs
  CHECK(b == c.WithoutPriority());
  CHECK(b.Hash() == c.WithoutPriority().Hash());
  CHECK(b.Hash() != c.Hash());

  // Order matters: the outer tag first.
  VlanStack swapped;
  swapped.Push(VlanTag::Make(kEtherTypeVlan, 200));
  swapped.Push(VlanTag::Make(kEtherTypeQinQ, 100));
  CHECK_FALSE(b == swapped);
  CHECK(b.Hash() != swapped.Hash());

  // A prefix is a different key; a cleared stack equals an empty one.
  VlanStack prefix;
  prefix.Push(VlanTag::Make(kEtherTypeQinQ, 100));
  CHECK_FALSE(prefix == b);
  b.Clear();
  CHECK(b == VlanStack{});
  CHECK(b.Hash() == VlanStack{}.Hash());

  // Distinct single-tag stacks hash to distinct values (no trivial collisions).
  std::set<uint64_t> hashes;
  for (uint16_t vid = 0; vid < 4096; ++vid) {
    VlanStack s;
    s.Push(VlanTag::Make(kEtherTypeVlan, vid));
    hashes.insert(s.Hash());
  }
  CHECK(hashes.size() == 4096);
}

TEST_CASE("proto: ParseEthernet reads an untagged kernel frame") {
  auto eth = ParseEthernet(Bytes(testing::kArpRequest));
  REQUIRE(eth.ok());
  CHECK(eth->dst == MacAddress::Broadcast());
  CHECK(eth->src == kMacA);
  CHECK(eth->vlans.empty());
  CHECK(eth->ethertype == kEtherTypeArp);
  CHECK(eth->header_size == 14);
  CHECK(eth->payload.size() == sizeof(testing::kArpRequest) - 14);
  CHECK(eth->payload.data() == Bytes(testing::kArpRequest).data() + 14);
}

TEST_CASE("proto: ParseEthernet walks 802.1Q and 802.1ad tags (golden frames)") {
  auto q = ParseEthernet(Bytes(testing::kVlanIcmpEcho));
  REQUIRE(q.ok());
  REQUIRE(q->vlans.size() == 1);
  CHECK(q->vlans[0].tpid == kEtherTypeVlan);
  CHECK(q->vlans[0].vid() == 100);
  CHECK(q->vlans[0].pcp() == 3);
  CHECK_FALSE(q->vlans[0].dei());
  CHECK(q->ethertype == kEtherTypeIpv4);
  CHECK(q->header_size == 18);

  auto qinq = ParseEthernet(Bytes(testing::kQinQUdp));
  REQUIRE(qinq.ok());
  REQUIRE(qinq->vlans.size() == 2);
  CHECK(qinq->vlans[0].tpid == kEtherTypeQinQ);
  CHECK(qinq->vlans[0].vid() == 200);
  CHECK(qinq->vlans[1].tpid == kEtherTypeVlan);
  CHECK(qinq->vlans[1].vid() == 300);
  CHECK(qinq->vlans[1].pcp() == 5);
  CHECK(qinq->vlans[1].dei());
  CHECK(qinq->ethertype == kEtherTypeIpv4);
  CHECK(qinq->header_size == 22);
}

TEST_CASE("proto: BuildEthernet reproduces the golden headers byte for byte") {
  for (auto frame : {Bytes(testing::kArpRequest), Bytes(testing::kVlanIcmpEcho),
                     Bytes(testing::kQinQUdp), Bytes(testing::kUdp6Datagram)}) {
    auto eth = ParseEthernet(frame);
    REQUIRE(eth.ok());
    std::vector<std::byte> out(64, std::byte{0xee});
    const size_t n = BuildEthernet(out, eth->dst, eth->src, eth->vlans, eth->ethertype);
    REQUIRE(n == eth->header_size);
    CHECK(n == EthernetHeaderSize(eth->vlans));
    CHECK(std::memcmp(out.data(), frame.data(), n) == 0);
    CHECK(out[n] == std::byte{0xee});  // nothing written past the header
    // Too small by one byte: nothing fits, nothing claimed.
    CHECK(BuildEthernet(std::span(out).first(n - 1), eth->dst, eth->src, eth->vlans,
                        eth->ethertype) == 0);
  }
}

std::vector<std::byte> FrameWithTags(size_t tags) {
  std::vector<std::byte> frame(14 + 4 * tags + 20);
  kMacB.StoreTo(frame.data());
  kMacA.StoreTo(frame.data() + 6);
  size_t at = 12;
  for (size_t i = 0; i < tags; ++i) {
    StoreBe16(frame.data() + at, i == 0 ? kEtherTypeQinQ : kEtherTypeVlan);
    StoreBe16(frame.data() + at + 2, static_cast<uint16_t>(i + 1));
    at += 4;
  }
  StoreBe16(frame.data() + at, kEtherTypeIpv4);
  return frame;
}

TEST_CASE("proto: eight VLAN tags parse, a ninth is malformed") {
  auto eight = FrameWithTags(8);
  auto eth = ParseEthernet(eight);
  REQUIRE(eth.ok());
  CHECK(eth->vlans.size() == 8);
  CHECK(eth->vlans[7].vid() == 8);
  CHECK(eth->ethertype == kEtherTypeIpv4);
  CHECK(eth->header_size == 14 + 32);

  std::vector<std::byte> out(64);
  CHECK(BuildEthernet(out, kMacB, kMacA, eth->vlans, kEtherTypeIpv4) == 46);
  CHECK(std::memcmp(out.data(), eight.data(), 46) == 0);

  auto nine = FrameWithTags(9);
  auto bad = ParseEthernet(nine);
  CHECK_FALSE(bad.ok());
  CHECK(bad.error() == ParseError::kTooManyVlanTags);
}

TEST_CASE("proto: ParseEthernet on every truncation is malformed or consistent") {
  for (auto frame : {Bytes(testing::kQinQUdp), Bytes(testing::kArpReply)}) {
    for (size_t len = 0; len <= frame.size(); ++len) {
      CAPTURE(len);
      auto eth = ParseEthernet(frame.first(len));
      if (!eth.ok()) {
        CHECK((eth.error() == ParseError::kEthernetTruncated ||
               eth.error() == ParseError::kVlanTruncated));
        continue;
      }
      CHECK(eth->header_size + eth->payload.size() == len);
    }
  }
  CHECK(ParseEthernet(Bytes(testing::kQinQUdp).first(13)).error() ==
        ParseError::kEthernetTruncated);
  // The S-tag is there, its next EtherType is cut.
  CHECK(ParseEthernet(Bytes(testing::kQinQUdp).first(17)).error() == ParseError::kVlanTruncated);
}

TEST_CASE("proto: ARP request and reply from the kernel parse and rebuild byte for byte") {
  auto req_eth = ParseEthernet(Bytes(testing::kArpRequest));
  REQUIRE(req_eth.ok());
  auto req = ParseArp(req_eth->payload);
  REQUIRE(req.ok());
  CHECK(req->op == ArpOp::kRequest);
  CHECK(req->sender_mac == kMacA);
  CHECK(req->sender_ip == Ip("10.0.0.1"));
  CHECK(req->target_mac.IsZero());
  CHECK(req->target_ip == Ip("10.0.0.2"));
  CHECK(*req == ArpPacket::Request(kMacA, Ip("10.0.0.1"), Ip("10.0.0.2")));

  auto rep_eth = ParseEthernet(Bytes(testing::kArpReply));
  REQUIRE(rep_eth.ok());
  auto rep = ParseArp(rep_eth->payload);
  REQUIRE(rep.ok());
  CHECK(rep->op == ArpOp::kReply);
  CHECK(*rep == ArpPacket::Reply(kMacB, Ip("10.0.0.2"), kMacA, Ip("10.0.0.1")));

  // Whole frames: Ethernet + ARP.
  for (auto [frame, packet, dst] :
       {std::tuple{Bytes(testing::kArpRequest), *req, MacAddress::Broadcast()},
        std::tuple{Bytes(testing::kArpReply), *rep, kMacA}}) {
    std::vector<std::byte> out(frame.size());
    const size_t l2 = BuildEthernet(out, dst, packet.sender_mac, VlanStack{}, kEtherTypeArp);
    REQUIRE(l2 == 14);
    REQUIRE(BuildArp(std::span(out).subspan(l2), packet) == kArpPacketSize);
    CHECK(std::memcmp(out.data(), frame.data(), frame.size()) == 0);
  }
}

TEST_CASE("proto: ARP rejects other hardware and protocol types, operations and short packets") {
  const auto good = ParseEthernet(Bytes(testing::kArpRequest))->payload;
  for (size_t offset : {0, 1, 2, 3, 4, 5}) {
    auto bad = Copy(good);
    bad[offset] ^= std::byte{0x01};
    CAPTURE(offset);
    CHECK(ParseArp(bad).error() == ParseError::kArpUnsupported);
  }
  for (uint16_t op : {0, 3, 4, 0x0101}) {
    auto bad = Copy(good);
    StoreBe16(bad.data() + 6, op);
    CHECK(ParseArp(bad).error() == ParseError::kArpBadOperation);
  }
  for (size_t len = 0; len < kArpPacketSize; ++len) {
    CHECK(ParseArp(good.first(len)).error() == ParseError::kArpTruncated);
  }
  auto padded = Copy(good);
  padded.resize(46);  // minimum-size frame padding is ignored
  CHECK(ParseArp(padded).ok());

  std::vector<std::byte> out(28);
  const auto gratuitous = ArpPacket::Gratuitous(kMacA, Ip("10.0.0.9"));
  REQUIRE(BuildArp(out, gratuitous) == 28);
  CHECK(*ParseArp(out) == gratuitous);
  CHECK(ParseArp(out)->sender_ip == ParseArp(out)->target_ip);
  CHECK(BuildArp(std::span(out).first(27), gratuitous) == 0);
  CHECK(BuildArp(out, ArpPacket::Request(kMacA, Ip("fd00::1"), Ip("10.0.0.1"))) == 0);
}

}  // namespace
}  // namespace ringstamp
