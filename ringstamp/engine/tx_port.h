// tx_port.h — TxPort: a worker's transmit side, a TPACKET_V3 TxRing or a TAP queue, one API.
//
// Example:
// Given: #include "ringstamp/engine/worker.h"
// Given: Worker& worker; uint32_t BuildFrame(std::span<std::byte> slot)
//   TxPort* tx = worker.tx();
//   std::span<std::byte> slot = tx->Reserve();     // empty: full (counted); Flush and retry
//   if (!slot.empty()) tx->Commit(BuildFrame(slot));  // the worker flushes after each batch
//
// Handlers and generators write through this so they run unchanged over an
// AF_PACKET ring or a TAP port (ringstamp/ring/tap_port.h). Each call is one predictable
// branch plus the underlying inline call. Owned by the Worker; used only on its thread.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "ringstamp/ring/tap_port.h"
#include "ringstamp/ring/tx_ring.h"

namespace ringstamp {

class TxPort {
 public:
  explicit TxPort(TxRing* ring) : ring_(ring) {}
  explicit TxPort(TapTx* tap) : tap_(tap) {}

  std::span<std::byte> Reserve() { return ring_ ? ring_->Reserve() : tap_->Reserve(); }
  TxResult Commit(uint32_t len) { return ring_ ? ring_->Commit(len) : tap_->Commit(len); }
  TxResult Write(std::span<const std::byte> f) { return ring_ ? ring_->Write(f) : tap_->Write(f); }
  absl::Status Flush() { return ring_ ? ring_->Flush() : tap_->Flush(); }
  bool WaitWritable(int timeout_ms) {
    return ring_ ? ring_->WaitWritable(timeout_ms) : tap_->WaitWritable(timeout_ms);
  }
  uint32_t pending() const { return ring_ ? ring_->pending() : tap_->pending(); }
  uint32_t capacity() const { return ring_ ? ring_->capacity() : tap_->capacity(); }
  uint32_t mtu() const { return ring_ ? ring_->mtu() : tap_->mtu(); }
  // Frames handed over but not yet on the wire (a TAP write completes in Flush: 0).
  uint32_t InFlight() const { return ring_ ? ring_->InFlight() : 0; }
  absl::Status Describe(TxResult r, uint32_t len) const {
    return ring_ ? ring_->Describe(r, len) : tap_->Describe(r, len);
  }
  TxRing* ring() { return ring_; }
  TapTx* tap() { return tap_; }

 private:
  TxRing* ring_ = nullptr;
  TapTx* tap_ = nullptr;
};

}  // namespace ringstamp
