#include "ringstamp/ring/ring_mapping.h"

#include <sys/mman.h>

namespace ringstamp {

RingMapping::~RingMapping() {
  if (base_ != nullptr) munmap(base_, length_);
}

}  // namespace ringstamp
