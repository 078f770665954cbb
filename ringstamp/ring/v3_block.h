// v3_block.h — the TPACKET_V3 block walk: frames out of one retired block, every offset checked.
//
// Example:
// Given: #include "ringstamp/common/clock.h"
// Given: const std::byte* block_memory; uint32_t block_size; uint64_t& malformed_blocks; void Handle(const Frame& f)
//   V3BlockWalker walk(block_memory, block_size, /*userspace_ns=*/RealtimeNs());
//   Frame f;
//   while (walk.Next(&f)) Handle(f);
//   if (walk.error() != V3BlockError::kNone) ++malformed_blocks;
//
// Pure: works on any memory, so tests walk blocks built in heap memory. The
// walker trusts nothing the block says: num_pkts, blk_len, offset_to_first_pkt,
// tp_next_offset, tp_mac and tp_snaplen are each checked against the block
// before use; the walk stops at the first lie and names it.
// Threads: one walker per block, on the thread that owns the block.
// Cost: inline, a handful of compares per frame, no copy, no allocation.
#pragma once

#include <linux/if_packet.h>
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ringstamp/ring/frame.h"

namespace ringstamp {

static_assert(sizeof(tpacket3_hdr) == 48, "tpacket3_hdr layout");
static_assert(sizeof(tpacket_block_desc) == 48, "tpacket_block_desc layout");
static_assert(offsetof(tpacket_block_desc, hdr) == 8, "tpacket_block_desc layout");

enum class V3BlockError : uint8_t {
  kNone,
  kBlockLengthLies,  // blk_len beyond the block, or before the first frame
  kFirstOffsetBad,   // offset_to_first_pkt outside the block or misaligned
  kNextOffsetBad,    // tp_next_offset zero, misaligned or past the block
  kFrameOutOfBlock,  // a frame header, or tp_mac + tp_snaplen, past the block
};

const char* V3BlockErrorName(V3BlockError e);

class V3BlockWalker {
 public:
  // Where the kernel puts the frame's sockaddr_ll (sll_ifindex says which
  // interface the frame came from), relative to the frame header.
  static constexpr uint32_t kSllOffset = TPACKET_ALIGN(sizeof(tpacket3_hdr));
  static constexpr uint32_t kSllEnd = kSllOffset + sizeof(sockaddr_ll);

  // `block` points at a block of `block_size` bytes the caller owns for the walk.
  V3BlockWalker(const std::byte* block, uint32_t block_size, int64_t userspace_ns)
      : block_(block), userspace_ns_(userspace_ns) {
    const auto* desc = reinterpret_cast<const tpacket_block_desc*>(block);
    const tpacket_hdr_v1& h = desc->hdr.bh1;
    remaining_ = h.num_pkts;
    uint32_t len = h.blk_len;
    const uint32_t first = h.offset_to_first_pkt;
    limit_ = block_size;
    if (len > block_size) {
      error_ = V3BlockError::kBlockLengthLies;
      len = block_size;  // walk what fits; frames past the block are rejected below
    }
    limit_ = len;
    if (remaining_ == 0) return;
    if (first < sizeof(tpacket_block_desc) || first >= block_size || (first & 3) != 0) {
      error_ = V3BlockError::kFirstOffsetBad;
      remaining_ = 0;
      return;
    }
    if (first >= limit_) {
      error_ = V3BlockError::kBlockLengthLies;
      remaining_ = 0;
      return;
    }
    offset_ = first;
  }

  uint32_t num_pkts_left() const { return remaining_; }
  V3BlockError error() const { return error_; }

  // Fills *f with the next frame; false when the block is done or a check failed.
  bool Next(Frame* f) {
    if (remaining_ == 0) return false;
    if (offset_ + sizeof(tpacket3_hdr) > limit_) return Fail(V3BlockError::kFrameOutOfBlock);
    const auto* h = reinterpret_cast<const tpacket3_hdr*>(block_ + offset_);
    const uint32_t mac = h->tp_mac;
    const uint32_t snap = h->tp_snaplen;
    if (static_cast<uint64_t>(offset_) + mac + snap > limit_ || mac < sizeof(tpacket3_hdr)) {
      return Fail(V3BlockError::kFrameOutOfBlock);
    }
    f->data = block_ + offset_ + mac;
    f->snap_len = snap;
    f->wire_len = h->tp_len;
    f->status = h->tp_status;
    f->rxhash = h->hv1.tp_rxhash;
    f->vlan_valid = (h->tp_status & TP_STATUS_VLAN_VALID) != 0;
    f->vlan_tci = h->hv1.tp_vlan_tci;
    f->vlan_tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid
                   : f->vlan_valid                            ? 0x8100
                                                              : 0;
    f->pkt_type = 0;
    // The kernel writes a sockaddr_ll right after the header, before tp_mac.
    if (mac >= kSllEnd) {
      int32_t ifindex;
      std::memcpy(&ifindex, block_ + offset_ + kSllOffset + offsetof(sockaddr_ll, sll_ifindex),
                  sizeof(ifindex));
      f->ifindex = ifindex;
    } else {
      f->ifindex = 0;
    }
    f->stamps = Timestamps{};
    f->stamps.userspace_ns = userspace_ns_;
    DecodeRingStamp(h->tp_status, h->tp_sec, h->tp_nsec, &f->stamps);
    --remaining_;
    if (remaining_ != 0) {
      const uint32_t next = h->tp_next_offset;
      if (next < sizeof(tpacket3_hdr) || (next & 3) != 0 ||
          static_cast<uint64_t>(offset_) + next >= limit_) {
        // This frame was fine; the ones after it cannot be found.
        error_ = V3BlockError::kNextOffsetBad;
        remaining_ = 0;
      } else {
        offset_ += next;
      }
    }
    return true;
  }

 private:
  bool Fail(V3BlockError e) {
    error_ = e;
    remaining_ = 0;
    return false;
  }

  const std::byte* block_;
  int64_t userspace_ns_;
  uint32_t limit_ = 0;
  uint32_t offset_ = 0;
  uint32_t remaining_ = 0;
  V3BlockError error_ = V3BlockError::kNone;
};

// The kernel/user hand-off of one block: acquire when reading, release when returning.
inline uint32_t LoadBlockStatus(const tpacket_block_desc* desc) {
  auto* status = const_cast<uint32_t*>(&desc->hdr.bh1.block_status);
  return std::atomic_ref<uint32_t>(*status).load(std::memory_order_acquire);
}
inline bool UserMayReadBlock(const tpacket_block_desc* desc) {
  return (LoadBlockStatus(desc) & TP_STATUS_USER) != 0;
}
inline void ReturnBlockToKernel(tpacket_block_desc* desc) {
  std::atomic_ref<uint32_t>(desc->hdr.bh1.block_status)
      .store(TP_STATUS_KERNEL, std::memory_order_release);
}

}  // namespace ringstamp
