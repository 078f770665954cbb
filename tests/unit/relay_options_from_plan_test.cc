// RelayOptions::FromPlan: the relay gets exactly the stamps the plan promises, and nothing
// is asked of the NIC that the plan did not negotiate.
#include <doctest/doctest.h>

#include "ringstamp/engine/conn/packet_relay.h"

using namespace ringstamp;

TEST_CASE("FromPlan: a software plan asks for software TX stamps only, with a 1 s timeout") {
  TimestampingPlan p;  // software RX and TX, no PHC
  p.hardware_rx = false;
  p.hardware_tx = false;
  RelayOptions ro = RelayOptions::FromPlan("veth7", p);
  CHECK(ro.engine.ifname == "veth7");
  CHECK_FALSE(ro.engine.hardware_stamps);
  CHECK(ro.engine.phc_map == nullptr);
  CHECK(ro.tx_stamps);
  CHECK_FALSE(ro.tx_hardware_stamps);
  CHECK(ro.tx_stamp_timeout_ns == 1'000'000'000);
}

TEST_CASE("FromPlan: a hardware plan passes the PHC mapping and asks for hardware TX stamps") {
  TimestampingPlan p;
  p.hardware_rx = true;
  p.hardware_tx = true;
  p.phc_map = std::make_shared<PhcClockMap>();
  RelayOptions ro = RelayOptions::FromPlan("eth1", p);
  CHECK(ro.engine.hardware_stamps);
  CHECK(ro.engine.phc_map == p.phc_map);  // stamps mapped to system time by the workers
  CHECK(ro.tx_stamps);
  CHECK(ro.tx_hardware_stamps);
  CHECK(ro.tx_stamp_timeout_ns == 10'000'000);
}

TEST_CASE("FromPlan: hardware RX only (a NIC that stamps no TX) keeps software TX stamps") {
  TimestampingPlan p;
  p.hardware_rx = true;
  p.hardware_tx = false;
  p.phc_map = std::make_shared<PhcClockMap>();
  RelayOptions ro = RelayOptions::FromPlan("eth1", p);
  CHECK(ro.engine.hardware_stamps);
  CHECK(ro.tx_stamps);
  CHECK_FALSE(ro.tx_hardware_stamps);
  CHECK(ro.tx_stamp_timeout_ns == 1'000'000'000);
}

TEST_CASE("FromPlan: a plan without TX stamps asks for none") {
  TimestampingPlan p;
  p.software_tx = false;
  p.hardware_tx = false;
  RelayOptions ro = RelayOptions::FromPlan("eth1", p);
  CHECK_FALSE(ro.tx_stamps);
  CHECK_FALSE(ro.tx_hardware_stamps);
}
