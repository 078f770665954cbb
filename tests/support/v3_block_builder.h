// v3_block_builder.h — builds TPACKET_V3 blocks in heap memory, laid out as the kernel lays them
// out.
//
//   V3BlockBuilder b(4096);
//   b.Add(frame_bytes, {.status = TP_STATUS_TS_SOFTWARE, .sec = 1, .nsec = 2});
//   b.Finish();                                   // writes num_pkts, blk_len, offsets
//   V3BlockWalker walk(b.data(), b.size(), 0);
//   b.header().hdr.bh1.blk_len = 1 << 20;         // then make it lie, for negative tests
//
// Test-only; single thread.
#pragma once

#include <linux/if_packet.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ringstamp::testing {

struct V3FrameSpec {
  uint32_t status = 0;
  uint32_t sec = 0;
  uint32_t nsec = 0;
  uint32_t wire_len = 0;  // 0: the data size
  uint16_t vlan_tci = 0;
  uint16_t vlan_tpid = 0;
  uint32_t rxhash = 0;
  int32_t ifindex = 1;  // sll_ifindex written beside the frame
};

class V3BlockBuilder {
 public:
  explicit V3BlockBuilder(uint32_t block_size);
  // Appends a frame; false when it does not fit.
  bool Add(std::span<const std::byte> data, const V3FrameSpec& spec = {});
  void Finish();

  std::byte* data() { return mem_.data(); }
  uint32_t size() const { return static_cast<uint32_t>(mem_.size()); }
  tpacket_block_desc& header() { return *reinterpret_cast<tpacket_block_desc*>(mem_.data()); }
  // The header of frame k (after Add).
  tpacket3_hdr& frame(size_t k) {
    return *reinterpret_cast<tpacket3_hdr*>(mem_.data() + offsets_[k]);
  }
  size_t frames() const { return offsets_.size(); }

 private:
  std::vector<std::byte> mem_;
  std::vector<uint32_t> offsets_;
  uint32_t next_;
};

// A frame of `len` bytes whose content is derived from `seed` (for byte comparisons).
std::vector<std::byte> PatternFrame(uint32_t len, uint32_t seed);

}  // namespace ringstamp::testing
