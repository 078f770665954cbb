// immediate_rx_ring.h — ImmediateRxRing: a TPACKET_V2 receive ring that hands over each frame as it
// lands.
//
// Example:
// Given: #include "ringstamp/ring/ring_setup.h"
// Given: PacketSocket& sock; const RingConfig& cfg; void Echo(const Frame& f)
//   RS_ASSIGN_OR_RETURN(Rings rings, SetupRings(sock, {.rx = cfg, .rx_kind = RingKind::kRxV2}));
//   rings.rx_immediate->Poll([](const Frame& f) { Echo(f); });
//
// A V3 block reaches userspace only when full or when its timeout (≥ 1 ms)
// fires; here every frame is user-visible the moment the kernel writes it,
// which is what an echo server or a latency probe needs (libpcap's immediate
// mode does the same). Same Frame view as RxRing; no rxhash on V2.
// Threads: one consumer thread; counters() from any thread.
// Cost: one status load per frame plus one clock read per Poll call that finds
// frames (the userspace stamp); the fixed frame size wastes ring memory on
// small frames, so prefer RxRing for capture at high rates.
#pragma once

#include <linux/if_packet.h>

#include <span>

#include <atomic>
#include <cstdint>
#include <memory>

#include "ringstamp/common/clock.h"
#include "ringstamp/ring/frame.h"
#include "ringstamp/ring/ring_config.h"
#include "ringstamp/ring/ring_counters.h"
#include "ringstamp/ring/ring_mapping.h"
#include "ringstamp/ring/rx_ring.h"

namespace ringstamp {

static_assert(sizeof(tpacket2_hdr) == 32, "tpacket2_hdr layout");

class ImmediateRxRing {
 public:
  ImmediateRxRing(std::shared_ptr<RingMapping> mapping, std::byte* base, const RingConfig& cfg);
  ImmediateRxRing(ImmediateRxRing&&) = default;
  ImmediateRxRing& operator=(ImmediateRxRing&&) = default;

  bool Ready() const { return (LoadStatus(SlotAt(next_)) & TP_STATUS_USER) != 0; }

  // Hands up to `max_frames` ready frames to fn(const Frame&), each returned to the
  // kernel right after its handler. Returns the number handled.
  template <class F>
  size_t Poll(F&& fn, uint32_t max_frames = UINT32_MAX) {
    size_t n = 0;
    int64_t user_ns = 0;
    Frame f;
    while (n < max_frames) {
      tpacket2_hdr* h = SlotAt(next_);
      const uint32_t status = LoadStatus(h);
      if ((status & TP_STATUS_USER) == 0) break;
      if (user_ns == 0) user_ns = RealtimeNs();
      next_ = next_ + 1 == frame_count_ ? 0 : next_ + 1;
      if (!Fill(h, status, user_ns, &f)) {
        counters_.malformed_blocks.Add();
      } else if (IsForeign(f)) {
        counters_.foreign.Add();
      } else {
        fn(static_cast<const Frame&>(f));
        ++n;
        counters_.bytes.Add(f.wire_len);
        if (f.truncated()) counters_.truncated.Add();
      }
      std::atomic_ref<uint32_t>(h->tp_status).store(TP_STATUS_KERNEL, std::memory_order_release);
    }
    if (n) {
      counters_.frames.Add(n);
      counters_.blocks.Add();
    }
    return n;
  }

  // Like Poll, but hands the frames ready now over in batches of up to
  // kFrameBatch as fn(std::span<Frame>); a batch's slots go back to the kernel
  // after fn returns. Never waits for a batch to fill.
  template <class F>
  size_t PollBatches(F&& fn, uint32_t max_frames = UINT32_MAX) {
    size_t n = 0;
    int64_t user_ns = 0;
    Frame batch[kFrameBatch];
    tpacket2_hdr* slots[kFrameBatch];
    while (n < max_frames) {
      size_t in_batch = 0, taken = 0;
      while (taken < kFrameBatch && n + in_batch < max_frames) {
        tpacket2_hdr* h = SlotAt(next_);
        const uint32_t status = LoadStatus(h);
        if ((status & TP_STATUS_USER) == 0) break;
        if (user_ns == 0) user_ns = RealtimeNs();
        next_ = next_ + 1 == frame_count_ ? 0 : next_ + 1;
        slots[taken++] = h;
        if (!Fill(h, status, user_ns, &batch[in_batch])) {
          counters_.malformed_blocks.Add();
        } else if (IsForeign(batch[in_batch])) {
          counters_.foreign.Add();
        } else {
          counters_.bytes.Add(batch[in_batch].wire_len);
          if (batch[in_batch].truncated()) counters_.truncated.Add();
          ++in_batch;
        }
      }
      if (taken == 0) break;
      if (in_batch > 0) fn(std::span<Frame>(batch, in_batch));
      for (size_t i = 0; i < taken; ++i) {
        std::atomic_ref<uint32_t>(slots[i]->tp_status)
            .store(TP_STATUS_KERNEL, std::memory_order_release);
      }
      n += in_batch;
      if (taken < kFrameBatch) break;  // the ring had no more
    }
    if (n) {
      counters_.frames.Add(n);
      counters_.blocks.Add();
    }
    return n;
  }

  // As RxRing::set_only_ifindex: frames of another interface are skipped and
  // counted in counters().foreign.
  void set_only_ifindex(int ifindex) { only_ifindex_ = ifindex; }

  uint32_t outstanding_blocks() const { return 0; }
  const RxRingCounters& counters() const { return counters_; }
  const RingConfig& config() const { return cfg_; }

 private:
  bool IsForeign(const Frame& f) const { return only_ifindex_ != 0 && f.ifindex != only_ifindex_; }
  static uint32_t LoadStatus(tpacket2_hdr* h) {
    return std::atomic_ref<uint32_t>(h->tp_status).load(std::memory_order_acquire);
  }
  tpacket2_hdr* SlotAt(uint32_t i) const {
    const uint32_t block = i / frames_per_block_;
    const uint32_t in_block = i % frames_per_block_;
    return reinterpret_cast<tpacket2_hdr*>(base_ + static_cast<size_t>(block) * cfg_.block_size +
                                           static_cast<size_t>(in_block) * cfg_.frame_size);
  }
  // Checks the kernel's offsets against the slot; false when they lie.
  bool Fill(const tpacket2_hdr* h, uint32_t status, int64_t user_ns, Frame* f) const {
    const uint32_t mac = h->tp_mac;
    const uint32_t snap = h->tp_snaplen;
    if (mac < sizeof(tpacket2_hdr) || static_cast<uint64_t>(mac) + snap > cfg_.frame_size) {
      return false;
    }
    f->data = reinterpret_cast<const std::byte*>(h) + mac;
    f->snap_len = snap;
    f->wire_len = h->tp_len;
    f->status = status;
    f->rxhash = 0;
    f->vlan_valid = (status & TP_STATUS_VLAN_VALID) != 0;
    f->vlan_tci = h->tp_vlan_tci;
    f->vlan_tpid = (status & TP_STATUS_VLAN_TPID_VALID) ? h->tp_vlan_tpid
                   : f->vlan_valid                      ? 0x8100
                                                        : 0;
    const auto* sll = reinterpret_cast<const sockaddr_ll*>(reinterpret_cast<const std::byte*>(h) +
                                                           TPACKET_ALIGN(sizeof(tpacket2_hdr)));
    f->pkt_type = sll->sll_pkttype;
    f->ifindex = sll->sll_ifindex;
    f->stamps = Timestamps{};
    f->stamps.userspace_ns = user_ns;
    DecodeRingStamp(status, h->tp_sec, h->tp_nsec, &f->stamps);
    return true;
  }

  std::shared_ptr<RingMapping> mapping_;
  std::byte* base_;
  RingConfig cfg_;
  uint32_t frames_per_block_;
  uint32_t frame_count_;
  uint32_t next_ = 0;
  int only_ifindex_ = 0;
  RxRingCounters counters_;
};

}  // namespace ringstamp
