#include "engine/probe_summary.h"

namespace ringstamp {

std::string_view ProbeSourceName(StampSource source) {
  switch (source) {
    case StampSource::kHardwareRaw:
    case StampSource::kHardwareSys:
      return "hardware";
    case StampSource::kSoftware:
      return "software";
    case StampSource::kUserspace:
      return "userspace";
    case StampSource::kEstimate:
      return "estimate";
  }
  return "unknown";
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
