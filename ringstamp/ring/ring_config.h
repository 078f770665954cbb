// ring_config.h — RingConfig: the geometry of one TPACKET ring, checked before any syscall.
//
// Example:
//   RingConfig cfg = RingConfig::ForRx(/*bytes=*/64 << 20);
//   if (absl::Status s = cfg.Validate(RingKind::kRxV3); !s.ok()) return s;  // names the wrong value
//   tpacket_req3 req = cfg.ToReq3(RingKind::kRxV3);
//
// A plain value: copy it freely, any thread. Validation is pure arithmetic.
// Memory: block_size × block_count bytes of kernel memory mapped into the process.
#pragma once

#include <linux/if_packet.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ringstamp {

// ForTx's tx_linear_bytes: every frame up to a standard Ethernet frame goes fully copied.
inline constexpr uint32_t kDefaultTxLinearBytes = 2048;

enum class RingKind {
  kRxV3,  // TPACKET_V3 RX: variable frames packed in blocks, retired by fill or timeout
  kRxV2,  // TPACKET_V2 RX: fixed frames handed over one by one (immediate mode)
  kTxV3,  // TPACKET_V3 TX: fixed frames, tp_retire_blk_tov must be 0
};

struct RingConfig {
  uint32_t block_size = 1u << 22;  // bytes per block; a multiple of the page size
  uint32_t block_count = 64;       // blocks in the ring
  uint32_t frame_size = 1u << 11;  // V3 RX: slot unit for tp_frame_nr; V2/TX: fixed frame size
  uint32_t block_timeout_ms = 1;   // V3 RX: retire a partly filled block after this long
  // TX only: the kernel copies up to this many bytes of each frame into the packet
  // buffer it builds (the rest is referenced from the ring page, as without it).
  // A fully copied frame skips the page reference the kernel otherwise takes, and
  // the page allocation + copy that veth and the local stack make to undo that
  // zero-copy reference (skb_copy_ubufs): on veth a 60-byte frame took 15% less
  // CPU (913 → 774 ns, sender and peer kernel together; docs/benchmarks.md).
  // Applied through PACKET_VNET_HDR (a 10-byte virtio_net_hdr before each frame,
  // written by TxRing), so only on a socket that receives nothing (protocol 0, no
  // RX ring; see ring_setup.h); elsewhere, and at 0, only the Ethernet header is
  // copied.
  uint32_t tx_linear_bytes = 0;

  // Total bytes mapped for this ring.
  uint64_t bytes() const { return static_cast<uint64_t>(block_size) * block_count; }
  uint32_t frames_per_block() const { return frame_size ? block_size / frame_size : 0; }
  uint32_t frame_count() const { return frames_per_block() * block_count; }

  // A ring of about `total_bytes` (rounded to whole blocks, at least 2 blocks)
  // with 4 MiB blocks for RX capture, or 64 KiB blocks for TX (which copies up to
  // kDefaultTxLinearBytes of each frame into the kernel's buffer).
  static RingConfig ForRx(uint64_t total_bytes);
  static RingConfig ForTx(uint64_t total_bytes, uint32_t frame_size = 2048);

  // Every rule the kernel applies to tpacket_req/req3, checked here first, so a
  // bad value is named with what would fit instead of a bare EINVAL:
  // page-multiple block size, TPACKET_ALIGNMENT frame size at least the header,
  // frame ≤ block, whole frames per block, frame count that fits 32 bits,
  // TX needing a zero timeout, and the V3 block timeout range.
  absl::Status Validate(RingKind kind) const;

  // The same ring with half the blocks (at least 2): what to try after ENOMEM.
  // Returns an error when the ring cannot shrink further.
  absl::StatusOr<RingConfig> Halved() const;

  tpacket_req3 ToReq3(RingKind kind) const;
  tpacket_req ToReq() const;
};

// Smallest frame that can hold the ring's own header plus an Ethernet header.
uint32_t MinFrameSize(RingKind kind);

}  // namespace ringstamp
