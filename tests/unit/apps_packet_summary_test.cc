#include <doctest/doctest.h>

#include "apps/packet_summary.h"
#include "tests/support/test_frames.h"

using namespace ringstamp;

TEST_CASE(
    "packet summary: a UDP frame with a stripped VLAN tag, a software stamp and a truncated one") {
  auto bytes = testing::Udp4Frame({.dst_mac = "02:00:00:00:00:02",
                                   .src_mac = "02:00:00:00:00:01",
                                   .src_ip = "10.0.0.1",
                                   .dst_ip = "10.0.0.2",
                                   .src_port = 1000,
                                   .dst_port = 862,
                                   .payload = std::vector<std::byte>(44)});
  Frame f;
  f.data = bytes.data();
  f.snap_len = static_cast<uint32_t>(bytes.size());
  f.wire_len = f.snap_len;
  f.vlan_valid = true;
  f.vlan_tci = 100;
  f.stamps.software_ns = 1'000'000'002;
  CHECK(app::FormatPacketSummary(f) ==
        "1.000000002 sw 02:00:00:00:00:01 > 02:00:00:00:00:02, vlan 100, IPv4 10.0.0.1.1000 > "
        "10.0.0.2.862: UDP, length 44, frame 86");
  // Cut inside the UDP header: the error is named, never guessed around.
  f.snap_len = 14 + 20 + 4;
  f.stamps = {};
  const std::string s = app::FormatPacketSummary(f);
  CAPTURE(s);
  CHECK(s.rfind("- 02:00:00:00:00:01 > 02:00:00:00:00:02", 0) == 0);
  CHECK(s.find("IPv4 [ipv4_total_length_beyond_packet]") != std::string::npos);
}
