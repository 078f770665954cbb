// Integration: control changes posted to relay workers (issue 13 point 9). A change never
// runs after the call that posted it returned: ApplyToWorkers waits for a worker that is
// busy, TryApplyToWorkers takes the change back from it and says so; a worker that is not
// running takes changes inline.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/conn/relay_worker.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/packet_relay_test_access.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

// A gate a posted change waits at, on the worker's thread, until the test opens it.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool open = false;

  void Hold() {
    std::unique_lock<std::mutex> l(mu);
    entered = true;
    cv.notify_all();
    cv.wait_for(l, std::chrono::seconds(20), [&] { return open; });
  }
  bool WaitEntered() {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::seconds(10), [&] { return entered; });
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu);
    open = true;
    cv.notify_all();
  }
};

absl::StatusOr<std::unique_ptr<PacketRelay>> OneWorkerRelay(const Testbed& tb) {
  RelayOptions ro;
  ro.engine.ifname = tb.if_b();
  ro.engine.workers = 1;
  ro.engine.ring_budget_bytes = 4 << 20;
  return PacketRelay::Create(ro);
}

}  // namespace

TEST_CASE("a relay worker that is not running takes a change at once") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  NetnsScope in(tb->ns_b());
  REQUIRE(in.ok());
  auto relay = OneWorkerRelay(*tb);
  REQUIRE(relay.ok());
  bool ran = false;
  CHECK(PacketRelayTestAccess::Worker(**relay, 0).Post([&](RelayWorker&) { ran = true; }) == 0);
  CHECK(ran);
  REQUIRE((*relay)->Start().ok());
  (*relay)->Stop();
  ran = false;
  CHECK(PacketRelayTestAccess::Worker(**relay, 0).Post([&](RelayWorker&) { ran = true; }) == 0);
  CHECK(ran);
}

TEST_CASE("a change a busy worker did not take is withdrawn and never runs later") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  NetnsScope in(tb->ns_b());
  REQUIRE(in.ok());
  auto relay = OneWorkerRelay(*tb);
  REQUIRE(relay.ok());
  REQUIRE((*relay)->Start().ok());
  PacketRelay& r = **relay;

  // Started means its thread is running OnStart soon; until then changes run inline.
  for (int i = 0; i < 1000 && !PacketRelayTestAccess::Worker(r, 0).running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(PacketRelayTestAccess::Worker(r, 0).running());
  Gate gate;
  const uint64_t busy =
      PacketRelayTestAccess::Worker(r, 0).Post([&](RelayWorker&) { gate.Hold(); });
  REQUIRE(busy != 0);
  REQUIRE(gate.WaitEntered());  // the worker's thread is now held inside a change

  std::atomic<bool> late_ran{false};
  const absl::Status s = PacketRelayTestAccess::TryApplyToWorkers(
      r, [&](RelayWorker&) { late_ran = true; }, std::chrono::milliseconds(200));
  CHECK(s.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(std::string(s.message()).find("withdrawn") != std::string::npos);
  CHECK(r.Stats().control_waits_over_timeout == 1);

  // ApplyToWorkers does not give up: it returns only after the worker ran the change,
  // which it can only do once the gate is open.
  std::atomic<bool> opened{false};
  std::atomic<bool> ran_after_open{false};
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    opened = true;
    gate.Open();
  });
  PacketRelayTestAccess::ApplyToWorkers(r, [&](RelayWorker&) { ran_after_open = opened.load(); });
  opener.join();
  CHECK(ran_after_open);
  CHECK_FALSE(late_ran);  // the withdrawn change did not run once the worker was free
  r.Stop();
  CHECK_FALSE(late_ran);
}
