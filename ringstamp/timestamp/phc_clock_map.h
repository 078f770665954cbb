// phc_clock_map.h — PhcClockMap: the PHC → CLOCK_REALTIME mapping of a run, kept current.
//
// Example:
// Given: #include "ringstamp/timestamp/phc.h"
// Given: const Phc& phc; Timestamps& stamps
//   auto map = std::make_shared<PhcClockMap>();
//   RS_ASSIGN_OR_RETURN(PhcOffset offset, phc.MeasureOffset());
//   map->Update(offset);                             // tracker thread, about once a second
//   ...
//   if (auto m = map->Map(stamps.hardware_ns.value())) {   // any worker
//     stamps.hardware_system_ns = m->system_ns;      // ± m->uncertainty_ns
//   }
//   PhcClockStats s = map->Stats();                  // for a summary: uncertainty, slope
//
// A NIC's clock runs at its own rate: an offset measured once at setup is off
// by 50 µs after one second at 50 ppm. This map keeps the last two PHC↔system
// comparisons (PhcOffset) and maps a PHC time p on the line through them:
//   system(p) = s1 + (p − p1) × (s1 − s0) / (p1 − p0)
// (interpolated between the two samples, extrapolated past them). With one
// comparison only, the slope is 1 (offset only). The uncertainty of a mapped
// stamp is the last comparison's plus the slope's error over the distance:
//   u(p) = u1 + |p − p1| × (u0 + u1) / (p1 − p0)
// Both clocks must be monotonic between updates for this to hold; a step of
// either (phc2sys stepping the PHC, settimeofday) shows in the next update's
// slope for one interval, and Update refuses a comparison whose PHC time did
// not advance (counted as `rejected`: a frozen or stepped-back PHC).
//
// Threads: one writer (Update), any number of readers (Map, Stats) at once,
// lock-free: a sequence lock over atomic words; a reader retries only while an
// update is being written (a few ns, once a second). Cost: Map ~10 ns, no
// allocation, no syscall. Ownership: a plain object; share it by shared_ptr
// between the tracker that updates it and the workers that read it.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "ringstamp/timestamp/phc.h"
#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp {

struct MappedStamp {
  int64_t system_ns = 0;       // CLOCK_REALTIME
  int64_t uncertainty_ns = 0;  // ± bound of the mapping at this stamp
};

struct PhcClockStats {
  uint64_t updates = 0;            // comparisons accepted
  uint64_t rejected = 0;           // comparisons refused (PHC did not advance)
  uint64_t failures = 0;           // measurements that failed (NoteFailure)
  int64_t offset_ns = 0;           // PHC − system at the last comparison
  double slope_ppb = 0;            // PHC rate against system, (dPHC/dsys − 1) × 1e9
  int64_t uncertainty_ns = 0;      // of a stamp one update interval past the last comparison
  int64_t max_uncertainty_ns = 0;  // the largest `uncertainty_ns` seen this run
  PhcOffsetMethod method = PhcOffsetMethod::kExtended;
};

// "±1.2 us (worst ±3.4 us), PHC rate +50.123 ppm, 61 updates, 0 failed, 0 refused, extended":
// for summaries.
std::string FormatPhcClockStats(const PhcClockStats& s);

class PhcClockMap {
 public:
  PhcClockMap() = default;
  PhcClockMap(const PhcClockMap&) = delete;
  PhcClockMap& operator=(const PhcClockMap&) = delete;

  // Writer (one thread): a new comparison. False (and counted) when its PHC
  // time is not after the previous comparison's.
  bool Update(const PhcOffset& o);
  // Writer: a measurement failed; the mapping keeps extrapolating (its
  // uncertainty grows with the distance from the last comparison).
  void NoteFailure() { failures_.fetch_add(1, std::memory_order_relaxed); }

  // Any thread: `phc_ns` on CLOCK_REALTIME; nullopt before the first Update.
  std::optional<MappedStamp> Map(int64_t phc_ns) const;

  // Fills ts.hardware_system_ns from a raw hardware stamp (nothing if unmapped)
  // and returns the mapping's uncertainty at it.
  std::optional<int64_t> MapInto(Timestamps& ts) const;

  // Any thread: counts, and the uncertainty of a stamp taken `interval_ns`
  // after the last comparison (the worst case between two updates).
  PhcClockStats Stats(int64_t interval_ns = 1'000'000'000) const;

  bool has_mapping() const { return seq_.load(std::memory_order_acquire) >= 2; }

 private:
  struct Snapshot {
    int64_t p1 = 0, s1 = 0, u1 = 0;
    int64_t dp = 0, ds = 0, du = 0;  // p1 − p0, s1 − s0, u0 + u1; dp 0: offset only
    int64_t method = 0;
  };
  Snapshot Read() const;
  static MappedStamp MapWith(const Snapshot& s, int64_t phc_ns);

  // Sequence lock: odd while Update writes. 0: never written.
  std::atomic<uint64_t> seq_{0};
  std::atomic<int64_t> p1_{0}, s1_{0}, u1_{0}, dp_{0}, ds_{0}, du_{0}, method_{0};
  // Writer-only state.
  bool have_prev_ = false;
  PhcOffset prev_;
  std::atomic<uint64_t> updates_{0}, rejected_{0}, failures_{0};
  std::atomic<int64_t> max_uncertainty_ns_{0};
};

}  // namespace ringstamp
