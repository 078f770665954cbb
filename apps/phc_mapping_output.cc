#include "apps/phc_mapping_output.h"

#include "absl/strings/str_cat.h"

namespace ringstamp::app {

bool UsesPhcMapping(const TimestampingPlan& plan) {
  return (plan.hardware_rx || plan.hardware_tx) && plan.phc_map != nullptr;
}

std::string PhcMappingLine(const TimestampingPlan& plan) {
  if (!UsesPhcMapping(plan)) return "";
  return absl::StrCat("hardware stamps mapped to system time through ", plan.phc_path, ": ",
                      FormatPhcClockStats(plan.phc_map->Stats()));
}

std::optional<nlohmann::json> PhcMappingJson(const TimestampingPlan& plan) {
  if (!UsesPhcMapping(plan)) return std::nullopt;
  const PhcClockStats p = plan.phc_map->Stats();
  return nlohmann::json{{"phc", plan.phc_path},
                        {"uncertainty_ns", p.uncertainty_ns},
                        {"max_uncertainty_ns", p.max_uncertainty_ns},
                        {"rate_ppb", p.slope_ppb},
                        {"updates", p.updates},
                        {"failures", p.failures},
                        {"refused", p.rejected}};
}

}  // namespace ringstamp::app
