#include "ringstamp/ring/immediate_rx_ring.h"

namespace ringstamp {

ImmediateRxRing::ImmediateRxRing(std::shared_ptr<RingMapping> mapping, std::byte* base,
                                 const RingConfig& cfg)
    : mapping_(std::move(mapping)),
      base_(base),
      cfg_(cfg),
      frames_per_block_(cfg.frames_per_block()),
      frame_count_(cfg.frame_count()) {}

}  // namespace ringstamp
