// phc_mapping_output.h — how a summary says how well hardware stamps map to system time:
// the PHC mapping's uncertainty (PhcClockMap::Stats) as a text line and as a JSON object,
// printed by capture and probe wherever hardware stamps were used.
//
// Example:
// Given: const TimestampingPlan& plan; nlohmann::json& summary
//   if (auto line = PhcMappingLine(plan); !line.empty()) std::fprintf(stderr, "%s\n", line.c_str());
//   if (auto j = PhcMappingJson(plan)) summary["phc_mapping"] = *j;
//
// Pure functions over the plan (Stats() takes the map's lock-free snapshot): any thread.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ringstamp/engine/timestamping_plan.h"

namespace ringstamp::app {

// True when the plan delivers hardware stamps (RX or TX) mapped through a PHC.
bool UsesPhcMapping(const TimestampingPlan& plan);

// "hardware stamps mapped to system time through /dev/ptp0: ..."; "" when none were used.
std::string PhcMappingLine(const TimestampingPlan& plan);

// {"phc","uncertainty_ns","max_uncertainty_ns","rate_ppb","updates","failures","refused"};
// nullopt when no hardware stamps were used.
std::optional<nlohmann::json> PhcMappingJson(const TimestampingPlan& plan);

}  // namespace ringstamp::app
