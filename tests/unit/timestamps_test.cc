#include "ringstamp/timestamp/timestamps.h"

#include <doctest/doctest.h>

#include <climits>

using namespace ringstamp;

TEST_CASE("FormatStampNs shows a missing stamp as '-' and never as a number") {
  CHECK(FormatStampNs(std::nullopt) == "-");
  CHECK(FormatStampNs(0) == "0.000000000");
  CHECK(FormatStampNs(1700000000'123456789) == "1700000000.123456789");
  CHECK(FormatStampNs(-1'500'000'000) == "-1.500000000");
  CHECK(FormatStampNs(INT64_MIN) == "-9223372036.854775808");
}

TEST_CASE("Timestamps::Best prefers hardware, then software, then userspace") {
  Timestamps ts;
  CHECK_FALSE(ts.Best().has_value());
  CHECK(ts.empty());
  ts.userspace_ns = 30;
  CHECK(*ts.Best() == Stamp{30, StampSource::kUserspace});
  ts.software_ns = 20;
  CHECK(*ts.Best() == Stamp{20, StampSource::kSoftware});
  ts.hardware_ns = 10;
  CHECK(*ts.Best() == Stamp{10, StampSource::kHardwareRaw});
  // A raw PHC stamp is not on the system clock until mapped.
  CHECK(*ts.BestSystem() == Stamp{20, StampSource::kSoftware});
  ts.hardware_system_ns = 15;
  CHECK(*ts.BestSystem() == Stamp{15, StampSource::kHardwareRaw});
}

TEST_CASE("FormatTimestamps names every stamp") {
  Timestamps ts;
  ts.software_ns = 1'000'000'001;
  CHECK(FormatTimestamps(ts) == "hw=- sw=1.000000001 user=-");
  CHECK(StampSourceName(StampSource::kEstimate) == "estimate");
}
