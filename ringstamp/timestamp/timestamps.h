// timestamps.h — Timestamps: the hardware, software and userspace times of one frame.
//
// Example:
// Given: #include "ringstamp/common/clock.h"
// Given: void Print(int64_t ns, std::string_view source)
//   Timestamps ts;
//   ts.software_ns = 1700000000'123456789;
//   ts.userspace_ns = RealtimeNs();
//   if (auto best = ts.Best()) Print(best->ns, StampSourceName(best->source));
//   std::string s = FormatTimestamps(ts);   // "hw=- sw=1700000000.123456789 user=..."
//
// A plain value type: copy it freely, any thread. Every stamp is optional; a
// missing stamp is std::nullopt, never zero or a negative count, and printing
// shows it as "-". A stamp is labelled hardware only when the kernel said so
// (TP_STATUS_TS_RAW_HARDWARE, or a non-zero ts[2] of SCM_TIMESTAMPING).
//
// Clocks: software and userspace stamps are CLOCK_REALTIME (Unix ns). A raw
// hardware stamp is on the NIC's PTP clock (PHC) and is comparable with system
// time only after mapping through the PHC (hardware_system_ns).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringstamp {

enum class StampSource : uint8_t {
  kHardwareRaw,  // NIC clock (PHC), raw
  kHardwareSys,  // NIC clock converted by the driver to system time (legacy)
  kSoftware,     // kernel, CLOCK_REALTIME
  kUserspace,    // this program, CLOCK_REALTIME
  kEstimate,     // computed, not observed (a reflector's t3 written before sending)
};

// "hardware", "hardware-sys", "software", "userspace", "estimate".
std::string_view StampSourceName(StampSource source);

// "hw", "sw", "user", "est": the short form for per-packet lines (both hardware kinds "hw").
std::string_view StampSourceAbbrev(StampSource source);

// True for kHardwareRaw and kHardwareSys.
constexpr bool IsHardware(StampSource source) {
  return source == StampSource::kHardwareRaw || source == StampSource::kHardwareSys;
}

struct Stamp {
  int64_t ns = 0;
  StampSource source = StampSource::kUserspace;
  friend bool operator==(const Stamp&, const Stamp&) = default;
};

struct Timestamps {
  // NIC time in ns; its clock is hardware_source (raw PHC or driver-converted).
  std::optional<int64_t> hardware_ns;
  StampSource hardware_source = StampSource::kHardwareRaw;
  // hardware_ns mapped onto CLOCK_REALTIME through the PHC, when a mapping is known.
  std::optional<int64_t> hardware_system_ns;
  // Kernel software stamp, CLOCK_REALTIME.
  std::optional<int64_t> software_ns;
  // This program's clock read, CLOCK_REALTIME (taken once per block on RX).
  std::optional<int64_t> userspace_ns;

  bool empty() const { return !hardware_ns && !software_ns && !userspace_ns; }

  // The best stamp on the system clock: hardware (mapped to system time, or
  // driver-converted sys hardware), then software, then userspace.
  std::optional<Stamp> BestSystem() const;

  // The best stamp on any clock: raw hardware included even when unmapped.
  std::optional<Stamp> Best() const;

  friend bool operator==(const Timestamps&, const Timestamps&) = default;
};

// "1700000000.123456789", or "-" for nullopt. Negative values keep their sign.
std::string FormatStampNs(std::optional<int64_t> ns);

// "hw=<t>|- sw=<t>|- user=<t>|-" with the hardware clock named when present.
std::string FormatTimestamps(const Timestamps& ts);

}  // namespace ringstamp
