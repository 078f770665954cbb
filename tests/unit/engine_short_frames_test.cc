// Etherleak: every short frame EtherConn answers with is padded to 60 bytes with
// zeros, never with what an earlier frame left in the TX slot.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <vector>

#include "ringstamp/engine/conn/short_frames.h"
#include "ringstamp/engine/proto/arp.h"
#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/proto/icmp.h"
#include "ringstamp/engine/proto/ipv4.h"

using namespace ringstamp;

namespace {

constexpr std::byte kOld{0xAA};  // what the slot's previous frame left behind

// A TX slot as the ring hands it out again: full of an earlier frame's bytes.
std::vector<std::byte> DirtySlot() { return std::vector<std::byte>(2048, kOld); }

// Checks bytes [from, 60) are zero and bytes [len, 100) were not written.
void CheckPad(const std::vector<std::byte>& slot, size_t frame_len, size_t from) {
  CHECK(frame_len == kEthernetMinFrameSize);
  for (size_t i = from; i < kEthernetMinFrameSize; ++i) {
    INFO("pad byte ", i);
    CHECK(slot[i] == std::byte{0});
  }
  for (size_t i = kEthernetMinFrameSize; i < 100; ++i) {
    INFO("byte past the frame ", i);
    CHECK(slot[i] == kOld);
  }
}

const MacAddress kMine = MacAddress::FromU64(0x020000000001);
const MacAddress kPeer = MacAddress::FromU64(0x020000000002);
const IpAddress kMyIp = IpAddress::V4(10, 1, 2, 1);
const IpAddress kPeerIp = IpAddress::V4(10, 1, 2, 2);

}  // namespace

TEST_CASE("short frames: an ARP reply is padded with zeros, untagged and tagged") {
  for (const bool tagged : {false, true}) {
    INFO("tagged ", tagged);
    VlanStack vlans;
    if (tagged) vlans.Push(VlanTag::Make(kEtherTypeVlan, 100));
    auto slot = DirtySlot();
    const size_t n = BuildArpReplyFrame(slot, kPeer, kMine, vlans,
                                        ArpPacket::Reply(kMine, kMyIp, kPeer, kPeerIp));
    const size_t content = EthernetHeaderSize(vlans) + kArpPacketSize;  // 42 or 46
    CHECK(
        ParseArp(std::span(slot).subspan(EthernetHeaderSize(vlans), n - EthernetHeaderSize(vlans)))
            .ok());
    CheckPad(slot, n, content);
  }
}

TEST_CASE("short frames: a short ICMPv4 echo reply is padded with zeros") {
  const std::array<std::byte, 4> data = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  auto slot = DirtySlot();
  const size_t n = BuildIcmpv4EchoReplyFrame(slot, {.dst = kPeer,
                                                    .src = kMine,
                                                    .ip_src = kMyIp,
                                                    .ip_dst = kPeerIp,
                                                    .id = 7,
                                                    .seq = 9,
                                                    .data = data});
  const size_t content = 14 + kIpv4MinHeaderSize + kIcmpHeaderSize + data.size();  // 46
  auto ip = ParseIpv4(std::span<const std::byte>(slot).subspan(14, n - 14));
  REQUIRE(ip.ok());
  CHECK(ip->payload.size() == kIcmpHeaderSize + data.size());  // the pad is not in the packet
  CheckPad(slot, n, content);
}

TEST_CASE("short frames: an IGMPv3 report is padded with zeros") {
  auto slot = DirtySlot();
  const MulticastGroupRecord join{
      MulticastRecordType::kChangeToExclude, IpAddress::V4(239, 1, 2, 3), {}};
  const size_t n = BuildIgmpv3ReportFrame(slot, kMine, {}, kMyIp, join);
  // 14 + 24 (IPv4 with Router Alert) + 8 (report header) + 8 (one record) = 54.
  CheckPad(slot, n, 54);
}

TEST_CASE("short frames: a slot too small for the padded frame builds nothing") {
  std::vector<std::byte> small(50, kOld);
  CHECK(BuildArpReplyFrame(small, kPeer, kMine, {},
                           ArpPacket::Reply(kMine, kMyIp, kPeer, kPeerIp)) == 0);
  CHECK(PadToEthernetMinimum(small, 42) == 0);
  CHECK(PadToEthernetMinimum(small, 50) == 0);
  std::vector<std::byte> big(64, kOld);
  CHECK(PadToEthernetMinimum(big, 61) == 61);  // long enough: nothing to pad
  CHECK(big[61] == kOld);
}
