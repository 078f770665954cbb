// Integration: the relay's TX stamps come back through each transport the worker can wait on —
// io_uring completions (SOCKET_URING_OP_TX_TIMESTAMP) and the socket's error queue — in both
// wait modes, and every frame written with want_stamp gets one report with a software stamp.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "engine/ether_conn.h"
#include "engine/packet_relay.h"
#include "engine/relay_worker.h"
#include "engine/rudp_conn.h"
#include "engine/worker.h"
#include "tests/support/netns_testbed.h"
#include "timestamp/uring_tx_stamps.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

struct Case {
  TxTransport transport;
  WaitMode wait;
};

// A one-worker relay with TX stamps on the testbed's B side (the caller is in ns B).
absl::StatusOr<std::unique_ptr<PacketRelay>> StampingRelay(const Testbed& tb, const Case& c) {
  RelayOptions ro;
  ro.engine.ifname = tb.if_b();
  ro.engine.workers = 1;
  ro.engine.ring_budget_bytes = 4 << 20;
  ro.engine.rx_mode = RxMode::kImmediate;
  ro.engine.wait_mode = c.wait;
  ro.engine.tx_stamp_transport = c.transport;
  ro.tx_stamps = true;
  return PacketRelay::Create(ro);
}

void RunCase(const Case& c) {
  auto tb = Testbed::Create();
  REQUIRE_MESSAGE(tb.ok(), tb.status().ToString());
  NetnsScope in((*tb)->ns_b());
  REQUIRE(in.ok());
  auto relay = StampingRelay(**tb, c);
  REQUIRE_MESSAGE(relay.ok(), relay.status().ToString());
  auto conn = (*relay)->NewEtherConn(
      {.mac = *MacAddress::Parse("02:52:53:00:00:30"), .ethertypes = {0x88b5}});
  REQUIRE_MESSAGE(conn.ok(), conn.status().ToString());

  constexpr int kFrames = 50;
  std::atomic<int> reports{0}, with_software{0}, timed_out{0};
  std::vector<std::atomic<int>> per_tag(kFrames);
  (*conn)->SetTxStampHandler([&](const TxStampReport& r) {
    reports.fetch_add(1);
    if (r.timed_out) timed_out.fetch_add(1);
    if (r.stamps.software_ns) with_software.fetch_add(1);
    if (r.tag < kFrames) per_tag[r.tag].fetch_add(1);
  });
  REQUIRE((*relay)->Start().ok());
  const MacAddress peer = *MacAddress::Parse((*tb)->mac_a());
  std::byte payload[46] = {};
  for (int i = 0; i < kFrames; ++i) {
    auto st = (*conn)->Write(payload, 0x88b5, peer, {.want_stamp = true, .tag = uint64_t(i)});
    REQUIRE_MESSAGE(st.ok(), st.ToString());
  }
  const int64_t deadline = MonotonicNs() + 5'000'000'000;
  while (reports.load() < kFrames && MonotonicNs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Which transport the worker really opened.
  TxTransport opened = TxTransport::kAuto;
  (*relay)->relay_worker(0).Post([&](RelayWorker& w) {
    if (w.worker() != nullptr && w.worker()->tx_stamps() != nullptr) {
      opened = w.worker()->tx_stamps()->transport();
    }
  });
  (*relay)->relay_worker(0).WaitApplied();
  (*conn)->Close();
  (*relay)->Stop();

  CHECK(reports.load() == kFrames);
  CHECK(with_software.load() == kFrames);
  CHECK(timed_out.load() == 0);
  for (int i = 0; i < kFrames; ++i) CHECK_MESSAGE(per_tag[i].load() == 1, "tag ", i);
  if (c.transport != TxTransport::kAuto) {
    CHECK(opened == c.transport);
  } else {
    const bool uring = UringTxStampSource::KernelSupport().value_or(false);
    CHECK(opened == (uring ? TxTransport::kIoUring : TxTransport::kErrorQueue));
  }
}

}  // namespace

TEST_CASE("relay tx stamps: every frame's software stamp comes back through the error queue") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  SUBCASE("io_uring wait") { RunCase({TxTransport::kErrorQueue, WaitMode::kIoUring}); }
  SUBCASE("busy poll") { RunCase({TxTransport::kErrorQueue, WaitMode::kBusyPoll}); }
}

TEST_CASE("relay tx stamps: through io_uring completions where the kernel has them (>= 6.15)") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  SUBCASE("auto, io_uring wait") { RunCase({TxTransport::kAuto, WaitMode::kIoUring}); }
  if (!UringTxStampSource::KernelSupport().value_or(false)) {
    return SkipTest("kernel",
                    "kernel lacks SOCKET_URING_OP_TX_TIMESTAMP (Linux >= 6.15): only auto's "
                    "fallback to the error queue was tested");
  }
  SUBCASE("io_uring, io_uring wait") { RunCase({TxTransport::kIoUring, WaitMode::kIoUring}); }
  SUBCASE("io_uring, busy poll") { RunCase({TxTransport::kIoUring, WaitMode::kBusyPoll}); }
}

TEST_CASE("relay tx stamps: a datagram parked while its neighbour resolves keeps its request") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  auto tb = Testbed::Create();
  REQUIRE_MESSAGE(tb.ok(), tb.status().ToString());
  NetnsScope in((*tb)->ns_b());
  REQUIRE(in.ok());
  auto relay = StampingRelay(**tb, {TxTransport::kAuto, WaitMode::kIoUring});
  REQUIRE_MESSAGE(relay.ok(), relay.status().ToString());
  const std::string local = (*tb)->ip4_extra(5);
  auto conn = (*relay)->NewEtherConn(
      {.mac = *MacAddress::Parse("02:52:53:00:00:31"), .addresses = {local + "/24"}});
  REQUIRE_MESSAGE(conn.ok(), conn.status().ToString());
  auto udp = RUDPConn::Create(*conn, {.local_ip = *IpAddress::Parse(local), .local_port = 7001});
  REQUIRE_MESSAGE(udp.ok(), udp.status().ToString());
  std::atomic<int> reports{0}, with_software{0};
  std::atomic<uint64_t> tag{0};
  (*udp)->SetTxStampHandler([&](const TxStampReport& r) {
    tag = r.tag;
    if (r.stamps.software_ns) with_software.fetch_add(1);
    reports.fetch_add(1);
  });
  REQUIRE((*relay)->Start().ok());
  // Post runs inline until the worker runs: wait for it, so the write is on its thread.
  const int64_t running_by = MonotonicNs() + 5'000'000'000;
  while (!(*relay)->relay_worker(0).running() && MonotonicNs() < running_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE((*relay)->relay_worker(0).running());
  // On the worker thread the peer's MAC is unknown: the datagram is parked, ARP asked.
  absl::Status sent = absl::UnknownError("not run");
  const UdpEndpoint peer{*IpAddress::Parse((*tb)->ip4_a()), 9};
  std::byte payload[8] = {};
  (*relay)->relay_worker(0).Post([&](RelayWorker&) {
    sent = (*udp)->WriteTo(payload, peer, {.want_stamp = true, .tag = 77});
  });
  (*relay)->relay_worker(0).WaitApplied();
  const int64_t deadline = MonotonicNs() + 5'000'000'000;
  while (reports.load() < 1 && MonotonicNs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const EtherConnStats stats = (*conn)->Stats();
  (*udp)->Close();
  (*conn)->Close();
  (*relay)->Stop();
  CHECK_MESSAGE(sent.ok(), sent.ToString());
  CHECK(stats.neighbors.parked == 1);  // it really waited for the neighbour
  CHECK(stats.neighbors.learnt >= 1);  // the ARP reply came and the frame was flushed
  CHECK(reports.load() == 1);
  CHECK(with_software.load() == 1);
  CHECK(tag.load() == 77);
}
