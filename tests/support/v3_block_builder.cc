#include "tests/support/v3_block_builder.h"

#include <sys/socket.h>

#include <cstring>

namespace ringstamp::testing {
namespace {
// As the kernel lays out a frame of an Ethernet device: header, sockaddr_ll,
// then the MAC header placed so the network header is aligned
// (TPACKET_ALIGN(48 + 20 + 16) - 14 = 82).
constexpr uint32_t kSllOffset = TPACKET_ALIGN(sizeof(tpacket3_hdr));
constexpr uint32_t kMacOffset = TPACKET_ALIGN(kSllOffset + sizeof(sockaddr_ll) + 16) - 14;
uint32_t Align(uint32_t v) { return TPACKET_ALIGN(v); }
}  // namespace

V3BlockBuilder::V3BlockBuilder(uint32_t block_size) : mem_(block_size) {
  next_ = Align(sizeof(tpacket_block_desc));
  header().version = TPACKET_V3;
  header().offset_to_priv = 0;
  header().hdr.bh1.block_status = TP_STATUS_USER;
  header().hdr.bh1.offset_to_first_pkt = next_;
}

bool V3BlockBuilder::Add(std::span<const std::byte> data, const V3FrameSpec& spec) {
  const uint32_t total = Align(kMacOffset + static_cast<uint32_t>(data.size()));
  if (next_ + total > mem_.size()) return false;
  if (!offsets_.empty()) frame(offsets_.size() - 1).tp_next_offset = next_ - offsets_.back();
  offsets_.push_back(next_);
  tpacket3_hdr& h = frame(offsets_.size() - 1);
  h.tp_next_offset = 0;
  h.tp_sec = spec.sec;
  h.tp_nsec = spec.nsec;
  h.tp_snaplen = static_cast<uint32_t>(data.size());
  h.tp_len = spec.wire_len ? spec.wire_len : static_cast<uint32_t>(data.size());
  h.tp_status = spec.status;
  h.tp_mac = static_cast<uint16_t>(kMacOffset);
  h.tp_net = static_cast<uint16_t>(kMacOffset + 14);
  h.hv1.tp_rxhash = spec.rxhash;
  h.hv1.tp_vlan_tci = spec.vlan_tci;
  h.hv1.tp_vlan_tpid = spec.vlan_tpid;
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = spec.ifindex;
  sll.sll_halen = 6;
  std::memcpy(mem_.data() + next_ + kSllOffset, &sll, sizeof(sll));
  if (!data.empty()) std::memcpy(mem_.data() + next_ + kMacOffset, data.data(), data.size());
  next_ += total;
  return true;
}

void V3BlockBuilder::Finish() {
  header().hdr.bh1.num_pkts = static_cast<uint32_t>(offsets_.size());
  header().hdr.bh1.blk_len = next_;
}

std::vector<std::byte> PatternFrame(uint32_t len, uint32_t seed) {
  std::vector<std::byte> f(len);
  uint32_t x = seed * 2654435761u + 1;
  for (uint32_t i = 0; i < len; ++i) {
    x = x * 1103515245u + 12345u;
    f[i] = static_cast<std::byte>(x >> 16);
  }
  return f;
}

}  // namespace ringstamp::testing
