#include "ringstamp/timestamp/phc.h"

#include <fcntl.h>
#include <linux/ptp_clock.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/errno_status.h"
#include "ringstamp/timestamp/hw_timestamping.h"

namespace ringstamp {
namespace {

static_assert(sizeof(ptp_clock_time) == 16);
static_assert(sizeof(ptp_sys_offset_precise) == 64);
static_assert(sizeof(ptp_sys_offset_extended) == 16 + 16 * 3 * PTP_MAX_SAMPLES);

int64_t PtpNs(const ptp_clock_time& t) { return t.sec * kNsPerSec + t.nsec; }

}  // namespace

// EOPNOTSUPP (driver lacks the method) maps to kUnimplemented, ENOTTY/EINVAL
// (kernel lacks the ioctl) to kInvalidArgument; EBUSY (kFailedPrecondition:
// the device's cross-timestamp is in use or not ready), ETIMEDOUT
// (kDeadlineExceeded: the driver gave up waiting for the NIC) and ENODEV
// (kNotFound: a method the device does not back) are as good a reason to try
// the next method: each is a failure of that method, not of the clock.
bool PhcMethodFallsThrough(const absl::Status& s) {
  return absl::IsUnimplemented(s) || absl::IsInvalidArgument(s) || absl::IsFailedPrecondition(s) ||
         absl::IsDeadlineExceeded(s) || absl::IsNotFound(s);
}

absl::StatusOr<PhcOffset> FirstWorkingPhcMethod(
    std::string_view path, absl::FunctionRef<absl::StatusOr<PhcOffset>()> precise,
    absl::FunctionRef<absl::StatusOr<PhcOffset>()> extended,
    absl::FunctionRef<absl::StatusOr<PhcOffset>()> basic) {
  absl::StatusOr<PhcOffset> p = precise();
  if (p.ok()) return p;
  if (!PhcMethodFallsThrough(p.status())) return p.status();
  absl::StatusOr<PhcOffset> e = extended();
  if (e.ok()) return e;
  if (!PhcMethodFallsThrough(e.status())) return e.status();
  absl::StatusOr<PhcOffset> b = basic();
  if (b.ok()) return b;
  return absl::Status(
      b.status().code(),
      absl::StrCat(ToAbsl(path), ": no PHC offset method works (precise: ", p.status().message(),
                   "; extended: ", e.status().message(), "; basic: ", b.status().message(), ")"));
}

std::string_view PhcOffsetMethodName(PhcOffsetMethod m) {
  switch (m) {
    case PhcOffsetMethod::kPrecise:
      return "precise";
    case PhcOffsetMethod::kExtended:
      return "extended";
    case PhcOffsetMethod::kBasic:
      return "basic";
  }
  return "unknown";
}

std::optional<PhcOffset> BestPhcSample(std::span<const PhcSample> samples) {
  std::optional<PhcOffset> best;
  int64_t best_window = 0;
  for (const PhcSample& s : samples) {
    int64_t window = s.sys_after_ns - s.sys_before_ns;
    if (window < 0) continue;  // the system clock stepped back mid-sample
    if (best && window >= best_window) continue;
    best_window = window;
    PhcOffset o;
    o.phc_ns = s.phc_ns;
    o.system_ns = s.sys_before_ns + window / 2;
    o.uncertainty_ns = (window + 1) / 2;
    best = o;
  }
  return best;
}

void MapHardwareToSystem(Timestamps& ts, const PhcOffset& o) {
  if (ts.hardware_ns && ts.hardware_source == StampSource::kHardwareRaw) {
    ts.hardware_system_ns = PhcToSystemNs(*ts.hardware_ns, o);
  }
}

absl::StatusOr<std::string> PhcPath(int phc_index) {
  if (phc_index < 0) {
    return absl::NotFoundError(
        "no PTP hardware clock (phc_index -1): hardware stamps, if any, "
        "cannot be mapped to system time");
  }
  return absl::StrCat("/dev/ptp", phc_index);
}

absl::StatusOr<Phc> Phc::Open(std::string_view path) {
  Phc phc;
  phc.path_ = std::string(path);
  int fd = open(phc.path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS)) {
    fd = open(phc.path_.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) {
    int err = errno;
    return ErrnoStatus(err, absl::StrCat("open ", ToAbsl(path)),
                       err == ENOENT
                           ? "no such PTP clock device (is the driver's PTP support built?)"
                       : err == EACCES ? "run as root or give read access to the device"
                                       : "");
  }
  phc.fd_ = UniqueFd(fd);
  return phc;
}

absl::StatusOr<Phc> Phc::OpenForInterface(const HwTimestamping& hw) {
  absl::StatusOr<TsInfo> info = hw.GetTsInfo();
  if (!info.ok()) return info.status();
  absl::StatusOr<std::string> path = PhcPath(info->phc_index);
  if (!path.ok()) {
    return absl::NotFoundError(absl::StrCat(hw.ifname(), ": ", path.status().message()));
  }
  return Open(*path);
}

clockid_t Phc::clock_id() const {
  // FD_TO_CLOCKID from the kernel's posix-clock documentation.
  return static_cast<clockid_t>((~static_cast<unsigned>(fd_.get()) << 3) | 3u);
}

absl::StatusOr<int64_t> Phc::ReadNs() const {
  timespec ts;
  if (clock_gettime(clock_id(), &ts) != 0) {
    return ErrnoStatus(errno, absl::StrCat("clock_gettime ", path_));
  }
  return TimespecToNs(ts);
}

absl::StatusOr<PhcOffset> Phc::Precise() const {
  ptp_sys_offset_precise p;
  std::memset(&p, 0, sizeof(p));
  if (ioctl(fd_.get(), PTP_SYS_OFFSET_PRECISE, &p) != 0) {
    return ErrnoStatus(errno, absl::StrCat(path_, ": PTP_SYS_OFFSET_PRECISE"));
  }
  PhcOffset o;
  o.phc_ns = PtpNs(p.device);
  o.system_ns = PtpNs(p.sys_realtime);
  o.uncertainty_ns = 0;
  o.method = PhcOffsetMethod::kPrecise;
  o.samples = 1;
  return o;
}

absl::StatusOr<PhcOffset> Phc::Extended(int samples) const {
  ptp_sys_offset_extended e;
  std::memset(&e, 0, sizeof(e));
  e.n_samples = static_cast<unsigned>(samples);
  if (ioctl(fd_.get(), PTP_SYS_OFFSET_EXTENDED, &e) != 0) {
    return ErrnoStatus(errno, absl::StrCat(path_, ": PTP_SYS_OFFSET_EXTENDED"));
  }
  std::vector<PhcSample> s(samples);
  for (int i = 0; i < samples; ++i) {
    s[i] = {PtpNs(e.ts[i][0]), PtpNs(e.ts[i][1]), PtpNs(e.ts[i][2])};
  }
  std::optional<PhcOffset> best = BestPhcSample(s);
  if (!best)
    return absl::InternalError(absl::StrCat(path_, ": every offset sample went backwards"));
  best->method = PhcOffsetMethod::kExtended;
  best->samples = samples;
  return *best;
}

absl::StatusOr<PhcOffset> Phc::Basic(int samples) const {
  ptp_sys_offset b;
  std::memset(&b, 0, sizeof(b));
  b.n_samples = static_cast<unsigned>(samples);
  if (ioctl(fd_.get(), PTP_SYS_OFFSET, &b) != 0) {
    return ErrnoStatus(errno, absl::StrCat(path_, ": PTP_SYS_OFFSET"));
  }
  std::vector<PhcSample> s(samples);
  for (int i = 0; i < samples; ++i) {  // interleaved: sys, phc, sys, phc, ..., sys
    s[i] = {PtpNs(b.ts[2 * i]), PtpNs(b.ts[2 * i + 1]), PtpNs(b.ts[2 * i + 2])};
  }
  std::optional<PhcOffset> best = BestPhcSample(s);
  if (!best)
    return absl::InternalError(absl::StrCat(path_, ": every offset sample went backwards"));
  best->method = PhcOffsetMethod::kBasic;
  best->samples = samples;
  return *best;
}

absl::StatusOr<PhcOffset> Phc::MeasureOffset(int samples) const {
  samples = std::clamp(samples, 1, PTP_MAX_SAMPLES);
  return FirstWorkingPhcMethod(
      path_, [&] { return Precise(); }, [&] { return Extended(samples); },
      [&] { return Basic(samples); });
}

absl::StatusOr<bool> Phc::IsFrozen(int64_t gap_ns) const {
  absl::StatusOr<int64_t> a = ReadNs();
  if (!a.ok()) return a.status();
  timespec gap = NsToTimespec(std::max<int64_t>(gap_ns, 1'000'000));
  while (nanosleep(&gap, &gap) != 0 && errno == EINTR) {
  }
  absl::StatusOr<int64_t> b = ReadNs();
  if (!b.ok()) return b.status();
  return *a == *b;
}

}  // namespace ringstamp
