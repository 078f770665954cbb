// probe_clock.h — the synthetic client clock of the probe session unit tests (STAMP
// sender, ICMP echo sender): probe i leaves at client Unix time kBase + i ms and
// monotonic time kMonoBase + i ms; its kernel TX stamp comes kTxLag after the userspace
// estimate; every stamp is a kernel software one with its userspace time 3 µs later.
//
//   const int64_t t1 = kBase + i * kMs + kTxLag;
//   sender.OnSent(seq, Sw(t1), sink);
//
// Constants and a pure function: any thread, no cost.
#pragma once

#include <cstdint>

#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp::testing {

inline constexpr int64_t kBase = 1'700'000'000'000'000'000;  // client's Unix ns at the start
inline constexpr int64_t kMs = 1'000'000;
inline constexpr int64_t kTxLag = 1'500;  // probe's kernel TX stamp − userspace estimate
inline constexpr int64_t kMonoBase = 5'000'000'000;  // client's monotonic ns at the start

// Kernel software stamp `ns`, userspace stamp 3 µs later (as a receiver reads them).
inline Timestamps Sw(int64_t ns) {
  Timestamps t;
  t.software_ns = ns;
  t.userspace_ns = ns + 3'000;
  return t;
}

}  // namespace ringstamp::testing
