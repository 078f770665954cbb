#include "ringstamp/timestamp/phc_clock_map.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "ringstamp/common/errno_status.h"
#include "ringstamp/timestamp/phc.h"
#include "ringstamp/timestamp/phc_clock_tracker.h"

using namespace ringstamp;

namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kS0 = 1'700'000'000 * kSec;  // system time at the start of the run
constexpr int64_t kP0 = 40 * kSec;             // the PHC's own epoch: far from system time

// A PHC running 50 ppm fast against the system clock.
int64_t SimPhc(int64_t system_ns) {
  const int64_t t = system_ns - kS0;
  return kP0 + t + t / 20'000;  // + 50e-6 × t
}

// One comparison at system time `s`, as the driver would bracket it: the PHC
// read exactly, the system midpoint off by up to the half-window `u`
// (alternating sign: the worst case for the slope).
PhcOffset Measure(int64_t s, int i, int64_t u) {
  PhcOffset o;
  o.phc_ns = SimPhc(s);
  o.system_ns = s + (i % 2 == 0 ? u : -u);
  o.uncertainty_ns = u;
  o.method = PhcOffsetMethod::kExtended;
  o.samples = 9;
  return o;
}

}  // namespace

TEST_CASE(
    "phc map: a PHC drifting 50 ppm for 60 s, tracked every second, stays within its uncertainty") {
  constexpr int64_t kU = 1000;  // ± 1 µs per comparison
  PhcClockMap map;
  const PhcOffset setup = Measure(kS0, 0, kU);
  REQUIRE(map.Update(setup));
  // Stamps a worker maps while the run goes on, each with the mapping of its
  // time: 0.4 s after each comparison (between updates).
  for (int i = 1; i <= 60; ++i) {
    REQUIRE(map.Update(Measure(kS0 + i * kSec, i, kU)));
    const int64_t truth = kS0 + i * kSec + 4 * kSec / 10;
    auto m = map.Map(SimPhc(truth));
    REQUIRE(m.has_value());
    CHECK_MESSAGE(std::llabs(m->system_ns - truth) <= m->uncertainty_ns, "second ", i);
    CHECK(m->uncertainty_ns <= 2 * kU);  // u1 + 0.4 s × 2u / 1 s
  }
  // At second 60 exactly (the last comparison) and at minute 1 plus one
  // update interval (the worst case before the next comparison).
  for (int64_t truth : {kS0 + 60 * kSec, kS0 + 61 * kSec}) {
    auto m = map.Map(SimPhc(truth));
    REQUIRE(m.has_value());
    CHECK(std::llabs(m->system_ns - truth) <= m->uncertainty_ns);
    CHECK(m->uncertainty_ns <= 3 * kU);
    // The single setup offset: 50 ppm × 60 s = 3 ms off, a thousand times the
    // tracker's uncertainty.
    const int64_t setup_only = PhcToSystemNs(SimPhc(truth), setup);
    CHECK(std::llabs(setup_only - truth) > 2'900'000);
    CHECK(std::llabs(setup_only - truth) > 100 * m->uncertainty_ns);
  }
  const PhcClockStats st = map.Stats();
  CHECK(st.updates == 61);
  CHECK(st.slope_ppb == doctest::Approx(50'000).epsilon(0.05));
  CHECK(st.uncertainty_ns <= 3 * kU);
  CHECK(st.max_uncertainty_ns >= st.uncertainty_ns);
  CHECK(FormatPhcClockStats(st).find("61 updates, 0 failed, 0 refused, extended") !=
        std::string::npos);
}

TEST_CASE("phc map: one comparison maps by offset only, and nothing before the first") {
  PhcClockMap map;
  CHECK_FALSE(map.Map(123).has_value());
  CHECK_FALSE(map.has_mapping());
  PhcOffset o{.phc_ns = 5 * kSec, .system_ns = kS0, .uncertainty_ns = 70};
  REQUIRE(map.Update(o));
  auto m = map.Map(5 * kSec + 250);
  REQUIRE(m.has_value());
  CHECK(m->system_ns == kS0 + 250);
  CHECK(m->uncertainty_ns == 70);
  Timestamps ts;
  ts.hardware_ns = 5 * kSec + 10;
  CHECK(map.MapInto(ts) == 70);
  CHECK(ts.hardware_system_ns == kS0 + 10);
  Timestamps sys_hw;  // a driver-converted stamp is not raw PHC time: left alone
  sys_hw.hardware_ns = 5 * kSec;
  sys_hw.hardware_source = StampSource::kHardwareSys;
  CHECK_FALSE(map.MapInto(sys_hw).has_value());
  CHECK_FALSE(sys_hw.hardware_system_ns.has_value());
}

TEST_CASE("phc map: a comparison whose PHC time did not advance is refused") {
  PhcClockMap map;
  PhcOffset a{.phc_ns = 5 * kSec, .system_ns = kS0, .uncertainty_ns = 10};
  REQUIRE(map.Update(a));
  PhcOffset frozen = a;
  frozen.system_ns += kSec;
  CHECK_FALSE(map.Update(frozen));
  CHECK(map.Stats().rejected == 1);
  CHECK(map.Map(5 * kSec)->system_ns == kS0);  // the mapping is unchanged
}

TEST_CASE("phc tracker: the thread feeds the map and counts failed measurements") {
  auto map = std::make_shared<PhcClockMap>();
  std::atomic<int> calls{0};
  {
    auto tracker = PhcClockTracker::Start(
        [&]() -> absl::StatusOr<PhcOffset> {
          const int n = calls.fetch_add(1);
          if (n % 2 == 1) return ErrnoStatus(EBUSY, "/dev/ptp9: PTP_SYS_OFFSET_EXTENDED");
          return PhcOffset{.phc_ns = (n + 1) * kSec, .system_ns = kS0 + n * kSec};
        },
        map, 1'000'000);
    // Bounded wait: up to 5 s for four measurements.
    for (int i = 0; i < 5000 && calls.load() < 4; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }  // joins
  REQUIRE(calls.load() >= 4);
  const PhcClockStats st = map->Stats();
  CHECK(st.updates + st.failures == static_cast<uint64_t>(calls.load()));
  CHECK(st.failures >= 2);
  CHECK(map->has_mapping());
}

TEST_CASE(
    "phc: EBUSY, ETIMEDOUT and ENODEV fall through to the next offset method like EOPNOTSUPP") {
  for (int err : {EOPNOTSUPP, EBUSY, ETIMEDOUT, ENODEV, EINVAL, ENOTTY}) {
    CAPTURE(err);
    CHECK(PhcMethodFallsThrough(ErrnoStatus(err, "x")));
    int tried = 0;
    auto r = FirstWorkingPhcMethod(
        "/dev/ptp0",
        [&]() -> absl::StatusOr<PhcOffset> {
          ++tried;
          return ErrnoStatus(err, "PTP_SYS_OFFSET_PRECISE");
        },
        [&]() -> absl::StatusOr<PhcOffset> {
          ++tried;
          return ErrnoStatus(err, "PTP_SYS_OFFSET_EXTENDED");
        },
        [&]() -> absl::StatusOr<PhcOffset> {
          ++tried;
          return PhcOffset{.phc_ns = 7, .method = PhcOffsetMethod::kBasic};
        });
    REQUIRE(r.ok());
    CHECK(r->method == PhcOffsetMethod::kBasic);
    CHECK(tried == 3);
  }
  // A real failure of the clock (permission) stops the search.
  CHECK_FALSE(PhcMethodFallsThrough(ErrnoStatus(EPERM, "x")));
  int tried = 0;
  auto r = FirstWorkingPhcMethod(
      "/dev/ptp0", [&]() -> absl::StatusOr<PhcOffset> { return ErrnoStatus(EPERM, "precise"); },
      [&]() -> absl::StatusOr<PhcOffset> {
        ++tried;
        return PhcOffset{};
      },
      [&]() -> absl::StatusOr<PhcOffset> {
        ++tried;
        return PhcOffset{};
      });
  CHECK_FALSE(r.ok());
  CHECK(tried == 0);
}
