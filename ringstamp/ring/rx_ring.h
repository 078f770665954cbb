// rx_ring.h — RxRing: the TPACKET_V3 receive ring; blocks handed over whole, frames as views.
//
// Example:
// Given: #include "ringstamp/ring/ring_setup.h"
// Given: PacketSocket& sock; void Handle(const Frame& f)
//   RS_ASSIGN_OR_RETURN(Rings rings, SetupRings(sock, {.rx = RingConfig::ForRx(64 << 20)}));
//   RxRing& rx = *rings.rx;
//   size_t n = rx.Poll([](const Frame& f) { Handle(f); });   // every frame of every ready block
//   // or block by block:
//   if (auto block = rx.TryAcquire()) {
//     Frame f;
//     while (block->walker().Next(&f)) Handle(f);
//   }                                    // the guard's destructor returns the block to the kernel
//
// The kernel retires a block to userspace when it is full or its timeout fires
// (RingConfig::block_timeout_ms), so a lone frame waits up to that long: use
// ImmediateRxRing for echo and probe paths.
// Threads: one consumer thread per RxRing (it is the single writer of the
// blocks' status); counters() may be read from any thread.
// Cost: Poll is a block status load per block and the V3BlockWalker per frame;
// one clock read per block for the userspace stamp. No allocation.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "ringstamp/common/clock.h"
#include "ringstamp/ring/ring_config.h"
#include "ringstamp/ring/ring_counters.h"
#include "ringstamp/ring/ring_mapping.h"
#include "ringstamp/ring/v3_block.h"

namespace ringstamp {

struct RxRingCounters {
  RelaxedCounter blocks;            // blocks walked
  RelaxedCounter frames;            // frames handed to handlers
  RelaxedCounter bytes;             // wire bytes of those frames
  RelaxedCounter truncated;         // frames whose snap length < wire length
  RelaxedCounter malformed_blocks;  // walks stopped by a failed offset check
  RelaxedCounter foreign;           // frames of another interface, skipped (set_only_ifindex)
};

class RxRing {
 public:
  // `base` points at the ring inside `mapping`; cfg is the geometry the kernel accepted.
  RxRing(std::shared_ptr<RingMapping> mapping, std::byte* base, const RingConfig& cfg);
  RxRing(RxRing&&) = default;
  RxRing& operator=(RxRing&&) = default;

  // Move-only ownership of one user-side block; returns it to the kernel when destroyed.
  class BlockGuard {
   public:
    BlockGuard(RxRing* ring, tpacket_block_desc* desc, int64_t userspace_ns)
        : ring_(ring),
          desc_(desc),
          walker_(reinterpret_cast<const std::byte*>(desc), ring->cfg_.block_size, userspace_ns) {}
    BlockGuard(BlockGuard&& o) noexcept
        : ring_(std::exchange(o.ring_, nullptr)), desc_(o.desc_), walker_(o.walker_) {}
    BlockGuard& operator=(BlockGuard&&) = delete;
    BlockGuard(const BlockGuard&) = delete;
    ~BlockGuard() {
      if (ring_ != nullptr) ring_->Release(desc_, walker_.error());
    }
    V3BlockWalker& walker() { return walker_; }
    uint32_t num_pkts() const { return desc_->hdr.bh1.num_pkts; }
    uint64_t seq_num() const { return desc_->hdr.bh1.seq_num; }

   private:
    RxRing* ring_;
    tpacket_block_desc* desc_;
    V3BlockWalker walker_;
  };

  // The next block if the kernel has retired it to userspace, else nullopt.
  std::optional<BlockGuard> TryAcquire() {
    auto* desc = BlockAt(next_);
    if (!UserMayReadBlock(desc)) return std::nullopt;
    next_ = next_ + 1 == cfg_.block_count ? 0 : next_ + 1;
    outstanding_++;
    return std::optional<BlockGuard>(std::in_place, this, desc, RealtimeNs());
  }

  // True when the next block is ready (no syscall).
  bool Ready() const { return UserMayReadBlock(BlockAt(next_)); }

  // Hands every frame of up to `max_blocks` ready blocks to fn(const Frame&).
  // Returns the number of frames handled.
  template <class F>
  size_t Poll(F&& fn, uint32_t max_blocks = UINT32_MAX) {
    size_t frames = 0;
    Frame f;
    for (uint32_t b = 0; b < max_blocks; ++b) {
      auto block = TryAcquire();
      if (!block) break;
      uint64_t bytes = 0, truncated = 0;
      size_t n = 0;
      uint64_t foreign = 0;
      while (block->walker().Next(&f)) {
        if (IsForeign(f)) {
          ++foreign;
          continue;
        }
        ++n;
        bytes += f.wire_len;
        truncated += f.truncated();
        fn(static_cast<const Frame&>(f));
      }
      counters_.frames.Add(n);
      counters_.bytes.Add(bytes);
      if (truncated) counters_.truncated.Add(truncated);
      if (foreign) counters_.foreign.Add(foreign);
      frames += n;
    }
    return frames;
  }

  // Like Poll, but hands frames over in batches of up to kFrameBatch as
  // fn(std::span<Frame>), every batch within one block (its frames stay valid
  // until fn returns; fn may modify the Frame values, not the bytes): a handler
  // that sees several frames at once can prefetch what they need.
  template <class F>
  size_t PollBatches(F&& fn, uint32_t max_blocks = UINT32_MAX) {
    size_t frames = 0;
    Frame batch[kFrameBatch];
    for (uint32_t b = 0; b < max_blocks; ++b) {
      auto block = TryAcquire();
      if (!block) break;
      uint64_t bytes = 0, truncated = 0;
      size_t n = 0, in_batch = 0;
      uint64_t foreign = 0;
      while (block->walker().Next(&batch[in_batch])) {
        if (IsForeign(batch[in_batch])) {
          ++foreign;
          continue;
        }
        bytes += batch[in_batch].wire_len;
        truncated += batch[in_batch].truncated();
        ++n;
        if (++in_batch == kFrameBatch) {
          fn(std::span<Frame>(batch, in_batch));
          in_batch = 0;
        }
      }
      if (in_batch > 0) fn(std::span<Frame>(batch, in_batch));
      counters_.frames.Add(n);
      counters_.bytes.Add(bytes);
      if (truncated) counters_.truncated.Add(truncated);
      if (foreign) counters_.foreign.Add(foreign);
      frames += n;
    }
    return frames;
  }

  // Poll and PollBatches skip (and count in counters().foreign) every frame
  // whose sll_ifindex is not `ifindex`; 0 (the default) keeps every frame.
  // SetupRings sets it to the socket's interface: a belt beside the bind order
  // (packet_socket.h), so another interface's frame never reaches a handler.
  // The block-by-block TryAcquire walk does not filter.
  void set_only_ifindex(int ifindex) { only_ifindex_ = ifindex; }

  // Blocks currently held by userspace guards (0 once every guard is gone).
  uint32_t outstanding_blocks() const { return outstanding_; }
  const RxRingCounters& counters() const { return counters_; }
  const RingConfig& config() const { return cfg_; }

 private:
  tpacket_block_desc* BlockAt(uint32_t i) const {
    return reinterpret_cast<tpacket_block_desc*>(base_ + static_cast<size_t>(i) * cfg_.block_size);
  }
  bool IsForeign(const Frame& f) const { return only_ifindex_ != 0 && f.ifindex != only_ifindex_; }
  void Release(tpacket_block_desc* desc, V3BlockError error) {
    if (error != V3BlockError::kNone) counters_.malformed_blocks.Add();
    counters_.blocks.Add();
    outstanding_--;
    ReturnBlockToKernel(desc);
  }

  std::shared_ptr<RingMapping> mapping_;
  std::byte* base_;
  RingConfig cfg_;
  uint32_t next_ = 0;
  uint32_t outstanding_ = 0;
  int only_ifindex_ = 0;
  RxRingCounters counters_;
};

}  // namespace ringstamp
