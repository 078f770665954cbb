#include "ringstamp/engine/probe/clock_error.h"

#include <doctest/doctest.h>

#include <sys/timex.h>

#include <cstring>

#include "ringstamp/timestamp/clock_state.h"

using namespace ringstamp;

namespace {

struct timex Timex(int status, long esterror_us, long maxerror_us, int tai) {
  struct timex tx;
  std::memset(&tx, 0, sizeof(tx));
  tx.status = status;
  tx.esterror = esterror_us;
  tx.maxerror = maxerror_us;
  tx.tai = tai;
  return tx;
}

}  // namespace

TEST_CASE("clock state: adjtimex's STA_UNSYNC and TIME_ERROR mean not synchronised") {
  SystemClockState s = ParseClockState(TIME_OK, Timex(STA_PLL, 12, 340, 37));
  CHECK(s.synchronized);
  CHECK(s.esterror_ns == 12'000);
  CHECK(s.maxerror_ns == 340'000);
  CHECK(s.tai_utc_offset_s == 37);
  CHECK_FALSE(ParseClockState(TIME_OK, Timex(STA_UNSYNC, 12, 340, 0)).synchronized);
  CHECK_FALSE(ParseClockState(TIME_ERROR, Timex(0, 12, 340, 0)).synchronized);
}

TEST_CASE("clock error: the STAMP error estimate from esterror, maxerror and the PHC mapping") {
  // RFC 4656 §4.1.2: error = multiplier × 2^(scale − 32) s, the smallest scale
  // whose multiplier fits 8 bits, rounded up. Worked out by hand:
  //   1 µs: 1e-6 × 2^32 = 4294.97; /2^5 = 134.2 → scale 5, multiplier 135.
  //   1 ms: 4294967.3 /2^15 = 131.07 → scale 15, multiplier 132.
  //   16 s: 16 × 2^32 = 2^36; /2^29 = 128 → scale 29, multiplier 128.
  //   1.5 µs: 6442.45 /2^5 = 201.3 → scale 5, multiplier 202.
  struct Case {
    SystemClockState clock;
    std::optional<int64_t> phc_ns;
    uint16_t field;
  };
  const SystemClockState synced_1us{
      .synchronized = true, .esterror_ns = 1'000, .maxerror_ns = 9'000};
  const SystemClockState synced_1ms{.synchronized = true, .esterror_ns = 1'000'000};
  const SystemClockState synced_0{.synchronized = true, .esterror_ns = 0};
  // Unsynchronised: S = 0 and the maximum error (16 s, the kernel's limit) counts.
  const SystemClockState unsynced{
      .synchronized = false, .esterror_ns = 1'000, .maxerror_ns = 16'000'000'000};
  for (const Case& c :
       {Case{synced_1us, std::nullopt, 0x8587}, Case{synced_1ms, std::nullopt, 0x8f84},
        Case{synced_0, std::nullopt, 0x8001}, Case{unsynced, std::nullopt, 0x1d80},
        Case{synced_1us, 500, 0x85ca}}) {
    CAPTURE(c.field);
    const StampErrorEstimate e = ErrorEstimateFor(c.clock, c.phc_ns, /*ptp_format=*/false);
    CHECK(e.Encode() == c.field);
    CHECK(e.synchronized == c.clock.synchronized);
  }
  // The Z bit follows the timestamp format asked for.
  CHECK(ErrorEstimateFor(synced_1us, std::nullopt, true).Encode() == (0x8587 | 0x4000));
}

TEST_CASE("clock error: this host's clock gives a valid estimate") {
  const StampErrorEstimate e = ClockErrorEstimate(nullptr, false);
  CHECK(e.valid());
  CHECK_FALSE(e.ptp_format);
  auto s = ReadSystemClockState();
  REQUIRE(s.ok());
  CHECK(e.synchronized == s->synchronized);
}
