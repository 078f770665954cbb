#include <doctest/doctest.h>

#include <cerrno>

#include "ringstamp/common/errno_status.h"
#include "ringstamp/engine/timestamping_plan.h"

using namespace ringstamp;

namespace {

// A plan that negotiated hardware RX and TX stamps (the NIC part done).
TimestampingPlan HardwarePlan(TstampMode mode = TstampMode::kAuto) {
  TimestampingPlan p;
  p.mode = mode;
  p.hardware_rx = true;
  p.hardware_tx = true;
  p.note = "eth9: hardware RX and TX stamps on";
  return p;
}

PhcCheck GoodPhc() {
  PhcCheck c;
  c.path = "/dev/ptp3";
  c.offset = PhcOffset{.phc_ns = 100, .system_ns = 50, .uncertainty_ns = 20};
  c.frozen = false;
  return c;
}

}  // namespace

TEST_CASE("plan: hardware stamps are kept with a PHC that opens, measures and advances") {
  TimestampingPlan p = HardwarePlan();
  REQUIRE(ApplyPhcCheck(p, "eth9", GoodPhc()).ok());
  CHECK(p.hardware_rx);
  CHECK(p.hardware_tx);
  REQUIRE(p.phc_offset.has_value());
  CHECK(p.phc_offset->offset_ns() == 50);
  CHECK(p.phc_path == "/dev/ptp3");
  CHECK(p.note == "eth9: hardware RX and TX stamps on");
}

TEST_CASE("plan: no hardware stamps without a PHC to map them") {
  struct Case {
    const char* name;
    PhcCheck check;
    const char* why;  // in the note
  };
  PhcCheck none;
  none.open = absl::NotFoundError("eth9: no PTP hardware clock (phc_index -1)");
  PhcCheck busy = GoodPhc();
  busy.offset = ErrnoStatus(EBUSY, "/dev/ptp3: no PHC offset method works");
  PhcCheck frozen = GoodPhc();
  frozen.frozen = true;
  PhcCheck unreadable = GoodPhc();
  unreadable.frozen = ErrnoStatus(ENODEV, "clock_gettime /dev/ptp3");
  for (const Case& c :
       {Case{"no PHC", none, "phc_index -1"}, Case{"offset fails", busy, "cannot measure it"},
        Case{"frozen", frozen, "/dev/ptp3 is not advancing"},
        Case{"unreadable", unreadable, "cannot read it"}}) {
    CAPTURE(c.name);
    TimestampingPlan p = HardwarePlan();
    REQUIRE(ApplyPhcCheck(p, "eth9", c.check).ok());
    CHECK_FALSE(p.hardware_rx);  // the ring keeps software stamps
    CHECK_FALSE(p.hardware_tx);
    CHECK(p.rx_source_name() == "software");
    CHECK(p.note.find('\n') == std::string::npos);  // one line
    CHECK(p.note.find("eth9: software timestamps: no PTP hardware clock") == 0);
    CHECK(p.note.find(c.why) != std::string::npos);
    CHECK(p.phc_frozen == (std::string(c.name) == "frozen"));
    // --tstamp hardware: an error, not a silent fallback.
    TimestampingPlan h = HardwarePlan(TstampMode::kHardware);
    absl::Status s = ApplyPhcCheck(h, "eth9", c.check);
    CHECK(absl::IsFailedPrecondition(s));
    CHECK(s.message().find(c.why) != std::string::npos);
  }
}

TEST_CASE("plan: a software plan is not touched by the PHC check") {
  TimestampingPlan p;
  p.note = "eth9: software timestamps (as asked)";
  PhcCheck none;
  none.open = absl::NotFoundError("no PHC");
  REQUIRE(ApplyPhcCheck(p, "eth9", none).ok());
  CHECK(p.note == "eth9: software timestamps (as asked)");
  CHECK_FALSE(p.hardware_rx);
}
