// Integration: relay timers (PacketRelay::AddTimer / CancelTimer). A timer runs on its worker's
// thread (so what it writes goes straight into that worker's TX ring), never before the time
// it asked for, ends when it returns 0, never runs after CancelTimer returned, and WakeTimer
// brings it forward (once however often) without the times it leaves behind running it early;
// the probe clients send from one.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/conn/relay_worker.h"
#include "ringstamp/engine/conn/rudp_conn.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/relay_testbed.h"
#include "tests/support/test_skip.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

// Waits (bounded) until `pred` holds.
template <class Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

TEST_CASE(
    "relay timer: runs on its worker when due, its datagrams reach a kernel socket, 0 ends it") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  // Busy poll: the worker polls its timers all the time, so one run before its time shows.
  RelayTestbed b({.wait = WaitMode::kBusyPoll});
  const std::string ip4 = b.tb->ip4_extra(17);
  auto conn = b.relay->NewEtherConn(
      {.mac = *MacAddress::Parse("02:52:53:00:00:17"), .addresses = {ip4 + "/24"}});
  REQUIRE(conn.ok());
  auto udp = RUDPConn::Create(*conn, {.local_ip = *IpAddress::Parse(ip4), .local_port = 7017});
  REQUIRE(udp.ok());
  const IpAddress peer = *IpAddress::Parse(b.tb->ip4_a());
  // Known up front: a worker parks a datagram to an unresolved address and asks first.
  (*conn)->AddStaticNeighbor(peer, *MacAddress::Parse(b.tb->mac_a()));
  constexpr int kRuns = 5;
  std::atomic<int> runs{0}, off_worker{0}, early{0}, write_errors{0};
  int64_t asked = 0;  // the time the last run asked for (worker thread only)
  // Added before Start: it runs once the worker polls.
  auto id = b.relay->AddTimer(0, [&](int64_t now) -> int64_t {
    if (CurrentRelayWorker() == nullptr) off_worker.fetch_add(1);
    if (now < asked || MonotonicNs() < asked) early.fetch_add(1);
    const int n = runs.fetch_add(1) + 1;
    const std::string msg = absl::StrCat("tick", n);
    if (!(*udp)->WriteTo(std::as_bytes(std::span(msg)), {peer, 7117}).ok())
      write_errors.fetch_add(1);
    if (n == kRuns) return 0;
    asked = now + 2'000'000;
    return asked;
  });
  REQUIRE(id.ok());
  // Every timer here is cancelled before the locals it holds go, a failed check included.
  absl::Cleanup cancel_id = [&] { b.relay->CancelTimer(*id); };
  // A second timer, due again only in a minute: the first one's runs must not take it along.
  std::atomic<int> slow_runs{0};
  auto slow = b.relay->AddTimer(0, [&](int64_t now) -> int64_t {
    slow_runs.fetch_add(1);
    return now + 60'000'000'000;
  });
  REQUIRE(slow.ok());
  absl::Cleanup cancel_slow = [&] { b.relay->CancelTimer(*slow); };
  // The kernel's UDP socket in the peer namespace (it stays there): every tick, in order.
  int s = -1;
  {
    NetnsScope in(b.tb->ns_a());
    REQUIRE(in.ok());
    s = socket(AF_INET, SOCK_DGRAM, 0);
  }
  REQUIRE(s >= 0);
  const int fd = s;
  struct CloseAtEnd {
    int fd;
    ~CloseAtEnd() { close(fd); }
  } close_at_end{fd};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(7117);
  REQUIRE(inet_pton(AF_INET, b.tb->ip4_a().c_str(), &a.sin_addr) == 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  timeval tv{5, 0};
  REQUIRE(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
  REQUIRE(b.relay->Start().ok());
  std::vector<std::string> got;
  for (int i = 0; i < kRuns; ++i) {
    char buf[64];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.emplace_back(buf, static_cast<size_t>(n));
  }
  std::vector<std::string> want;
  for (int i = 1; i <= kRuns; ++i) want.push_back(absl::StrCat("tick", i));
  CHECK(got == want);
  CHECK(runs.load() == kRuns);
  // Returned 0: it never runs again (given the worker time to be wrong).
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  CHECK(runs.load() == kRuns);
  CHECK(off_worker.load() == 0);
  CHECK(early.load() == 0);
  CHECK(slow_runs.load() == 1);
  CHECK(write_errors.load() == 0);
  CHECK((*udp)->Stats().sent == kRuns);
  CHECK(b.relay->Stats().tx_queue_full == 0);
  (*udp)->Close();
}

TEST_CASE("relay timer: cancelled from another thread or from inside it, it never runs again") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  RelayTestbed b;
  SUBCASE("a worker that does not exist is an error that names the ones that do") {
    for (int w : {-1, 1, 7}) {
      auto id = b.relay->AddTimer(w, [](int64_t) -> int64_t { return 0; });
      REQUIRE_FALSE(id.ok());
      CHECK(id.status().code() == absl::StatusCode::kInvalidArgument);
      CHECK(std::string(id.status().message()).find("has 1 (0..0)") != std::string::npos);
    }
    CHECK_FALSE(b.relay->AddTimer(0, nullptr).ok());
  }
  SUBCASE("from another thread: after CancelTimer returns it does not run") {
    REQUIRE(b.relay->Start().ok());
    std::atomic<int> runs{0};
    auto id = b.relay->AddTimer(0, [&](int64_t now) -> int64_t {
      runs.fetch_add(1);
      return now + 1'000'000;
    });
    REQUIRE(id.ok());
    absl::Cleanup cancel_at_end = [&] { b.relay->CancelTimer(*id); };
    REQUIRE(WaitFor([&] { return runs.load() >= 3; }));
    b.relay->CancelTimer(*id);
    const int at_cancel = runs.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    CHECK(runs.load() == at_cancel);
    b.relay->CancelTimer(*id);  // twice, and an id never given: ignored
    b.relay->CancelTimer({.worker = 0, .id = 999'999});
  }
  SUBCASE("from inside: it ends when it returns, and a timer it adds runs") {
    REQUIRE(b.relay->Start().ok());
    std::atomic<int> runs{0}, child_runs{0};
    PacketRelay::TimerId self;
    std::atomic<bool> have_id{false};
    auto id = b.relay->AddTimer(0, [&](int64_t now) -> int64_t {
      if (!have_id.load()) return now + 1'000'000;  // the id is not known yet
      if (runs.fetch_add(1) + 1 == 2) {
        b.relay->CancelTimer(self);
        CHECK(b.relay
                  ->AddTimer(0,
                             [&](int64_t) -> int64_t {
                               child_runs.fetch_add(1);
                               return 0;
                             })
                  .ok());
      }
      return now;  // due again at once: only the cancel ends it
    });
    REQUIRE(id.ok());
    absl::Cleanup cancel_at_end = [&] { b.relay->CancelTimer(*id); };
    self = *id;
    have_id.store(true);
    REQUIRE(WaitFor([&] { return child_runs.load() == 1; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    CHECK(runs.load() == 2);
    CHECK(child_runs.load() == 1);
  }
}

TEST_CASE("relay timer: WakeTimer makes a timer due now, once however often it is woken") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  // io_uring wait: a wake from another thread must end the worker's sleep.
  RelayTestbed b;
  REQUIRE(b.relay->Start().ok());
  std::atomic<int> runs{0};
  auto id = b.relay->AddTimer(0, [&](int64_t now) -> int64_t {
    runs.fetch_add(1);
    return now + 60'000'000'000;  // only a wake brings it back within the test
  });
  REQUIRE(id.ok());
  absl::Cleanup cancel_id = [&] { b.relay->CancelTimer(*id); };
  REQUIRE(WaitFor([&] { return runs.load() == 1; }));
  SUBCASE("from another thread") {
    b.relay->WakeTimer(*id);
    REQUIRE(WaitFor([&] { return runs.load() == 2; }));
    b.relay->WakeTimer({.worker = 0, .id = 999'999});  // unknown ids are ignored
    b.relay->WakeTimer({.worker = 3, .id = id->id});
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    CHECK(runs.load() == 2);
  }
  SUBCASE("from its own worker, three times in one run of another timer: it runs once") {
    std::atomic<bool> woke{false};
    auto waker = b.relay->AddTimer(0, [&](int64_t) -> int64_t {
      for (int i = 0; i < 3; ++i) b.relay->WakeTimer(*id);
      woke.store(true);
      return 0;
    });
    REQUIRE(waker.ok());
    absl::Cleanup cancel_waker = [&] { b.relay->CancelTimer(*waker); };
    REQUIRE(WaitFor([&] { return woke.load() && runs.load() >= 2; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    CHECK(runs.load() == 2);
  }
}

TEST_CASE("relay timer: the times a woken timer left behind never run it early") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  RelayTestbed b;
  REQUIRE(b.relay->Start().ok());
  // Both run on worker 0's thread: no synchronisation between them beyond the counters read
  // by this thread.
  bool woken = false;  // set by the waker before each wake, cleared by the sleeper
  int64_t asked = 0;   // the time the sleeper asked for at its last run
  std::atomic<int> sleeper_runs{0}, early{0}, waker_runs{0};
  auto sleeper = b.relay->AddTimer(0, [&](int64_t now) -> int64_t {
    // A run at an entry it left behind (due before the time it asked for, not woken) is early.
    if (!woken && now < asked) early.fetch_add(1);
    woken = false;
    sleeper_runs.fetch_add(1);
    asked = now + 20'000'000;
    return asked;
  });
  REQUIRE(sleeper.ok());
  absl::Cleanup cancel_sleeper = [&] { b.relay->CancelTimer(*sleeper); };
  // Each wake leaves an entry 20 ms out: 300 wakes 10 µs apart leave far more than there are
  // timers, which makes the worker rebuild its heap, and their times come up after the last
  // wake, while the sleeper still runs every 20 ms.
  constexpr int kWakes = 300;
  auto waker = b.relay->AddTimer(0, [&](int64_t now) -> int64_t {
    woken = true;
    b.relay->WakeTimer(*sleeper);
    return waker_runs.fetch_add(1) + 1 == kWakes ? 0 : now + 10'000;
  });
  REQUIRE(waker.ok());
  absl::Cleanup cancel_waker = [&] { b.relay->CancelTimer(*waker); };
  REQUIRE(WaitFor([&] { return waker_runs.load() == kWakes; }));
  const int at_last_wake = sleeper_runs.load();
  // It goes on at its own times; the entries it left are due within 20 ms of the last wake.
  CHECK(WaitFor([&] { return sleeper_runs.load() > at_last_wake + 2; }));
  CHECK(early.load() == 0);
}
