#include "ringstamp/timestamp/clock_state.h"

#include <cerrno>
#include <cstring>

#include "ringstamp/common/errno_status.h"

namespace ringstamp {

SystemClockState ParseClockState(int state, const struct timex& tx) {
  SystemClockState s;
  s.synchronized = state != TIME_ERROR && (tx.status & STA_UNSYNC) == 0;
  s.esterror_ns = static_cast<int64_t>(tx.esterror) * 1000;
  s.maxerror_ns = static_cast<int64_t>(tx.maxerror) * 1000;
  s.tai_utc_offset_s = tx.tai;
  return s;
}

absl::StatusOr<SystemClockState> ReadSystemClockState() {
  struct timex tx;
  std::memset(&tx, 0, sizeof(tx));
  const int state = adjtimex(&tx);
  if (state < 0) return ErrnoStatus(errno, "adjtimex (reading the system clock's state)");
  return ParseClockState(state, tx);
}

int32_t TaiUtcOffsetSeconds() {
  absl::StatusOr<SystemClockState> s = ReadSystemClockState();
  return s.ok() ? s->tai_utc_offset_s : 0;
}

}  // namespace ringstamp
