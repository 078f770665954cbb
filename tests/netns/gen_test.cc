// Integration: `ringstamp gen` unpaced (whole-ring kicks, busy-poll worker, TX ring with
// PACKET_VNET_HDR): every frame counted once, and each one arrives whole — the peer's
// UDP layer counts it (NoPorts: nobody listens on port 9) and finds no checksum error.
#include <doctest/doctest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

struct UdpCounters {
  int64_t no_ports = -1;
  int64_t csum_errors = -1;
};

// The peer namespace's UDP MIB: /proc/net/snmp ("Udp:" header line, then values) for
// IPv4, /proc/net/snmp6 ("Udp6NoPorts 12" lines) for IPv6.
UdpCounters ReadUdp(const Testbed& tb, const std::string& ns, bool v6) {
  UdpCounters c;
  if (v6) {
    auto r = tb.Run(ns, "cat /proc/net/snmp6");
    std::istringstream in(r.output);
    std::string name;
    int64_t value = 0;
    while (in >> name >> value) {
      if (name == "Udp6NoPorts") c.no_ports = value;
      if (name == "Udp6InCsumErrors") c.csum_errors = value;
    }
    return c;
  }
  auto r = tb.Run(ns, "grep '^Udp:' /proc/net/snmp");
  std::istringstream in(r.output);
  std::string header, values;
  std::getline(in, header);
  std::getline(in, values);
  std::istringstream h(header), v(values);
  std::string name, value;
  while (h >> name && v >> value) {
    if (name == "NoPorts") c.no_ports = std::stoll(value);
    if (name == "InCsumErrors") c.csum_errors = std::stoll(value);
  }
  return c;
}

int64_t RxPackets(const Testbed& tb) {
  auto r = tb.Run(tb.ns_b(), "cat /sys/class/net/" + tb.if_b() + "/statistics/rx_packets");
  return std::stoll(r.output);
}

nlohmann::json RunGen(const Testbed& tb, bool v6, const std::string& extra) {
  const std::string cmd = absl::StrCat(kBin, " gen -i ", tb.if_a(), " --dst-mac ", tb.mac_b(),
                                       " --src-ip ", v6 ? tb.ip6_a() : tb.ip4_a(), " --dst-ip ",
                                       v6 ? tb.ip6_b() : tb.ip4_b(), " --json ", extra);
  auto r = tb.Run(tb.ns_a(), cmd, 60);
  INFO(cmd);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const size_t brace = r.output.find('{');
  REQUIRE(brace != std::string::npos);
  return nlohmann::json::parse(r.output.substr(brace));
}

}  // namespace

TEST_CASE("gen: unpaced --count sends every frame once, whole, with good checksums (IPv4, IPv6)") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  struct Case {
    bool v6;
    int workers;
    int size;
    int count;
  };
  // 100000 frames is 12 laps of the 8192-slot ring; sizes: the minimum, one past a
  // 16-byte slot step, and a full-MTU frame.
  for (const Case& c : {Case{false, 1, 60, 100000}, Case{false, 2, 75, 100000},
                        Case{true, 1, 62, 50000}, Case{false, 1, 1514, 20000}}) {
    CAPTURE(c.v6);
    CAPTURE(c.workers);
    CAPTURE(c.size);
    const UdpCounters before = ReadUdp(tb, tb.ns_b(), c.v6);
    REQUIRE(before.no_ports >= 0);
    REQUIRE(before.csum_errors >= 0);
    auto j = RunGen(tb, c.v6,
                    absl::StrCat("--count ", c.count, " --workers ", c.workers, " --size ", c.size,
                                 " --flows 16"));
    CHECK(j["packets_sent"] == c.count);
    CHECK(j["bytes"] == static_cast<int64_t>(c.count) * c.size);
    CHECK(j["wrong_format"] == 0);
    CHECK(j["rejected"] == 0);
    const UdpCounters after = ReadUdp(tb, tb.ns_b(), c.v6);
    CHECK(after.no_ports - before.no_ports == c.count);
    CHECK(after.csum_errors == before.csum_errors);
  }
}

TEST_CASE("gen: unpaced VLAN frames and paced frames all leave, --tx-stamps matches every frame") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  {
    // Tagged frames stop at the peer's veth (no VLAN device there): count them there.
    const int64_t before = RxPackets(tb);
    auto j = RunGen(tb, false, "--count 30000 --vlan 100,200 --size 90");
    CHECK(j["packets_sent"] == 30000);
    CHECK(j["wrong_format"] == 0);
    CHECK(j["rejected"] == 0);
    CHECK(RxPackets(tb) - before >= 30000);
  }
  {
    const UdpCounters before = ReadUdp(tb, tb.ns_b(), false);
    auto j = RunGen(tb, false, "--count 2000 --rate 100000 --burst 16");
    CHECK(j["packets_sent"] == 2000);
    const UdpCounters after = ReadUdp(tb, tb.ns_b(), false);
    CHECK(after.no_ports - before.no_ports == 2000);
  }
  {
    const UdpCounters before = ReadUdp(tb, tb.ns_b(), false);
    auto j = RunGen(tb, false, "--count 20000 --tx-stamps");
    CHECK(j["packets_sent"] == 20000);
    REQUIRE(j.contains("tx_stamps"));
    CHECK(j["tx_stamps"]["stamps"] == 20000);
    CHECK(j["tx_stamps"]["missed"] == 0);
    const UdpCounters after = ReadUdp(tb, tb.ns_b(), false);
    CHECK(after.no_ports - before.no_ports == 20000);
  }
}
