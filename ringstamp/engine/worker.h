// worker.h — Worker: one pinned thread owning its packet socket(s), its RX ring and its TX ring.
//
// Made by Engine (engine.h); handlers see it as the `worker` argument:
// Example:
// Given: #include "ringstamp/engine/frame_handler.h"
// Given: uint32_t BuildReply(std::span<std::byte> slot, const Frame& f)
//   struct Echo : FrameHandler {
//     void OnFrame(Worker& w, const Frame& f) override {
//       auto slot = w.tx()->Reserve();         // reply on the same worker: no locks
//       if (!slot.empty()) w.tx()->Commit(BuildReply(slot, f));  // flushed after this batch
//     }
//   };
//
// Run-to-completion: walk a block (or the ready V2 frames), hand each frame to
// the handler, return the block, let the handler generate (OnPoll), flush TX
// with one kick, then sleep in io_uring or spin (WaitMode).
// Threads: everything but Stats()/Wake() runs on the worker's own thread; the
// worker is the single writer of its rings. Stats() and Wake() are safe from any
// thread. Cost: per frame, the ring walk plus one virtual call.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringstamp/common/fd.h"
#include "ringstamp/engine/engine_options.h"
#include "ringstamp/engine/frame_handler.h"
#include "ringstamp/engine/tx_port.h"
#include "ringstamp/engine/uring_waiter.h"
#include "ringstamp/engine/worker_stats.h"
#include "ringstamp/ring/packet_socket.h"
#include "ringstamp/ring/ring_counters.h"
#include "ringstamp/ring/ring_setup.h"
#include "ringstamp/timestamp/tx_stamp_source.h"

namespace ringstamp {

class Engine;

class Worker {
 public:
  // Opens the sockets and rings (in the calling thread's network namespace).
  static absl::StatusOr<std::unique_ptr<Worker>> Create(Engine* engine, int index, int cpu,
                                                        const EngineOptions& options,
                                                        std::unique_ptr<FrameHandler> handler);
  ~Worker();

  int index() const { return index_; }
  int cpu() const { return cpu_; }
  const std::string& ifname() const { return options_.ifname; }
  // The PHC → system mapping for hardware stamps (EngineOptions::phc_map), or null.
  const PhcClockMap* phc_map() const { return options_.phc_map.get(); }
  Engine& engine() { return *engine_; }
  FrameHandler& handler() { return *handler_; }

  // The transmit side: a TX ring or a TAP queue (nullptr without TX). Worker thread only.
  TxPort* tx() { return tx_port_ ? &*tx_port_ : nullptr; }
  // The socket TX stamps come back on (its error queue). -1 without TX.
  int tx_fd() const;
  // Worker thread, from the handler's OnStart, once SO_TIMESTAMPING with TX
  // generation flags, OPT_ID and OPT_TSONLY is on tx_fd(): opens the way TX
  // stamps come back (EngineOptions::tx_stamp_transport) and makes the worker
  // wake for them. OnErrorQueue then means "stamps may be ready: drain
  // tx_stamps()". `transport` overrides EngineOptions::tx_stamp_transport.
  // Until then the worker does not wake for the error queue at all. Idempotent.
  absl::StatusOr<TxStampSource*> OpenTxStamps(std::optional<TxTransport> transport = {});
  // nullptr until OpenTxStamps succeeded.
  TxStampSource* tx_stamps() { return tx_stamps_.get(); }
  // The RX socket (nullptr when the engine has no RX).
  PacketSocket* rx_socket() { return rx_sock_ ? &*rx_sock_ : nullptr; }
  PacketSocket* tx_socket() { return tx_sock_ ? &*tx_sock_ : rx_socket(); }

  // Handler-side counters (worker thread).
  void CountHandlerDrop(uint64_t n = 1) { handler_drops_.Add(n); }
  void SetTxStampCounts(uint64_t pending, uint64_t missed_total);

  // Any thread.
  WorkerStats Stats() const;
  void Wake();

  // Engine-side lifecycle.
  absl::Status Start();
  void Join();
  bool running() const { return thread_.joinable(); }
  // Frames left in userspace-owned blocks after the worker stopped (must be 0).
  uint32_t outstanding_blocks() const;
  // What the rings setup wants the user to know (shrunk rings, memory lock).
  const std::string& warnings() const { return warnings_; }

 private:
  Worker(Engine* engine, int index, int cpu, const EngineOptions& options,
         std::unique_ptr<FrameHandler> handler);
  absl::Status Open();
  void Run();
  size_t PollRx();
  void ReadKernelStats();
  void FlushTx();
  bool StopRequested() const;

  Engine* engine_;
  int index_;
  int cpu_;
  EngineOptions options_;
  std::unique_ptr<FrameHandler> handler_;
  std::optional<PacketSocket> rx_sock_;
  std::optional<PacketSocket> tx_sock_;  // separate TX socket in immediate mode
  Rings rings_;
  Rings tx_rings_;
  TapQueue* tap_queue_ = nullptr;  // TAP port kind: this worker's queue
  std::optional<TxPort> tx_port_;
  UniqueFd wake_fd_;
  std::unique_ptr<UringWaiter> waiter_;
  std::unique_ptr<TxStampSource> tx_stamps_;
  std::thread thread_;
  std::string warnings_;

  RelaxedCounter kernel_packets_, kernel_drops_, freezes_, handler_drops_, hw_missing_,
      socket_errors_;
  std::atomic<int> last_socket_error_{0};
  // Reads (and so clears) SO_ERROR on the worker's sockets after a wake for the error queue
  // that brought no message (a socket whose interface went down keeps reporting POLLERR
  // until its error is read) and at every stats tick (in every wait mode and TX-stamp
  // transport, where no POLLERR wakes the worker).
  void ReadSocketErrors();
  // After the waiter is made: a warning (once per process) when it sleeps in poll().
  void NoteWaitFallback();
  std::atomic<uint64_t> tx_stamps_pending_{0}, tx_stamps_missed_{0};
  int64_t next_stats_ns_ = 0;
};

}  // namespace ringstamp
