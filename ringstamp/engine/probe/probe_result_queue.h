// probe_result_queue.h — ProbeResultQueue: the results a probe client's workers hand its
// calling thread, and the rule for when they wake it for them (ShouldTell).
//
// Example:
// Given: ProbeResultQueue& queue, const ProbeResult& result, int64_t now_mono_ns
//   const size_t before = queue.results.size();  // worker side, under the client's mutex
//   queue.results.push_back(result);
//   const bool tell = queue.ShouldTell(before, now_mono_ns);  // notify once the mutex is free
//
// Not thread-safe: guarded by the mutex of the client that owns it (ProbeClient,
// IcmpProbeClient). ShouldTell is a few compares; the wakes it spares are a futex call and two
// context switches each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "ringstamp/engine/probe/probe_summary.h"

namespace ringstamp {

// How long results may wait for the calling thread while they keep coming: a worker wakes it
// for the first result after a quiet period this long, and it looks again on its own this long
// after it last took some. Sent back to back, a probe's result came every ~10 µs, and a wake-up
// per result put the calling thread (~2 µs, a futex call and two context switches) inside every
// round trip on a CPU it shares with the worker.
inline constexpr int64_t kProbeTellPeriodNs = 10'000'000;
// ... and how many results wake it regardless.
inline constexpr size_t kProbeTellBatch = 256;

// The results workers hand the calling thread, and when they last woke it. Under the client's
// `mu`.
struct ProbeResultQueue {
  std::vector<ProbeResult> results;
  int64_t last_told_ns = std::numeric_limits<int64_t>::min() / 2;
  // A reply's results whose telling waits for the probe the reply made due (FeedProbeReply).
  bool tell_after_send = false;

  // Worker side, after results were added at `now_mono_ns` (`before` were there already):
  // whether to wake the calling thread. Yes for the first result after kProbeTellPeriodNs
  // without a wake (a result that comes sooner is taken within that period: the calling thread
  // looks again kProbeTellPeriodNs after it last took results), and when kProbeTellBatch are
  // waiting.
  bool ShouldTell(size_t before, int64_t now_mono_ns) {
    const size_t after = results.size();
    if (after == before) return false;
    const bool first = before == 0 && now_mono_ns - last_told_ns >= kProbeTellPeriodNs;
    const bool full = before < kProbeTellBatch && after >= kProbeTellBatch;
    if (!first && !full) return false;
    last_told_ns = now_mono_ns;
    return true;
  }
};

}  // namespace ringstamp
