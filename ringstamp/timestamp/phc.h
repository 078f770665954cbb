// phc.h — the PTP hardware clock (PHC) of a NIC: find it, read it, map it to system time.
//
// Example:
// Given: const HwTimestamping& hw; Timestamps& frame_stamps
//   RS_ASSIGN_OR_RETURN(Phc phc, Phc::OpenForInterface(hw));     // /dev/ptpN of eth1
//   RS_ASSIGN_OR_RETURN(PhcOffset off, phc.MeasureOffset());     // PHC − CLOCK_REALTIME
//   MapHardwareToSystem(frame_stamps, off);   // fills hardware_system_ns from hardware_ns
//
// A raw hardware stamp (ts[2], TP_STATUS_TS_RAW_HARDWARE) is on the PHC's
// timeline, which is not the system's unless something (phc2sys, ptp4l)
// disciplines one to the other. MeasureOffset samples both clocks: with
// PTP_SYS_OFFSET_PRECISE (a hardware cross-timestamp) where the driver has it,
// else PTP_SYS_OFFSET_EXTENDED (system time read just before and after the
// PHC, inside the driver), else PTP_SYS_OFFSET (the same, outside); of N
// samples the one with the shortest window wins and its half-window is the
// uncertainty. A PHC that does not advance (seen under QEMU's e1000e) is
// detected by IsFrozen.
//
// Ownership: Phc owns the open /dev/ptpN. Thread-safety: const methods may
// run on any thread at once. Cost: ReadNs is one clock_gettime syscall
// (~0.5-2 µs on a real PHC); MeasureOffset one ioctl; IsFrozen sleeps `gap`.
#pragma once

#include <time.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "ringstamp/common/fd.h"
#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp {

class HwTimestamping;

enum class PhcOffsetMethod : uint8_t { kPrecise, kExtended, kBasic };
std::string_view PhcOffsetMethodName(PhcOffsetMethod m);  // "precise", "extended", "basic"

// One PHC↔system comparison.
struct PhcOffset {
  int64_t phc_ns = 0;          // PHC time at the sample
  int64_t system_ns = 0;       // CLOCK_REALTIME at the same instant (window midpoint)
  int64_t uncertainty_ns = 0;  // half the sample window; 0 for a precise cross-timestamp
  PhcOffsetMethod method = PhcOffsetMethod::kExtended;
  int samples = 0;  // samples taken (the best one is reported)

  int64_t offset_ns() const { return phc_ns - system_ns; }  // PHC − system
};

// One bracketed reading: system time before and after a PHC read.
struct PhcSample {
  int64_t sys_before_ns = 0;
  int64_t phc_ns = 0;
  int64_t sys_after_ns = 0;
};

// The sample with the shortest non-negative window, as a PhcOffset (method
// and samples filled by the caller); nullopt if every window is negative.
std::optional<PhcOffset> BestPhcSample(std::span<const PhcSample> samples);

// A raw PHC time on CLOCK_REALTIME, by the offset of `o` (no drift correction:
// use an offset measured close to the stamp).
inline int64_t PhcToSystemNs(int64_t phc_ns, const PhcOffset& o) { return phc_ns - o.offset_ns(); }

// Fills ts.hardware_system_ns when ts carries a raw hardware stamp.
void MapHardwareToSystem(Timestamps& ts, const PhcOffset& o);

// Whether a failed offset method means "try the next one": EOPNOTSUPP,
// ENOTTY/EINVAL, EBUSY, ETIMEDOUT, ENODEV (as ErrnoStatus codes them).
bool PhcMethodFallsThrough(const absl::Status& s);

// Precise, else extended, else basic, passing over failures that
// PhcMethodFallsThrough; the first other error stops the search. All three
// failing: the last error's code with the three messages.
absl::StatusOr<PhcOffset> FirstWorkingPhcMethod(
    std::string_view path, absl::FunctionRef<absl::StatusOr<PhcOffset>()> precise,
    absl::FunctionRef<absl::StatusOr<PhcOffset>()> extended,
    absl::FunctionRef<absl::StatusOr<PhcOffset>()> basic);

// "/dev/ptpN"; NotFound ("no PTP hardware clock") when phc_index < 0.
absl::StatusOr<std::string> PhcPath(int phc_index);

class Phc {
 public:
  // Opens a PHC device read-write (read-only if that is refused).
  static absl::StatusOr<Phc> Open(std::string_view path);
  // The PHC that ETHTOOL_GET_TS_INFO names for the interface.
  static absl::StatusOr<Phc> OpenForInterface(const HwTimestamping& hw);

  Phc(Phc&&) noexcept = default;
  Phc& operator=(Phc&&) noexcept = default;

  const std::string& path() const { return path_; }
  clockid_t clock_id() const;  // FD_TO_CLOCKID of the open device

  absl::StatusOr<int64_t> ReadNs() const;
  // Best of `samples` (1..25) PHC↔CLOCK_REALTIME comparisons, best method first.
  absl::StatusOr<PhcOffset> MeasureOffset(int samples = 9) const;
  // True if two reads `gap_ns` apart return the same time.
  absl::StatusOr<bool> IsFrozen(int64_t gap_ns = 10'000'000) const;

 private:
  Phc() = default;
  absl::StatusOr<PhcOffset> Precise() const;
  absl::StatusOr<PhcOffset> Extended(int samples) const;
  absl::StatusOr<PhcOffset> Basic(int samples) const;

  UniqueFd fd_;
  std::string path_;
};

}  // namespace ringstamp
