// Integration: the relay's TX stamps come back through each transport the worker can wait on —
// io_uring completions (SOCKET_URING_OP_TX_TIMESTAMP) and the socket's error queue — in both
// wait modes, and every frame written with want_stamp gets one report with a software stamp,
// the stamp of that very frame: no later than the peer's RX stamp of the frame with the same
// tag, and no earlier than the peer's RX stamp of the frame before it.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "ringstamp/common/clock.h"
#include "ringstamp/common/fd.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/conn/relay_worker.h"
#include "ringstamp/engine/conn/rudp_conn.h"
#include "ringstamp/engine/worker.h"
#include "ringstamp/timestamp/uring_tx_stamps.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/packet_relay_test_access.h"

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

constexpr uint16_t kEtherType = 0x88b5;

// A packet socket in the testbed's A side that receives kEtherType frames with the kernel's
// RX software stamp (SO_TIMESTAMPNS: CLOCK_REALTIME, as the TX stamps), non-blocking.
UniqueFd PeerReceiver(const Testbed& tb) {
  NetnsScope in(tb.ns_a());
  REQUIRE(in.ok());
  UniqueFd fd(socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(kEtherType)));
  REQUIRE(fd.valid());
  sockaddr_ll a{};
  a.sll_family = AF_PACKET;
  a.sll_protocol = htons(kEtherType);
  a.sll_ifindex = static_cast<int>(if_nametoindex(tb.if_a().c_str()));
  REQUIRE(a.sll_ifindex > 0);
  REQUIRE(bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  const int on = 1;
  REQUIRE(setsockopt(fd.get(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) == 0);
  return fd;
}

// The peer's RX stamp per tag (payload byte 0 of our frames), -1 where none came.
std::vector<int64_t> DrainPeer(int fd, int frames, int64_t deadline_mono) {
  std::vector<int64_t> rx(frames, -1);
  int got = 0;
  while (got < frames && MonotonicNs() < deadline_mono) {
    uint8_t buf[2048];
    alignas(cmsghdr) char control[256];
    iovec iov{buf, sizeof(buf)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    if (n < ETH_HLEN + 1) continue;
    const int tag = buf[ETH_HLEN];
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_TIMESTAMPNS) continue;
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
      if (tag < frames && rx[tag] < 0) {
        rx[tag] = TimespecToNs(ts);
        ++got;
      }
    }
  }
  return rx;
}

void RunCase(const Case& c) {
  const bool rx_at_enqueue = RxStampedAtEnqueue();
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
  std::vector<std::atomic<int64_t>> tx_stamp(kFrames);
  (*conn)->SetTxStampHandler([&](const TxStampReport& r) {
    reports.fetch_add(1);
    if (r.timed_out) timed_out.fetch_add(1);
    if (r.stamps.software_ns) with_software.fetch_add(1);
    if (r.tag < kFrames) {
      per_tag[r.tag].fetch_add(1);
      tx_stamp[r.tag].store(r.stamps.software_ns.value_or(-1));
    }
  });
  UniqueFd peer_rx = PeerReceiver(**tb);
  REQUIRE((*relay)->Start().ok());
  const MacAddress peer = *MacAddress::Parse((*tb)->mac_a());
  std::byte payload[46] = {};
  for (int i = 0; i < kFrames; ++i) {
    payload[0] = static_cast<std::byte>(i);  // the peer reads the tag back from here
    auto st = (*conn)->Write(payload, kEtherType, peer, {.want_stamp = true, .tag = uint64_t(i)});
    REQUIRE_MESSAGE(st.ok(), st.ToString());
  }
  const int64_t deadline = MonotonicNs() + 5'000'000'000;
  while (reports.load() < kFrames && MonotonicNs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Which transport the worker really opened.
  TxTransport opened = TxTransport::kAuto;
  const uint64_t ticket = PacketRelayTestAccess::Worker(**relay, 0).Post([&](RelayWorker& w) {
    if (w.worker() != nullptr && w.worker()->tx_stamps() != nullptr) {
      opened = w.worker()->tx_stamps()->transport();
    }
  });
  REQUIRE(PacketRelayTestAccess::Worker(**relay, 0).WaitApplied(ticket, std::chrono::seconds(10)));
  (*conn)->Close();
  (*relay)->Stop();
  const std::vector<int64_t> rx = DrainPeer(peer_rx.get(), kFrames, MonotonicNs() + 2'000'000'000);

  // The frames leave in tag order through one TX ring; each TX stamp is taken as veth starts
  // to send that frame, before it reaches the peer, and after the previous frame did.
  if (!rx_at_enqueue) MESSAGE("netdev_tstamp_prequeue is 0: previous-frame bound not checked");
  for (int i = 0; i < kFrames; ++i) {
    CAPTURE(i);
    const int64_t tx = tx_stamp[i].load();
    if (rx[i] < 0 || tx < 0) {
      FAIL_CHECK("frame ", i, ": TX stamp ", tx, ", peer RX stamp ", rx[i]);
      continue;
    }
    CHECK(tx <= rx[i]);
    if (rx_at_enqueue && i > 0 && rx[i - 1] >= 0) CHECK(rx[i - 1] <= tx);
  }

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
  while (!PacketRelayTestAccess::Worker(**relay, 0).running() && MonotonicNs() < running_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(PacketRelayTestAccess::Worker(**relay, 0).running());
  // On the worker thread the peer's MAC is unknown: the datagram is parked, ARP asked.
  absl::Status sent = absl::UnknownError("not run");
  const UdpEndpoint peer{*IpAddress::Parse((*tb)->ip4_a()), 9};
  std::byte payload[8] = {};
  const uint64_t ticket = PacketRelayTestAccess::Worker(**relay, 0).Post([&](RelayWorker&) {
    sent = (*udp)->WriteTo(payload, peer, {.want_stamp = true, .tag = 77});
  });
  REQUIRE(PacketRelayTestAccess::Worker(**relay, 0).WaitApplied(ticket, std::chrono::seconds(10)));
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
