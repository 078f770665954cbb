#include "ringstamp/engine/probe/clock_error.h"

#include <algorithm>

namespace ringstamp {

StampErrorEstimate ErrorEstimateFor(const SystemClockState& clock,
                                    std::optional<int64_t> phc_uncertainty_ns, bool ptp_format) {
  int64_t error_ns = clock.synchronized ? clock.esterror_ns : clock.maxerror_ns;
  error_ns = std::max<int64_t>(error_ns, 0);
  if (phc_uncertainty_ns) error_ns += std::max<int64_t>(*phc_uncertainty_ns, 0);
  return StampErrorEstimate::FromNs(static_cast<uint64_t>(error_ns), clock.synchronized,
                                    ptp_format);
}

StampErrorEstimate ClockErrorEstimate(const PhcClockMap* phc_map, bool ptp_format) {
  std::optional<int64_t> phc_u;
  if (phc_map != nullptr && phc_map->has_mapping()) phc_u = phc_map->Stats().uncertainty_ns;
  absl::StatusOr<SystemClockState> clock = ReadSystemClockState();
  if (!clock.ok()) {
    return StampErrorEstimate{
        .synchronized = false, .ptp_format = ptp_format, .scale = 63, .multiplier = 255};
  }
  return ErrorEstimateFor(*clock, phc_u, ptp_format);
}

}  // namespace ringstamp
