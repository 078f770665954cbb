#include "ringstamp/timestamp/timestamps.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ringstamp {

std::string_view StampSourceName(StampSource source) {
  switch (source) {
    case StampSource::kHardwareRaw:
      return "hardware";
    case StampSource::kHardwareSys:
      return "hardware-sys";
    case StampSource::kSoftware:
      return "software";
    case StampSource::kUserspace:
      return "userspace";
    case StampSource::kEstimate:
      return "estimate";
  }
  return "unknown";
}

std::string_view StampSourceAbbrev(StampSource source) {
  switch (source) {
    case StampSource::kHardwareRaw:
    case StampSource::kHardwareSys:
      return "hw";
    case StampSource::kSoftware:
      return "sw";
    case StampSource::kUserspace:
      return "user";
    case StampSource::kEstimate:
      return "est";
  }
  return "?";
}

std::optional<Stamp> Timestamps::BestSystem() const {
  if (hardware_system_ns) return Stamp{*hardware_system_ns, hardware_source};
  if (hardware_ns && hardware_source == StampSource::kHardwareSys) {
    return Stamp{*hardware_ns, StampSource::kHardwareSys};
  }
  if (software_ns) return Stamp{*software_ns, StampSource::kSoftware};
  if (userspace_ns) return Stamp{*userspace_ns, StampSource::kUserspace};
  return std::nullopt;
}

std::optional<Stamp> Timestamps::Best() const {
  if (hardware_ns) return Stamp{*hardware_ns, hardware_source};
  if (software_ns) return Stamp{*software_ns, StampSource::kSoftware};
  if (userspace_ns) return Stamp{*userspace_ns, StampSource::kUserspace};
  return std::nullopt;
}

std::string FormatStampNs(std::optional<int64_t> ns) {
  if (!ns) return "-";
  int64_t v = *ns;
  bool neg = v < 0;
  // Avoid overflow on INT64_MIN by working in unsigned.
  uint64_t mag = neg ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
  return absl::StrFormat("%s%d.%09d", neg ? "-" : "", mag / 1'000'000'000ULL,
                         mag % 1'000'000'000ULL);
}

std::string FormatTimestamps(const Timestamps& ts) {
  std::string hw = FormatStampNs(ts.hardware_ns);
  if (ts.hardware_ns && ts.hardware_source == StampSource::kHardwareSys)
    absl::StrAppend(&hw, "(sys)");
  return absl::StrCat("hw=", hw, " sw=", FormatStampNs(ts.software_ns),
                      " user=", FormatStampNs(ts.userspace_ns));
}

}  // namespace ringstamp
