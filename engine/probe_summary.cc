#include "engine/probe_summary.h"

namespace ringstamp {

std::string_view ProbeSourceName(StampSource source) {
  // The probe's JSON names both hardware kinds "hardware"; the rest as timestamps.h does.
  return IsHardware(source) ? "hardware" : StampSourceName(source);
}

std::string_view ProbeModeName(ProbeMode mode) {
  return mode == ProbeMode::kIcmpEcho ? "icmp" : "stamp";
}

std::string_view ProbeStatusName(ProbeStatus status) {
  switch (status) {
    case ProbeStatus::kOk:
      return "ok";
    case ProbeStatus::kLate:
      return "late";
    case ProbeStatus::kLost:
      return "lost";
    case ProbeStatus::kDuplicate:
      return "duplicate";
  }
  return "unknown";
}

}  // namespace ringstamp
