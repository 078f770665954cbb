// engine.h — Engine: N pinned workers on one interface, joined in one PACKET_FANOUT group.
//
// Example:
// Given: std::unique_ptr<FrameHandler> MakeHandler(int worker_index)
//   EngineOptions o{.ifname = "eth1", .workers = 2};
//   RS_ASSIGN_OR_RETURN(auto engine, Engine::Create(o, [](int i) { return MakeHandler(i); }));
//   RS_RETURN_IF_ERROR(engine->Start());
//   InstallStopSignals(engine.get());          // SIGINT/SIGTERM → RequestStop()
//   engine->Wait();                             // until a handler or a signal asks to stop
//   EngineStats s = engine->Snapshot();         // final: every thread joined, every block returned
//
// Workers are created in the calling thread (their sockets live in its network
// namespace), then started; each RX socket joins the fanout group so the kernel
// spreads flows (HASH), CPUs (CPU), queues (QM) or load (LB) over the workers.
// Threads: Create/Start/Wait/Stop from one controlling thread; Snapshot() and
// RequestStop() from any thread; RequestStop() is async-signal-safe.
// Cost: setup allocates rings (ring_budget_bytes per worker); the frame path is
// the workers' own.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringstamp/engine/engine_options.h"
#include "ringstamp/engine/frame_handler.h"
#include "ringstamp/engine/worker.h"
#include "ringstamp/engine/worker_stats.h"

namespace ringstamp {

using HandlerFactory = std::function<std::unique_ptr<FrameHandler>(int worker_index)>;

class Engine {
 public:
  static absl::StatusOr<std::unique_ptr<Engine>> Create(const EngineOptions& options,
                                                        const HandlerFactory& make_handler);
  ~Engine();  // stops and joins
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  absl::Status Start();
  // Blocks until every worker has stopped (after RequestStop from anywhere).
  void Wait();
  // RequestStop + Wait.
  void Stop();
  // Async-signal-safe: an atomic store and an eventfd write per worker.
  void RequestStop();
  bool stop_requested() const { return stop_.load(std::memory_order_relaxed); }

  EngineStats Snapshot() const;
  int worker_count() const { return static_cast<int>(workers_.size()); }
  Worker& worker(int i) { return *workers_[i]; }
  const EngineOptions& options() const { return options_; }
  uint16_t fanout_group() const { return fanout_group_; }
  // Ring setup notes worth showing (shrunk rings, memory lock refused).
  std::string warnings() const;

 private:
  explicit Engine(const EngineOptions& options) : options_(options) {}
  EngineOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stop_{false};
  bool started_ = false;
  uint16_t fanout_group_ = 0;
};

// The CPUs this process may run on (sched_getaffinity), in order.
std::vector<int> AllowedCpus();

// Routes SIGINT, SIGTERM and SIGHUP to engine->RequestStop() (and to any extra callback
// registered with AddStopCallback): the run stops cleanly, files close whole, the NIC's
// timestamping config is restored after the last stamp. A second such signal restores the
// NIC (RestoreAllHwTimestamping) and exits at once with 128 + the signal. Safe to call
// again with another engine; ~Engine detaches it.
void InstallStopSignals(Engine* engine);
// A function run (in signal context: async-signal-safe only) on the first stop signal.
void AddStopCallback(void (*fn)());
// True once a stop signal arrived.
bool StopSignalled();

}  // namespace ringstamp
