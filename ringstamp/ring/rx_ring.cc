#include "ringstamp/ring/rx_ring.h"

namespace ringstamp {

RxRing::RxRing(std::shared_ptr<RingMapping> mapping, std::byte* base, const RingConfig& cfg)
    : mapping_(std::move(mapping)), base_(base), cfg_(cfg) {}

}  // namespace ringstamp
