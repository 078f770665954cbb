// `ringstamp info` run as a program inside a namespace, on a veth end.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp::testing;

namespace {

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("ts netns: ringstamp info on veth (text): software stamps, no PHC, no hw config") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  const std::string ifname = tb->if_a();
  auto r = tb->Run(tb->ns_a(), std::string(RINGSTAMP_BIN) + " info -i " + ifname);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(Has(r.output, "Interface " + ifname + " (index "));
  CHECK(Has(r.output, "driver veth"));
  CHECK(Has(r.output,
            "Capabilities:\n\tsoftware-transmit\n\tsoftware-receive\n"
            "\tsoftware-system-clock\n"));
  CHECK(Has(r.output, "PTP Hardware Clock: none\n"));
  CHECK(Has(r.output, "Hardware Transmit Timestamp Modes: none\n"));
  CHECK(Has(r.output, "Hardware Receive Filter Modes: none\n"));
  CHECK(Has(r.output, "Hardware timestamping config: unavailable: " + ifname + ": SIOCGHWTSTAMP"));
  CHECK(Has(r.output, "not supported by driver veth"));
  CHECK(Has(r.output, "PHC offset to system time: none (no PHC)"));
  CHECK(Has(r.output, "hardware RX  no: driver veth has no hardware receive timestamping"));
  CHECK(Has(r.output, "hardware TX  no: driver veth has no hardware transmit timestamping"));
  CHECK(Has(r.output, "software RX  yes"));
  CHECK(Has(r.output, "software TX  yes"));
}

TEST_CASE("ts netns: ringstamp info on veth (JSON)") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  const std::string ifname = tb->if_b();
  auto r = tb->Run(tb->ns_b(), std::string(RINGSTAMP_BIN) + " info --json -i " + ifname);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  nlohmann::json j = nlohmann::json::parse(r.output, nullptr, /*allow_exceptions=*/false);
  REQUIRE_FALSE(j.is_discarded());
  CHECK(j["interface"] == ifname);
  CHECK(j["driver"]["name"] == "veth");
  CHECK(j["so_timestamping"] == 0x1a);
  CHECK(j["capabilities"] ==
        nlohmann::json::array({"software-transmit", "software-receive", "software-system-clock"}));
  CHECK(j["phc_index"] == -1);
  CHECK(j["phc"].is_null());
  CHECK(j["tx_types"].empty());
  CHECK(j["rx_filters"].empty());
  CHECK(j["hwtstamp_config"]["supported"] == false);
  CHECK(Has(j["hwtstamp_config"]["error"].get<std::string>(), "not supported by driver veth"));
  CHECK(j["delivers"]["hardware_rx"]["available"] == false);
  CHECK(j["delivers"]["hardware_tx"]["available"] == false);
  CHECK(j["delivers"]["software_rx"]["available"] == true);
  CHECK(j["delivers"]["software_tx"]["available"] == true);
  CHECK(j["delivers"]["userspace"]["available"] == true);
  // The transport this kernel gives: io_uring where the probe found the command, else the
  // error queue with the reason.
  const std::string transport = j["tx_stamp_transport"]["name"].get<std::string>();
  CHECK((transport == "io_uring" || transport == "errqueue"));
  CHECK(Has(j["tx_stamp_transport"]["why"].get<std::string>(),
            transport == "io_uring" ? "SOCKET_URING_OP_TX_TIMESTAMP" : "error queue"));
}

TEST_CASE("ts netns: ringstamp info with a wrong interface name fails clearly with exit 1") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  // The peer's interface exists, but not in this namespace.
  auto r = tb->Run(tb->ns_a(), std::string(RINGSTAMP_BIN) + " info -i " + tb->if_b());
  CHECK(r.exit_code == 1);
  CHECK(r.output == "ringstamp info: no interface '" + tb->if_b() +
                        "' in this network namespace (`ip link` lists them)\n");
  r = tb->Run(tb->ns_a(), std::string(RINGSTAMP_BIN) + " info");
  CHECK(r.exit_code == 2);
  CHECK(Has(r.output, "-i IFACE is required"));
  r = tb->Run(tb->ns_a(), std::string(RINGSTAMP_BIN) + " info -i lo --rate 5");
  CHECK(r.exit_code == 2);  // a flag info does not take
}
