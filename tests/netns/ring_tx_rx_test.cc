// Integration: frames written into one namespace's TX ring arrive intact on the
// peer namespace's RX ring, with kernel software stamps, every frame received or counted dropped.
#include <doctest/doctest.h>
#include <linux/net_tstamp.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "ringstamp/common/clock.h"
#include "ringstamp/ring/packet_socket.h"
#include "ringstamp/ring/ring_setup.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/test_frames.h"
#include "tests/support/v3_block_builder.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

constexpr uint16_t kTestEtherType = 0x88b5;  // IEEE local experimental

std::vector<std::byte> TestFrame(uint32_t seq, uint32_t len, const uint8_t dst[6],
                                 const uint8_t src[6]) {
  std::vector<std::byte> f = PatternFrame(len, seq);
  std::memcpy(f.data(), dst, 6);
  std::memcpy(f.data() + 6, src, 6);
  f[12] = std::byte{kTestEtherType >> 8};
  f[13] = std::byte{kTestEtherType & 0xff};
  std::memcpy(f.data() + 14, &seq, 4);
  return f;
}

uint32_t SizeFor(uint32_t seq) {
  static constexpr uint32_t kSizes[] = {60, 64, 128, 200, 512, 999, 1024, 1400, 1514};
  return kSizes[seq % (sizeof(kSizes) / sizeof(kSizes[0]))];
}

}  // namespace

TEST_CASE("ring: 10,000 frames of mixed sizes cross the veth pair intact, stamped, drops counted") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  uint8_t mac_a[6], mac_b[6];
  ParseMacInto(tb.mac_a(), mac_a);
  ParseMacInto(tb.mac_b(), mac_b);
  constexpr uint32_t kFrames = 10000;

  // Receiver in ns_b: V3 ring, kernel software stamps on the ring socket itself.
  std::optional<PacketSocket> rx_sock;
  std::optional<Rings> rx_rings;
  {
    NetnsScope in(tb.ns_b());
    REQUIRE(in.ok());
    auto s = PacketSocket::Open(tb.if_b(), {.protocol = kTestEtherType});
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    rx_sock.emplace(std::move(*s));
    int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
    REQUIRE(setsockopt(rx_sock->fd(), SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) == 0);
    RingConfig cfg{
        .block_size = 1 << 16, .block_count = 64, .frame_size = 2048, .block_timeout_ms = 2};
    auto r = SetupRings(*rx_sock, {.rx = cfg});
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    rx_rings.emplace(std::move(*r));
    REQUIRE(rx_sock->Bind().ok());
  }
  // Sender in ns_a: TX-only socket (protocol 0), V3 TX ring, qdisc bypass.
  std::optional<PacketSocket> tx_sock;
  std::optional<Rings> tx_rings;
  {
    NetnsScope in(tb.ns_a());
    REQUIRE(in.ok());
    auto s = PacketSocket::Open(tb.if_a(), {.protocol = 0});
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    tx_sock.emplace(std::move(*s));
    REQUIRE(tx_sock->SetQdiscBypass(true).ok());
    auto r = SetupRings(*tx_sock, {.tx = RingConfig::ForTx(1 << 20)});
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    tx_rings.emplace(std::move(*r));
    REQUIRE(tx_sock->Bind().ok());
  }

  const int64_t t_start = RealtimeNs();
  std::vector<uint8_t> seen(kFrames, 0);
  std::atomic<uint32_t> received{0};
  std::atomic<uint32_t> bad{0}, unstamped{0}, out_of_window{0}, dup{0};
  std::atomic<bool> sender_done{false};
  int64_t t_end_guard = 0;
  std::thread receiver([&] {
    RxRing& rx = *rx_rings->rx;
    const int64_t deadline = MonotonicNs() + 30 * kNsPerSec;
    while (received.load() < kFrames && MonotonicNs() < deadline) {
      size_t n = rx.Poll([&](const Frame& f) {
        uint32_t seq = 0;
        if (f.snap_len < 18) {
          bad++;
          return;
        }
        std::memcpy(&seq, f.data + 14, 4);
        if (seq >= kFrames) {
          bad++;
          return;
        }
        auto expect = TestFrame(seq, SizeFor(seq), mac_b, mac_a);
        if (f.snap_len != expect.size() || f.wire_len != expect.size() ||
            std::memcmp(f.data, expect.data(), expect.size()) != 0) {
          bad++;
        }
        if (seen[seq]++) dup++;
        if (!f.stamps.software_ns) {
          unstamped++;
        } else if (*f.stamps.software_ns < t_start || *f.stamps.software_ns > RealtimeNs()) {
          out_of_window++;
        }
        received++;
      });
      if (n == 0) {
        pollfd p{rx_sock->fd(), POLLIN, 0};
        poll(&p, 1, 10);
      }
    }
    CHECK(rx.outstanding_blocks() == 0);
  });

  TxRing& tx = *tx_rings->tx;
  const int64_t send_deadline = MonotonicNs() + 30 * kNsPerSec;
  for (uint32_t seq = 0; seq < kFrames && MonotonicNs() < send_deadline;) {
    auto f = TestFrame(seq, SizeFor(seq), mac_b, mac_a);
    TxResult r = tx.Write(f);
    if (r == TxResult::kRingFull) {
      REQUIRE(tx.Flush().ok());
      tx.WaitWritable(10);
      continue;
    }
    REQUIRE_MESSAGE(r == TxResult::kOk, TxResultName(r));
    ++seq;
    if (seq % 32 == 0) {
      REQUIRE(tx.Flush().ok());
      // A modest rate: about 100k frames/s at most.
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  }
  REQUIRE(tx.Flush().ok());
  sender_done = true;
  receiver.join();
  (void)t_end_guard;

  CHECK(received.load() > 0);
  CHECK(bad.load() == 0);
  CHECK(dup.load() == 0);
  CHECK(unstamped.load() == 0);
  CHECK(out_of_window.load() == 0);
  CHECK(tx.counters().committed.Get() == kFrames);
  CHECK(tx.counters().wrong_format.Get() == 0);
  auto stats = rx_sock->ReadStats();
  REQUIRE(stats.ok());
  // Whether the ring overflowed is the machine's business; that every frame is either
  // received or counted as a drop is ours (the socket takes only the test EtherType).
  CHECK_MESSAGE(received.load() + stats->total.drops == kFrames, "received ", received.load(),
                ", ring drops ", stats->total.drops);
  CHECK(stats->total.packets == kFrames);
  // Reading resets the kernel's counters: a second read sees only what came since.
  auto again = rx_sock->ReadStats();
  REQUIRE(again.ok());
  CHECK(again->delta.packets == 0);
  CHECK(again->total.packets == stats->total.packets);
}

TEST_CASE("ring: RX and TX rings sharing one socket and one mapping both work") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  uint8_t mac_a[6], mac_b[6];
  ParseMacInto(tb.mac_a(), mac_a);
  ParseMacInto(tb.mac_b(), mac_b);
  auto open_shared = [&](const std::string& ns, const std::string& ifn) {
    NetnsScope in(ns);
    auto s = PacketSocket::Open(ifn, {.protocol = kTestEtherType, .ignore_outgoing = true});
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    RingConfig rx_cfg{
        .block_size = 1 << 16, .block_count = 8, .frame_size = 2048, .block_timeout_ms = 1};
    auto r = SetupRings(*s, {.rx = rx_cfg, .tx = RingConfig::ForTx(1 << 18)});
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    REQUIRE(s->Bind().ok());
    return std::make_pair(std::move(*s), std::move(*r));
  };
  auto [sock_a, rings_a] = open_shared(tb.ns_a(), tb.if_a());
  auto [sock_b, rings_b] = open_shared(tb.ns_b(), tb.if_b());
  // a → b and b → a, 100 frames each way.
  for (uint32_t k = 0; k < 100; ++k) {
    REQUIRE(rings_a.tx->Write(TestFrame(k, 100, mac_b, mac_a)) == TxResult::kOk);
    REQUIRE(rings_b.tx->Write(TestFrame(k, 100, mac_a, mac_b)) == TxResult::kOk);
  }
  REQUIRE(rings_a.tx->Flush().ok());
  REQUIRE(rings_b.tx->Flush().ok());
  uint32_t got_a = 0, got_b = 0;
  const int64_t deadline = MonotonicNs() + 10 * kNsPerSec;
  while ((got_a < 100 || got_b < 100) && MonotonicNs() < deadline) {
    got_a += rings_a.rx->Poll([&](const Frame& f) { CHECK(std::memcmp(f.data, mac_a, 6) == 0); });
    got_b += rings_b.rx->Poll([&](const Frame& f) { CHECK(std::memcmp(f.data, mac_b, 6) == 0); });
    pollfd p[2] = {{sock_a.fd(), POLLIN, 0}, {sock_b.fd(), POLLIN, 0}};
    poll(p, 2, 5);
  }
  CHECK(got_a == 100);  // ignore_outgoing: a's own frames are not handed back to a
  CHECK(got_b == 100);
}

TEST_CASE("ring: wrong interface, ring larger than memory, frame over the MTU give clear errors") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  NetnsScope in(tb.ns_a());
  REQUIRE(in.ok());

  auto missing = PacketSocket::Open("nosuch0");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(missing.status().message()).find("no interface named 'nosuch0'") !=
        std::string::npos);

  auto s = PacketSocket::Open(tb.if_a());
  REQUIRE(s.ok());
  auto avail = AvailableMemoryBytes();
  REQUIRE(avail.has_value());
  RingConfig huge{.block_size = 1 << 22,
                  .block_count = static_cast<uint32_t>(*avail / (1 << 22) + 64),
                  .frame_size = 2048,
                  .block_timeout_ms = 1};
  auto r = SetupRings(*s, {.rx = huge});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(std::string(r.status().message()).find("does not fit in memory") != std::string::npos);

  auto t = PacketSocket::Open(tb.if_a(), {.protocol = 0});
  REQUIRE(t.ok());
  auto rings = SetupRings(*t, {.tx = RingConfig::ForTx(1 << 18, 4096)});
  REQUIRE_MESSAGE(rings.ok(), rings.status().ToString());
  REQUIRE(t->Bind().ok());
  TxRing& tx = *rings->tx;
  CHECK(tx.mtu() == 1500);
  std::vector<std::byte> big(1600, std::byte{0});
  CHECK(tx.Write(big) == TxResult::kTooLong);
  CHECK(std::string(tx.Describe(TxResult::kTooLong, 1600).message()).find("MTU 1500") !=
        std::string::npos);
  std::vector<std::byte> tiny(10, std::byte{0});
  CHECK(tx.Write(tiny) == TxResult::kTooShort);
  CHECK(tx.counters().rejected.Get() == 2);
  // The ring is not stuck: a good frame still goes.
  std::vector<std::byte> ok(1514, std::byte{0});
  CHECK(tx.Write(ok) == TxResult::kOk);
  CHECK(tx.Flush().ok());
  // A tagged frame may carry 4 more bytes, as the kernel allows.
  std::vector<std::byte> tagged(1518, std::byte{0});
  tagged[12] = std::byte{0x81};
  CHECK(tx.Write(tagged) == TxResult::kOk);
  CHECK(tx.Flush().ok());
}
