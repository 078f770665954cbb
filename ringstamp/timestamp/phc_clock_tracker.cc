#include "ringstamp/timestamp/phc_clock_tracker.h"

#include <pthread.h>

#include <chrono>

namespace ringstamp {

std::unique_ptr<PhcClockTracker> PhcClockTracker::Start(MeasureFn measure,
                                                        std::shared_ptr<PhcClockMap> map,
                                                        int64_t period_ns) {
  return std::unique_ptr<PhcClockTracker>(
      new PhcClockTracker(std::move(measure), std::move(map), period_ns));
}

PhcClockTracker::PhcClockTracker(MeasureFn measure, std::shared_ptr<PhcClockMap> map,
                                 int64_t period_ns)
    : measure_(std::move(measure)),
      map_(std::move(map)),
      period_ns_(period_ns > 1'000'000 ? period_ns : 1'000'000) {
  thread_ = std::thread([this] { Run(); });
}

PhcClockTracker::~PhcClockTracker() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PhcClockTracker::Run() {
  pthread_setname_np(pthread_self(), "rs-phc-track");
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    if (cv_.wait_for(l, std::chrono::nanoseconds(period_ns_), [this] { return stop_; })) return;
    l.unlock();
    absl::StatusOr<PhcOffset> o = measure_();
    if (o.ok()) {
      map_->Update(*o);
    } else {
      map_->NoteFailure();
    }
    l.lock();
  }
}

}  // namespace ringstamp
