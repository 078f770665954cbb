// tx_ring.h — TxRing: the TPACKET_V3 transmit ring; write frames in place, one kick per burst.
//
// Example:
// Given: #include "ringstamp/ring/ring_setup.h"
// Given: PacketSocket& sock; int burst; uint32_t BuildFrame(std::span<std::byte> slot)
//   RS_ASSIGN_OR_RETURN(Rings rings, SetupRings(sock, {.tx = RingConfig::ForTx(4 << 20)}));
//   TxRing& tx = *rings.tx;
//   for (int i = 0; i < burst; ++i) {
//     std::span<std::byte> slot = tx.Reserve();      // empty: ring full (counted); Flush and retry
//     if (slot.empty()) break;
//     uint32_t len = BuildFrame(slot);
//     if (tx.Commit(len) != TxResult::kOk) continue;  // too long/short: not sent, slot reusable
//   }
//   RS_RETURN_IF_ERROR(tx.Flush());                   // one sendto() for the whole burst
//
// Frames are checked before the kernel sees them: at least an Ethernet header,
// at most MTU + 14 bytes (+ 4 when the frame carries an 802.1Q/802.1ad tag, as
// the kernel allows), at most the slot. The socket is set up with PACKET_LOSS so a
// frame the kernel still rejects is skipped instead of stopping the ring; a slot
// found in TP_STATUS_WRONG_FORMAT is counted and reclaimed.
// On a socket set up with PACKET_VNET_HDR (ring_setup.h does it for TX-only
// sockets, RingConfig::tx_linear_bytes) each slot's frame sits after a 10-byte
// virtio_net_hdr that Commit fills in: it tells the kernel to copy the frame's
// first linear_bytes() into its packet buffer instead of referencing the ring page.
// Reserve hands out the frame area only; callers never see the header.
// Threads: one producer thread per TxRing; counters() from any thread.
// Cost: Reserve is one acquire load; Commit a few stores and a release store;
// Flush one syscall (the kick), shown separately in the benchmark.
#pragma once

#include <linux/if_packet.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "ringstamp/ring/ring_config.h"
#include "ringstamp/ring/ring_counters.h"
#include "ringstamp/ring/ring_mapping.h"

namespace ringstamp {

enum class TxResult : uint8_t {
  kOk,
  kRingFull,     // no free slot: Flush(), wait for POLLOUT (WaitWritable) and retry
  kTooLong,      // longer than the interface MTU allows or than the slot
  kTooShort,     // shorter than an Ethernet header
  kNotReserved,  // Commit without a successful Reserve
};

const char* TxResultName(TxResult r);

struct TxRingCounters {
  RelaxedCounter committed;     // frames handed to the kernel
  RelaxedCounter bytes;         // their bytes
  RelaxedCounter kicks;         // sendto() calls that found work
  RelaxedCounter ring_full;     // Reserve() calls that found no free slot
  RelaxedCounter wrong_format;  // slots the kernel marked TP_STATUS_WRONG_FORMAT
  RelaxedCounter rejected;      // frames refused before the kernel (too long / too short)
  RelaxedCounter kick_errors;   // sendto() failures other than those below
  // Kicks the kernel refused for now (EAGAIN, ENOBUFS, ENETDOWN: device queue
  // full, link down): the frames stay committed and are kicked again.
  RelaxedCounter kicks_failed;
};

static_assert(sizeof(tpacket3_hdr) == 48, "tpacket3_hdr layout changed");

class TxRing {
 public:
  // The kernel reads a slot's data this far in (TPACKET_ALIGN(sizeof(tpacket3_hdr))).
  static constexpr uint32_t kDataOffset = TPACKET_ALIGN(sizeof(tpacket3_hdr));
  // With PACKET_VNET_HDR, the frame follows a struct virtio_net_hdr of this size
  // (<linux/virtio_net.h> is not C++-clean: flags u8, gso_type u8, hdr_len,
  // gso_size, csum_start, csum_offset u16).
  static constexpr uint32_t kVnetHdrLen = 10;

  // `vnet_hdr`: the socket has PACKET_VNET_HDR; frames then carry a virtio_net_hdr
  // whose hdr_len asks the kernel to copy min(len, cfg.tx_linear_bytes) bytes.
  TxRing(std::shared_ptr<RingMapping> mapping, std::byte* base, const RingConfig& cfg, int fd,
         uint32_t mtu, bool vnet_hdr = false);
  TxRing(TxRing&&) = default;
  TxRing& operator=(TxRing&&) = default;

  // The next free slot's data area (capacity() bytes), or an empty span when the
  // ring is full. Calling Reserve again without Commit returns the same slot.
  std::span<std::byte> Reserve() {
    tpacket3_hdr* h = SlotAt(next_);
    uint32_t status = LoadStatus(h);
    if (status == TP_STATUS_WRONG_FORMAT) {
      counters_.wrong_format.Add();
      status = TP_STATUS_AVAILABLE;
    }
    if (status != TP_STATUS_AVAILABLE) {
      counters_.ring_full.Add();
      reserved_ = false;
      return {};
    }
    reserved_ = true;
    return {reinterpret_cast<std::byte*>(h) + frame_offset_, capacity_};
  }

  // Hands the reserved slot's first `len` bytes to the kernel (sent at the next Flush).
  TxResult Commit(uint32_t len) {
    if (!reserved_) return TxResult::kNotReserved;
    tpacket3_hdr* h = SlotAt(next_);
    std::byte* data = reinterpret_cast<std::byte*>(h) + frame_offset_;
    if (TxResult r = Check(data, len); r != TxResult::kOk) {
      counters_.rejected.Add();
      return r;
    }
    uint32_t tp_len = len;
    if (vnet_hdr_) {
      WriteVnetHdr(data - kVnetHdrLen, std::min(len, linear_bytes_));
      tp_len += kVnetHdrLen;
    }
    h->tp_len = tp_len;
    h->tp_snaplen = tp_len;
    h->tp_next_offset = 0;
    std::atomic_ref<uint32_t>(h->tp_status)
        .store(TP_STATUS_SEND_REQUEST, std::memory_order_release);
    reserved_ = false;
    next_ = next_ + 1 == frame_count_ ? 0 : next_ + 1;
    ++pending_;
    counters_.committed.Add();
    counters_.bytes.Add(len);
    return TxResult::kOk;
  }

  // Reserve + copy + Commit.
  TxResult Write(std::span<const std::byte> frame);

  // Kicks the kernel once for everything committed since the last successful
  // kick (sendto(fd, NULL, 0, MSG_DONTWAIT)). Returns a Status only for real
  // errors. EAGAIN/ENOBUFS (device queue busy) and ENETDOWN (link down) are
  // counted in kicks_failed and leave the frames pending: the next Flush kicks
  // again, so sending resumes by itself when the link comes back.
  absl::Status Flush();

  // Waits up to timeout_ms for a free slot (POLLOUT); true when one is free.
  // When the slot waited for is still a send request the kernel never took,
  // kicks first (else POLLOUT could not come).
  bool WaitWritable(int timeout_ms);

  // Frames committed and not yet taken by a successful kick.
  uint32_t pending() const { return pending_; }
  // Slots in the ring, and the index (0 .. frame_count()-1) of the slot the next
  // Reserve returns: a producer that keeps what it wrote per slot (a frame
  // template) may skip rewriting bytes the slot already holds; the kernel never
  // writes a TX slot's frame area.
  uint32_t frame_count() const { return frame_count_; }
  uint32_t next_slot() const { return next_; }
  // Slots the kernel still owns (committed, not yet sent). O(frame count).
  uint32_t InFlight() const;
  // Largest frame Commit accepts: min(slot frame area, MTU + 14 + 4).
  uint32_t capacity() const { return capacity_; }
  // Bytes of each frame the kernel copies into its own packet buffer; the rest is
  // referenced from the ring page. 14 (the Ethernet header) without PACKET_VNET_HDR.
  uint32_t linear_bytes() const { return vnet_hdr_ ? linear_bytes_ : 14; }
  // Where in a slot the frame starts (kDataOffset, + kVnetHdrLen with PACKET_VNET_HDR).
  uint32_t frame_offset() const { return frame_offset_; }
  uint32_t mtu() const { return mtu_; }
  int fd() const { return fd_; }
  const TxRingCounters& counters() const { return counters_; }
  const RingConfig& config() const { return cfg_; }

  // A message for a rejected Commit: "frame of 1600 bytes is longer than eth1's MTU ...".
  absl::Status Describe(TxResult result, uint32_t len) const;

 private:
  absl::Status Kick();
  static uint32_t LoadStatus(tpacket3_hdr* h) {
    return std::atomic_ref<uint32_t>(h->tp_status).load(std::memory_order_acquire);
  }
  tpacket3_hdr* SlotAt(uint32_t i) const {
    const uint32_t block = i / frames_per_block_;
    const uint32_t in_block = i % frames_per_block_;
    return reinterpret_cast<tpacket3_hdr*>(base_ + static_cast<size_t>(block) * cfg_.block_size +
                                           static_cast<size_t>(in_block) * cfg_.frame_size);
  }
  // virtio_net_hdr with no offloads: only hdr_len says how much to copy. Native byte
  // order: AF_PACKET reads it as legacy virtio (vio_le(): little-endian only on
  // little-endian hosts).
  // flags 0 (no checksum offload), gso_type 0 (VIRTIO_NET_HDR_GSO_NONE), the rest 0:
  // two stores, the first holding flags, gso_type, hdr_len, gso_size.
  static void WriteVnetHdr(std::byte* at, uint32_t hdr_len) {
    static_assert(std::endian::native == std::endian::little ||
                  std::endian::native == std::endian::big);
    const uint64_t head = std::endian::native == std::endian::little
                              ? static_cast<uint64_t>(hdr_len & 0xffff) << 16
                              : static_cast<uint64_t>(hdr_len & 0xffff) << 32;
    const uint16_t tail = 0;  // csum_offset
    std::memcpy(at, &head, sizeof(head));
    std::memcpy(at + sizeof(head), &tail, sizeof(tail));
  }
  TxResult Check(const std::byte* data, uint32_t len) const {
    if (len < 14) return TxResult::kTooShort;
    if (len > capacity_) return TxResult::kTooLong;
    if (len > mtu_ + 14) {
      const uint16_t ethertype = static_cast<uint16_t>(static_cast<uint16_t>(data[12]) << 8 |
                                                       static_cast<uint16_t>(data[13]));
      const bool tagged = ethertype == 0x8100 || ethertype == 0x88a8;
      if (!tagged || len > mtu_ + 18) return TxResult::kTooLong;
    }
    return TxResult::kOk;
  }

  std::shared_ptr<RingMapping> mapping_;
  std::byte* base_;
  RingConfig cfg_;
  int fd_;
  uint32_t mtu_;
  bool vnet_hdr_;
  uint32_t linear_bytes_;
  uint32_t frame_offset_;
  uint32_t capacity_;
  uint32_t frames_per_block_;
  uint32_t frame_count_;
  uint32_t next_ = 0;
  uint32_t pending_ = 0;
  bool reserved_ = false;
  TxRingCounters counters_;
};

}  // namespace ringstamp
