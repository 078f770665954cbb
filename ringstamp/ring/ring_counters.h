// ring_counters.h — RelaxedCounter: a counter with one writer and any number of readers.
//
// Example:
// Given: uint64_t n
//   RelaxedCounter frames;          // owned by the ring's thread
//   frames.Add(n);                  // writer: a plain load + store, no lock prefix
//   uint64_t seen = frames.Get();   // any thread: a snapshot, never torn
//
// Only the owning thread may Add(); Get() is safe from any thread. Cost: as a plain
// uint64_t increment on x86.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringstamp {

class RelaxedCounter {
 public:
  RelaxedCounter() = default;
  // Copies are for setup-time moves of the owning object, before any reader exists.
  RelaxedCounter(const RelaxedCounter& o) : value_(o.Get()) {}
  RelaxedCounter& operator=(const RelaxedCounter& o) {
    value_.store(o.Get(), std::memory_order_relaxed);
    return *this;
  }

  void Add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace ringstamp
