#include "ringstamp/engine/probe/probe_summary.h"

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
    case ProbeStatus::kUnanswered:
      return "unanswered";
  }
  return "unknown";
}

std::string_view ProbeFigureKey(ProbeFigure figure) {
  switch (figure) {
    case ProbeFigure::kRtt:
      return "rtt_ns";
    case ProbeFigure::kNetworkRtt:
      return "network_rtt_ns";
    case ProbeFigure::kDwell:
      return "dwell_ns";
    case ProbeFigure::kForward:
      return "forward_ns";
    case ProbeFigure::kReverse:
      return "reverse_ns";
    case ProbeFigure::kOffset:
      return "offset_ns";
  }
  return "unknown";
}

int StampSourceRank(StampSource source) {
  switch (source) {
    case StampSource::kHardwareRaw:
    case StampSource::kHardwareSys:
      return 0;
    case StampSource::kSoftware:
      return 1;
    case StampSource::kUserspace:
      return 2;
    case StampSource::kEstimate:
      return 3;
  }
  return 3;
}

StampSource WeakerSource(StampSource a, StampSource b) {
  return StampSourceRank(b) > StampSourceRank(a) ? b : a;
}

}  // namespace ringstamp
