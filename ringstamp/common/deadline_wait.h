// deadline_wait.h — one bounded wait on a condition variable toward a CLOCK_MONOTONIC deadline.
//
// Example:
// Given: std::mutex& mu; std::condition_variable& cv; const bool& queue_empty; int64_t deadline_ns;
//   std::unique_lock<std::mutex> l(mu);
//   while (queue_empty) {
//     if (!WaitTowardDeadline(cv, l, deadline_ns)) return absl::DeadlineExceededError("no item");
//   }
//
// Waits at most 100 ms per call (so a caller rechecks closed/stop flags), never past the
// deadline; deadline_ns < 0 waits without one. Returns false when the deadline has
// passed (without waiting). Any thread holding `lock`.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "ringstamp/common/clock.h"

namespace ringstamp {

inline bool WaitTowardDeadline(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                               int64_t deadline_ns) {
  constexpr int64_t kSlice = 100'000'000;
  const int64_t now = MonotonicNs();
  if (deadline_ns >= 0 && now >= deadline_ns) return false;
  const int64_t wait = deadline_ns < 0 ? kSlice : std::min<int64_t>(deadline_ns - now, kSlice);
  cv.wait_for(lock, std::chrono::nanoseconds(wait));
  return true;
}

}  // namespace ringstamp
