// clock_state.h — what the kernel says about the system clock: synchronised or not, its
// error estimates, and the TAI−UTC offset (adjtimex).
//
// Example:
// Given: int64_t utc_ns; void Warn(std::string_view what, int64_t maxerror_ns)
//   RS_ASSIGN_OR_RETURN(SystemClockState c, ReadSystemClockState());
//   if (!c.synchronized) Warn("clock not synchronised; error up to", c.maxerror_ns);
//   int64_t tai_ns = utc_ns + c.tai_utc_offset_s * 1'000'000'000LL;   // for PTP-format stamps
//
// The fields come from adjtimex(2) with modes 0 (read only): `status`'s
// STA_UNSYNC bit and the TIME_ERROR return tell an unsynchronised clock;
// `esterror` and `maxerror` (µs) are what the NTP/PTP daemon last told the
// kernel (maxerror grows by 500 ppm of elapsed time until the daemon resets
// it); `tai` is TAI − UTC in seconds, 0 when no daemon set it (then CLOCK_TAI
// equals CLOCK_REALTIME). ParseClockState is the pure part, for tests.
// Any thread. Cost: one syscall (~0.3 µs).
#pragma once

#include <sys/timex.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace ringstamp {

struct SystemClockState {
  bool synchronized = false;     // STA_UNSYNC clear and adjtimex did not return TIME_ERROR
  int64_t esterror_ns = 0;       // estimated error
  int64_t maxerror_ns = 0;       // maximum error
  int32_t tai_utc_offset_s = 0;  // TAI − UTC (37 s since 2017 when a daemon set it; else 0)
};

// From adjtimex's result `state` and the filled `tx`.
SystemClockState ParseClockState(int state, const struct timex& tx);

// adjtimex(modes = 0). Errors: the syscall's (EPERM is not one: reading needs no privilege).
absl::StatusOr<SystemClockState> ReadSystemClockState();

// TAI − UTC in seconds as the kernel knows it; 0 when unknown or unreadable.
int32_t TaiUtcOffsetSeconds();

}  // namespace ringstamp
