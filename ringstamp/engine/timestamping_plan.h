// timestamping_plan.h — TimestampingPlan: which stamps an engine on an interface will deliver,
// with the NIC's hardware stamping switched on (and later restored) when asked and possible.
//
// Example:
// Given: #include "ringstamp/engine/engine_options.h"
// Given: EngineOptions& options
//   RS_ASSIGN_OR_RETURN(TimestampingPlan plan,
//                       PlanTimestamping("eth1", TstampMode::kAuto, /*rx=*/true, /*tx=*/true));
//   options.hardware_stamps = plan.hardware_rx;     // ring sockets ask for raw hardware stamps
//   options.phc_map = plan.phc_map;                 // map them to system time (kept current)
//   std::fprintf(stderr, "%s\n", plan.note.c_str());  // "eth1: hardware RX and TX stamps on ..."
//
// Modes: software — the NIC is not touched; hardware — SIOCSHWTSTAMP is
// negotiated (ALL, then PTP/NTP filters, then TX only) and an error returned
// when no hardware stamping comes on; auto — hardware when the driver offers
// it, software otherwise, never an error for lack of hardware. The NIC's
// previous config is restored when the plan is destroyed and on exit/SIGINT
// (the restorer registry of ringstamp/timestamp/hw_timestamping.h). Whether hardware
// stamps then actually arrive is counted per frame by the workers
// (WorkerStats::hw_stamps_missing): a NIC that is set for hardware stamps but
// delivers none falls back to software stamps, counted and named.
//
// No hardware stamps without a mapping: a raw hardware stamp is on the NIC's
// clock, so the plan keeps hardware stamps only when that clock (PHC) could be
// opened, measured against system time and seen advancing. Otherwise the
// NIC's config is restored, the plan stays on software stamps and `note` says
// why in one line (`--tstamp hardware` gets an error instead). When kept, a
// PhcClockTracker thread re-measures the PHC every second into `phc_map`.
// Threads: setup, controlling thread. Cost: a few ioctls, a PHC offset read,
// a 10 ms frozen-clock check, and one tracker thread while hardware is used.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ringstamp/timestamp/hw_timestamping.h"
#include "ringstamp/timestamp/phc.h"
#include "ringstamp/timestamp/phc_clock_map.h"
#include "ringstamp/timestamp/phc_clock_tracker.h"

namespace ringstamp {

enum class TstampMode : uint8_t { kAuto, kHardware, kSoftware };

// "auto", "hardware", "software" → mode; anything else an InvalidArgument naming the flag.
absl::StatusOr<TstampMode> ParseTstampMode(std::string_view text);
std::string_view TstampModeName(TstampMode mode);

struct TimestampingPlan {
  TstampMode mode = TstampMode::kAuto;
  bool hardware_rx = false;             // ring frames will carry raw hardware stamps
  bool hardware_tx = false;             // TX stamps from the NIC
  bool software_rx = true;              // software RX stamps (PlanTimestamping's `rx`)
  bool software_tx = true;              // software TX stamps (its `tx`)
  std::optional<PhcOffset> phc_offset;  // PHC − system at plan time, when a PHC exists
  bool phc_frozen = false;              // the PHC did not advance (hardware stamps meaningless)
  std::string phc_path;
  // The run's PHC → system mapping (set whenever hardware stamps are kept), and
  // the thread that keeps it current. Print phc_map->Stats() in summaries.
  std::shared_ptr<PhcClockMap> phc_map;
  std::shared_ptr<PhcClockTracker> phc_tracker;
  std::string note;           // one or more lines for a person
  HwNegotiation negotiation;  // holds the restorer while hardware stamping is on

  // "hardware", "software": the best RX source the plan expects.
  std::string_view rx_source_name() const { return hardware_rx ? "hardware" : "software"; }
};

absl::StatusOr<TimestampingPlan> PlanTimestamping(std::string_view ifname, TstampMode mode, bool rx,
                                                  bool tx);

// What the PHC step of PlanTimestamping found (a test builds one by hand).
struct PhcCheck {
  std::string path;   // "/dev/ptp0"; empty when none was named
  absl::Status open;  // opening it (NotFound for phc_index -1)
  absl::StatusOr<PhcOffset> offset = absl::UnknownError("not measured");
  absl::StatusOr<bool> frozen = absl::UnknownError("not checked");
};

// Decides, from `check`, whether a plan that negotiated hardware stamps keeps
// them: only with a PHC opened, measured and advancing. Otherwise sets the
// plan to software, restores the NIC's config (when a restorer is held), and
// replaces `note` (which announced hardware stamps) with one line naming the cause. Returns an
// error instead when the plan's mode is kHardware. Sets phc_path, phc_offset, phc_frozen; does not
// start the tracker. A plan without hardware stamps is left as it is.
absl::Status ApplyPhcCheck(TimestampingPlan& plan, std::string_view ifname, const PhcCheck& check);

// What the frames of a run actually carried, given the plan and the counts:
// "hardware" (every frame), "software" (none had a hardware stamp), "mixed".
std::string_view ObservedRxSource(const TimestampingPlan& plan, uint64_t frames,
                                  uint64_t hw_missing);

// `auto` mode's check once enough frames arrived: when the NIC was set for
// hardware stamps and none of `frames` (≥ min_frames) carried one, restores the
// NIC's previous config, marks the plan software and returns a note saying so.
// Returns nullopt when nothing changed (too few frames, stamps arriving, not auto).
std::optional<std::string> AutoFallBackIfNoHardware(TimestampingPlan& plan, std::string_view ifname,
                                                    uint64_t frames, uint64_t hw_missing,
                                                    uint64_t min_frames = 32);

}  // namespace ringstamp
