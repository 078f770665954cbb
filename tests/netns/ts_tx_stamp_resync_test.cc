// Integration: the veth's MTU is lowered under a running relay whose TX ring still
// allows the old one; a frame the kernel then refuses before it takes an OPT_ID key
// must not move every later TX stamp onto its neighbour's frame.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp;
using namespace ringstamp::testing;

TEST_CASE("tx stamps: after the MTU drops mid-run, every later stamp lands on its own frame") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  auto tb = Testbed::Create();
  REQUIRE_MESSAGE(tb.ok(), tb.status().ToString());
  NetnsScope in((*tb)->ns_b());
  REQUIRE(in.ok());
  RelayOptions ro;
  ro.engine.ifname = (*tb)->if_b();
  ro.engine.workers = 1;
  ro.engine.ring_budget_bytes = 4 << 20;
  // Block mode: TX shares the RX socket, which has no PACKET_VNET_HDR (the
  // kernel skips its MTU check for vnet frames, so nothing would be refused).
  ro.engine.rx_mode = RxMode::kBlock;
  ro.tx_stamps = true;
  ro.tx_stamp_timeout_ns = 200'000'000;
  auto relay = PacketRelay::Create(ro);
  REQUIRE_MESSAGE(relay.ok(), relay.status().ToString());
  auto conn = (*relay)->NewEtherConn(
      {.mac = *MacAddress::Parse("02:52:53:00:00:40"), .ethertypes = {0x88b5}});
  REQUIRE_MESSAGE(conn.ok(), conn.status().ToString());

  constexpr int kFrames = 30;
  constexpr int kRefused = 10;  // the frame sent right after the MTU drop
  struct Report {
    int count = 0;
    bool timed_out = false;
    std::optional<int64_t> software_ns;
  };
  std::mutex mu;
  std::vector<Report> reports(kFrames);
  (*conn)->SetTxStampHandler([&](const TxStampReport& r) {
    std::lock_guard<std::mutex> l(mu);
    if (r.tag >= kFrames) return;
    Report& rep = reports[r.tag];
    ++rep.count;
    rep.timed_out = r.timed_out;
    rep.software_ns = r.stamps.software_ns;
  });
  REQUIRE((*relay)->Start().ok());
  auto reported = [&](int tag) {
    std::lock_guard<std::mutex> l(mu);
    return reports[tag].count > 0;
  };
  const MacAddress peer = *MacAddress::Parse((*tb)->mac_a());
  std::vector<std::byte> big(1000), small(100);
  // Frame i is written at written[i]; it waits for its report (at most 1 s) so
  // that each frame goes to the kernel by a kick of its own.
  std::vector<int64_t> written(kFrames + 1);
  for (int i = 0; i < kFrames; ++i) {
    if (i == kRefused) {
      // The TX ring still checks against 1500; the kernel now allows 900 + 18.
      auto r =
          (*tb)->Run((*tb)->ns_b(), absl::StrCat("ip link set dev ", (*tb)->if_b(), " mtu 900"));
      REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    }
    written[i] = RealtimeNs();
    auto st = (*conn)->Write(i == kRefused ? big : (i < kRefused ? big : small), 0x88b5, peer,
                             {.want_stamp = true, .tag = static_cast<uint64_t>(i)});
    REQUIRE_MESSAGE(st.ok(), st.ToString());
    const int64_t deadline = MonotonicNs() + 1'000'000'000;
    while (!reported(i) && MonotonicNs() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  written[kFrames] = RealtimeNs();
  const RelayStats stats = (*relay)->Stats();
  (*conn)->Close();
  (*relay)->Stop();

  std::lock_guard<std::mutex> l(mu);
  // The refused frame was never sent: its report says so, without a stamp.
  CHECK(reports[kRefused].count == 1);
  CHECK(reports[kRefused].timed_out);
  CHECK_FALSE(reports[kRefused].software_ns.has_value());
  for (int i = 0; i < kFrames; ++i) {
    if (i == kRefused) continue;
    CAPTURE(i);
    CHECK(reports[i].count == 1);
    CHECK_FALSE(reports[i].timed_out);
    REQUIRE(reports[i].software_ns.has_value());
    // Stamped after its own write and before the next frame's.
    CHECK(*reports[i].software_ns >= written[i]);
    CHECK(*reports[i].software_ns < written[i + 1]);
  }
  CHECK(stats.tx_stamp_resyncs == 1);
}
