// clock.h — nanosecond clock reads used for userspace stamps and deadlines.
//
// Example:
//   int64_t t = ringstamp::RealtimeNs();   // Unix time in ns (CLOCK_REALTIME)
//
// Any thread. Cost: one vDSO clock_gettime, ~25 ns on this machine kind.
#pragma once

#include <time.h>

#include <cstdint>

namespace ringstamp {

inline constexpr int64_t kNsPerSec = 1'000'000'000;

inline int64_t TimespecToNs(const timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

inline timespec NsToTimespec(int64_t ns) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / kNsPerSec);
  ts.tv_nsec = static_cast<long>(ns % kNsPerSec);
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += kNsPerSec;
    ts.tv_sec -= 1;
  }
  return ts;
}

// Unix time: the clock the kernel's software stamps are on.
inline int64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return TimespecToNs(ts);
}

// For deadlines and intervals: never steps.
inline int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return TimespecToNs(ts);
}

}  // namespace ringstamp
