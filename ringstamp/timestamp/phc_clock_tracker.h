// phc_clock_tracker.h — PhcClockTracker: a thread that re-measures a PHC against system time.
//
// Example:
// Given: #include "ringstamp/timestamp/phc.h"
// Given: #include "ringstamp/engine/engine_options.h"
// Given: std::shared_ptr<Phc> phc; const PhcOffset& first_offset; EngineOptions& options
//   auto map = std::make_shared<PhcClockMap>();
//   map->Update(first_offset);                           // the setup measurement
//   auto tracker = PhcClockTracker::Start(
//       [phc]() { return phc->MeasureOffset(); }, map);  // then once a second
//   options.phc_map = map;                               // workers map stamps with it
//   ...                                                  // ~PhcClockTracker stops the thread
//
// The packet workers never measure (a PHC ioctl costs microseconds and may
// sleep in the driver): this thread does, every `period_ns`, and publishes
// into the PhcClockMap, which the workers read lock-free. A failed measurement
// is counted (PhcClockMap::NoteFailure) and the map keeps its last two
// comparisons; its uncertainty grows with the distance.
//
// Ownership: owns its thread; shares the map. Thread-safety: construct and
// destroy on one thread; map() from any. Cost: one thread asleep between
// measurements; destruction wakes it and joins (bounded by one measurement).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "ringstamp/timestamp/phc.h"
#include "ringstamp/timestamp/phc_clock_map.h"

namespace ringstamp {

class PhcClockTracker {
 public:
  using MeasureFn = std::function<absl::StatusOr<PhcOffset>()>;

  static std::unique_ptr<PhcClockTracker> Start(MeasureFn measure, std::shared_ptr<PhcClockMap> map,
                                                int64_t period_ns = 1'000'000'000);
  ~PhcClockTracker();
  PhcClockTracker(const PhcClockTracker&) = delete;
  PhcClockTracker& operator=(const PhcClockTracker&) = delete;

  const std::shared_ptr<PhcClockMap>& map() const { return map_; }

 private:
  PhcClockTracker(MeasureFn measure, std::shared_ptr<PhcClockMap> map, int64_t period_ns);
  void Run();

  MeasureFn measure_;
  std::shared_ptr<PhcClockMap> map_;
  int64_t period_ns_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace ringstamp
