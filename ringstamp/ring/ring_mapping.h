// ring_mapping.h — RingMapping: the mmap'd memory of a packet socket's rings (RX first, then TX).
//
// Owned jointly (shared_ptr) by the RxRing/TxRing views made from it, so the
// memory lives until the last view goes. Made by SetupRings (ring_setup.h).
// Threads: immutable after construction. Cost: munmap on destruction.
#pragma once

#include <cstddef>
#include <memory>

namespace ringstamp {

class RingMapping {
 public:
  RingMapping(std::byte* base, size_t length) : base_(base), length_(length) {}
  ~RingMapping();
  RingMapping(const RingMapping&) = delete;
  RingMapping& operator=(const RingMapping&) = delete;

  std::byte* base() const { return base_; }
  size_t length() const { return length_; }

 private:
  std::byte* base_;
  size_t length_;
};

}  // namespace ringstamp
