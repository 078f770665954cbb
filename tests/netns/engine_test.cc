// Integration: the per-core engine over a veth pair — fanout spread, queue mapping,
// stop under load, immediate mode, and the two wait modes.
#include <doctest/doctest.h>
#include <pthread.h>

#include <arpa/inet.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "ringstamp/common/clock.h"
#include "ringstamp/engine/engine.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/test_frames.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

constexpr uint16_t kDstPort = 7777;

// Records (worker, UDP source port, payload seq) for UDP frames to kDstPort.
struct Recorder {
  std::mutex mu;
  std::map<uint16_t, std::set<int>> workers_by_port;
  std::map<int, uint64_t> frames_by_worker;
  std::set<uint32_t> seqs;
  uint64_t frames = 0;
  std::atomic<uint64_t> count{0};
};

class RecordingHandler : public FrameHandler {
 public:
  explicit RecordingHandler(Recorder* r) : r_(r) {}
  void OnFrame(Worker& w, const Frame& f) override {
    if (f.snap_len < 14 + 20 + 8 + 4) return;
    const std::byte* d = f.data;
    if (d[12] != std::byte{0x08} || d[13] != std::byte{0x00} || d[23] != std::byte{17}) return;
    const uint16_t sport =
        static_cast<uint16_t>(static_cast<int>(d[34]) << 8 | static_cast<int>(d[35]));
    const uint16_t dport =
        static_cast<uint16_t>(static_cast<int>(d[36]) << 8 | static_cast<int>(d[37]));
    if (dport != kDstPort) return;
    uint32_t seq;
    std::memcpy(&seq, d + 42, 4);
    std::lock_guard<std::mutex> l(r_->mu);
    r_->workers_by_port[sport].insert(w.index());
    r_->frames_by_worker[w.index()]++;
    r_->seqs.insert(seq);
    r_->frames++;
    r_->count++;
  }

 private:
  Recorder* r_;
};

std::vector<std::byte> Flow(const Testbed& tb, uint16_t sport, uint32_t seq) {
  std::vector<std::byte> payload(16);
  std::memcpy(payload.data(), &seq, 4);
  return Udp4Frame({.dst_mac = tb.mac_b(),
                    .src_mac = tb.mac_a(),
                    .src_ip = tb.ip4_a(),
                    .dst_ip = tb.ip4_b(),
                    .src_port = sport,
                    .dst_port = kDstPort,
                    .payload = payload});
}

bool WaitFor(const std::atomic<uint64_t>& v, uint64_t want, int seconds) {
  const int64_t deadline = MonotonicNs() + seconds * kNsPerSec;
  while (v.load() < want && MonotonicNs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return v.load() >= want;
}

std::unique_ptr<Engine> MakeEngine(const Testbed& tb, EngineOptions o, Recorder* rec) {
  NetnsScope in(tb.ns_b());
  REQUIRE(in.ok());
  o.ifname = tb.if_b();
  o.ring_budget_bytes = 4 << 20;
  auto e = Engine::Create(o, [rec](int) { return std::make_unique<RecordingHandler>(rec); });
  REQUIRE_MESSAGE(e.ok(), e.status().ToString());
  REQUIRE((*e)->Start().ok());
  return std::move(*e);
}

}  // namespace

TEST_CASE("engine: two workers with FANOUT_HASH spread 64 flows without splitting one") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  auto tb_or = Testbed::Create();
  REQUIRE_MESSAGE(tb_or.ok(), tb_or.status().ToString());
  Testbed& tb = **tb_or;
  Recorder rec;
  auto engine = MakeEngine(
      tb, {.workers = 2, .tx = false, .fanout = {.mode = FanoutMode::kHash, .unique_id = true}},
      &rec);
  CHECK(engine->worker_count() == 2);
  auto tx = TestSender::Open(tb.ns_a(), tb.if_a());
  REQUIRE_MESSAGE(tx.ok(), tx.status().ToString());
  constexpr int kFlows = 64, kPerFlow = 50;
  uint32_t seq = 0;
  for (int k = 0; k < kPerFlow; ++k) {
    for (int flow = 0; flow < kFlows; ++flow) REQUIRE((*tx)->Send(Flow(tb, 20000 + flow, seq++)));
    (*tx)->Flush();
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  // Every frame is received or counted dropped by the kernel (the machine decides which).
  const bool all = WaitFor(rec.count, kFlows * kPerFlow, 20);
  engine->Stop();
  EngineStats s = engine->Snapshot();
  CHECK(rec.frames <= kFlows * kPerFlow);
  CHECK(rec.frames > 0);
  if (!all) CHECK(rec.frames + s.total.kernel_drops >= kFlows * kPerFlow);
  CHECK(rec.workers_by_port.size() == kFlows);
  for (auto& [port, workers] : rec.workers_by_port) {
    CAPTURE(port);
    CHECK(workers.size() == 1);  // no flow split across workers
  }
  CHECK(rec.frames_by_worker.size() == 2);  // both workers got flows
  CHECK(s.workers.size() == 2);
  CHECK(s.total.frames == s.workers[0].frames + s.workers[1].frames);
  CHECK(s.total.frames >= rec.frames);  // plus any other traffic (IPv6 chatter) the workers saw
  CHECK(s.total.kernel_packets >= s.total.frames);
  for (int i = 0; i < 2; ++i) CHECK(engine->worker(i).outstanding_blocks() == 0);
}

TEST_CASE("engine: FANOUT_QM on a multi-queue veth hands each RX queue to one worker") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  auto tb_or = Testbed::Create({.rx_queues = 4});
  REQUIRE_MESSAGE(tb_or.ok(), tb_or.status().ToString());
  Testbed& tb = **tb_or;
  Recorder rec;
  auto engine = MakeEngine(
      tb,
      {.workers = 2, .tx = false, .fanout = {.mode = FanoutMode::kQueueMapping, .unique_id = true}},
      &rec);
  // The packet socket picks the TX queue from the sending CPU; veth delivers on the
  // RX queue of the same number. Send one flow set from each CPU.
  std::vector<int> cpus = AllowedCpus();
  REQUIRE(!cpus.empty());
  const int senders = std::min<int>(2, static_cast<int>(cpus.size()));
  for (int s = 0; s < senders; ++s) {
    std::thread t([&, s] {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpus[s], &set);
      pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
      auto tx = TestSender::Open(tb.ns_a(), tb.if_a());
      REQUIRE(tx.ok());
      for (int k = 0; k < 200; ++k) {
        // Source port names the sending CPU; many ports per CPU so hashing would split them.
        REQUIRE(
            (*tx)->Send(Flow(tb, static_cast<uint16_t>(30000 + s * 1000 + k % 50), s * 1000 + k)));
        if (k % 20 == 19) (*tx)->Flush();
      }
      (*tx)->Flush();
    });
    t.join();
  }
  // Every frame is received or counted dropped by the kernel (the machine decides which).
  const bool all = WaitFor(rec.count, 200 * senders, 20);
  engine->Stop();
  if (!all) CHECK(rec.count.load() + engine->Snapshot().total.kernel_drops >= 200u * senders);
  CHECK(rec.count.load() > 0);
  std::map<int, std::set<int>> workers_by_cpu;
  for (auto& [port, workers] : rec.workers_by_port) {
    for (int w : workers) workers_by_cpu[(port - 30000) / 1000].insert(w);
  }
  for (auto& [cpu, workers] : workers_by_cpu) {
    CAPTURE(cpu);
    CHECK(workers.size() == 1);  // one queue → one worker, whatever the flow
  }
  if (senders == 2) {
    // Queues 0 and 1 map to different members of a 2-worker group.
    CHECK(*workers_by_cpu[0].begin() != *workers_by_cpu[1].begin());
  }
}

TEST_CASE("engine: stop while traffic flows joins every thread and returns every block") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  auto tb_or = Testbed::Create();
  REQUIRE_MESSAGE(tb_or.ok(), tb_or.status().ToString());
  Testbed& tb = **tb_or;
  Recorder rec;
  auto engine = MakeEngine(tb, {.workers = 2, .tx = false}, &rec);
  std::atomic<bool> stop_sending{false};
  std::thread sender([&] {
    auto tx = TestSender::Open(tb.ns_a(), tb.if_a());
    REQUIRE(tx.ok());
    const int64_t deadline = MonotonicNs() + 10 * kNsPerSec;
    for (uint32_t k = 0; !stop_sending && MonotonicNs() < deadline; ++k) {
      (*tx)->Send(Flow(tb, static_cast<uint16_t>(40000 + k % 64), k));
      if (k % 64 == 63) (*tx)->Flush();
    }
    (*tx)->Flush();
  });
  CHECK(WaitFor(rec.count, 1000, 10));
  const int64_t t0 = MonotonicNs();
  engine->Stop();
  const int64_t stop_ns = MonotonicNs() - t0;
  stop_sending = true;
  sender.join();
  CHECK(stop_ns < 5 * kNsPerSec);  // a bound, not a timing measurement: a hang fails here
  for (int i = 0; i < engine->worker_count(); ++i) {
    CHECK_FALSE(engine->worker(i).running());
    CHECK(engine->worker(i).outstanding_blocks() == 0);
  }
  EngineStats a = engine->Snapshot();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EngineStats b = engine->Snapshot();
  CHECK(a.total.frames == b.total.frames);  // final: nothing moves after stop
  CHECK(a.total.frames >= 1000);
}

TEST_CASE("engine: immediate mode hands over a lone frame with the block timeout at its maximum") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  auto tb_or = Testbed::Create();
  REQUIRE_MESSAGE(tb_or.ok(), tb_or.status().ToString());
  Testbed& tb = **tb_or;
  Recorder rec;
  auto engine = MakeEngine(
      tb, {.workers = 1, .rx_mode = RxMode::kImmediate, .block_timeout_ms = 65535}, &rec);
  auto tx = TestSender::Open(tb.ns_a(), tb.if_a());
  REQUIRE(tx.ok());
  REQUIRE((*tx)->Send(Flow(tb, 50000, 1)));
  (*tx)->Flush();
  CHECK(WaitFor(rec.count, 1, 10));
  engine->Stop();
  CHECK(rec.frames == 1);
}

TEST_CASE("engine: io_uring wait and busy poll deliver the same frames, in both RX modes") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  auto tb_or = Testbed::Create();
  REQUIRE_MESSAGE(tb_or.ok(), tb_or.status().ToString());
  Testbed& tb = **tb_or;
  auto tx = TestSender::Open(tb.ns_a(), tb.if_a());
  REQUIRE(tx.ok());
  std::vector<std::set<uint32_t>> results;
  for (WaitMode wm : {WaitMode::kIoUring, WaitMode::kBusyPoll}) {
    for (RxMode rm : {RxMode::kBlock, RxMode::kImmediate}) {
      Recorder rec;
      auto engine = MakeEngine(tb, {.workers = 1, .rx_mode = rm, .wait_mode = wm}, &rec);
      for (uint32_t k = 0; k < 500; ++k) {
        REQUIRE((*tx)->Send(Flow(tb, static_cast<uint16_t>(10000 + k % 7), k)));
        if (k % 25 == 24) {
          (*tx)->Flush();
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
      }
      (*tx)->Flush();
      CHECK(WaitFor(rec.count, 500, 10));
      engine->Stop();
      results.push_back(rec.seqs);
    }
  }
  REQUIRE(results.size() == 4);
  CHECK(results[0].size() == 500);
  for (size_t i = 1; i < results.size(); ++i) CHECK(results[i] == results[0]);
}

TEST_CASE("engine: a link going down is counted as a socket error (ENETDOWN) in each wait mode") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  auto tb_or = Testbed::Create();
  REQUIRE_MESSAGE(tb_or.ok(), tb_or.status().ToString());
  Testbed& tb = **tb_or;
  LinkUpAtEnd up_at_end(tb, tb.ns_b(), tb.if_b());
  for (WaitMode wm : {WaitMode::kIoUring, WaitMode::kBusyPoll}) {
    CAPTURE(static_cast<int>(wm));
    Recorder rec;
    // No TX stamps: nothing watches the sockets' POLLERR, so only the stats tick reads it.
    auto engine = MakeEngine(tb, {.workers = 1, .wait_mode = wm, .stats_interval_ms = 10}, &rec);
    CHECK(engine->Snapshot().total.socket_errors == 0);
    REQUIRE(tb.Run(tb.ns_b(), "ip link set " + tb.if_b() + " down").exit_code == 0);
    const int64_t deadline = MonotonicNs() + 5 * kNsPerSec;
    while (engine->Snapshot().total.socket_errors == 0 && MonotonicNs() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE(tb.Run(tb.ns_b(), "ip link set " + tb.if_b() + " up").exit_code == 0);
    engine->Stop();
    const EngineStats s = engine->Snapshot();
    CHECK(s.total.socket_errors >= 1);
    CHECK(s.total.last_socket_error == ENETDOWN);
  }
}

TEST_CASE("engine: bad options give clear errors") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  auto tb_or = Testbed::Create();
  REQUIRE(tb_or.ok());
  NetnsScope in((*tb_or)->ns_b());
  auto factory = [](int) -> std::unique_ptr<FrameHandler> { return nullptr; };
  auto e = Engine::Create({.ifname = "nosuch9"}, factory);
  REQUIRE_FALSE(e.ok());
  CHECK(std::string(e.status().message()).find("no interface named 'nosuch9'") !=
        std::string::npos);
  e = Engine::Create({.ifname = (*tb_or)->if_b(), .cpus = {4095}}, factory);
  REQUIRE_FALSE(e.ok());
  CHECK(std::string(e.status().message()).find("CPU 4095 is not available") != std::string::npos);
}
