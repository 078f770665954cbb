// clock_error.h — the STAMP error estimate (RFC 4656 §4.1.2) for the clock this host stamps with.
//
// Example:
// Given: #include "ringstamp/engine/timestamping_plan.h"
// Given: const TimestampingPlan& plan; StampSenderPacket& so
//   so.error_estimate = ClockErrorEstimate(plan.phc_map.get(), /*ptp_format=*/false);
//
// The S bit is set only when the kernel says the system clock is synchronised
// (adjtimex: STA_UNSYNC clear); the error is the kernel's `esterror` when it is,
// its `maxerror` when it is not (an unsynchronised clock's honest bound, which
// grows with time since the last sync), plus the PHC mapping's uncertainty
// between updates when hardware stamps are mapped through one. When the clock's
// state cannot be read: S=0 and the largest estimate the field holds.
// ErrorEstimateFor is the pure part. Any thread; ClockErrorEstimate costs one
// adjtimex call. Read it at setup (and again if a long run wants it current).
#pragma once

#include <cstdint>
#include <optional>

#include "ringstamp/engine/proto/stamp.h"
#include "ringstamp/timestamp/clock_state.h"
#include "ringstamp/timestamp/phc_clock_map.h"

namespace ringstamp {

StampErrorEstimate ErrorEstimateFor(const SystemClockState& clock,
                                    std::optional<int64_t> phc_uncertainty_ns, bool ptp_format);

StampErrorEstimate ClockErrorEstimate(const PhcClockMap* phc_map, bool ptp_format);

}  // namespace ringstamp
