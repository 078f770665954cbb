// packet_relay.h — PacketRelay: owns an Engine's receive path and hands each frame to its endpoint.
//
// Example:
// Given: #include "ringstamp/engine/conn/rudp_conn.h"
// Given: const MacAddress& mac; const VlanStack& stack; const IpAddress& ip
//   RelayOptions ro{.engine = {.ifname = "eth1", .workers = 1, .rx_mode = RxMode::kImmediate}};
//   RS_ASSIGN_OR_RETURN(auto relay, PacketRelay::Create(ro));
//   RS_ASSIGN_OR_RETURN(auto conn, relay->NewEtherConn({.mac = mac, .vlans = stack,
//                                                       .addresses = {"10.0.0.10/24"}}));
//   RS_ASSIGN_OR_RETURN(auto udp, RUDPConn::Create(conn, {.local_ip = ip, .local_port = 862}));
//   RS_RETURN_IF_ERROR(relay->Start());
//
// Dispatch: each frame goes to its owner by (destination MAC, VLAN stack,
// EtherType) in one hash probe of a worker-local abseil flat_hash_map; VLAN
// tags come from the ring header where the kernel stripped them and from the
// frame otherwise (l2_view.h). Broadcast ARP goes to the owner of the target
// address; other broadcast to every endpoint that asked for broadcast;
// multicast to every endpoint that joined the group's MAC; frames without an
// owner to the default endpoint if one is set, else counted (no_owner).
// Registration: from any thread while traffic flows. Every worker keeps its
// own tables, so the frame path takes no lock; a change is posted to each
// worker and applied there between batches, and the caller waits until all
// workers applied it (so after Close() returns, no worker touches the conn).
// TX: a frame written on a worker thread goes straight into that worker's TX
// ring; from any other thread it is copied into a bounded queue that one worker
// drains (overflow counted and reported to the caller).
// TX stamps (RelayOptions::tx_stamps): every frame sent gets a software (and
// hardware, where the NIC does it) TX stamp through io_uring completions where
// the kernel has them (else the error queue; EngineOptions::tx_stamp_transport), matched
// by OPT_ID and handed to the endpoint that sent it.
// Cost: dispatch is one parse of the Ethernet header and one hash probe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringstamp/engine/conn/l2_view.h"
#include "ringstamp/engine/conn/tx_options.h"
#include "ringstamp/engine/engine.h"
#include "ringstamp/engine/engine_options.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/mac_address.h"
#include "ringstamp/engine/proto/vlan.h"
#include "ringstamp/engine/timestamping_plan.h"

namespace ringstamp {

class EtherConn;
class RUDPConn;
struct EtherConnOptions;
class RelayWorker;

struct RelayOptions {
  EngineOptions engine;
  // tcpdump expression narrowing what the kernel hands up (compiled by libpcap);
  // empty: everything.
  std::string filter;
  // Frames from non-worker threads waiting for a TX ring, per worker.
  uint32_t tx_queue_frames = 4096;
  // TX stamps for every frame sent (software; hardware when the NIC is set up).
  bool tx_stamps = false;
  bool tx_hardware_stamps = false;
  int64_t tx_stamp_timeout_ns = 1'000'000'000;

  // A relay on `ifname` that delivers the stamps `plan` promises: raw hardware RX stamps and
  // the PHC mapping when the plan kept them (RX and TX stamps then also on the system clock),
  // TX stamps for every frame when the plan has any (hardware when it has them), and a TX
  // stamp timeout suited to the source: a hardware TX stamp comes within microseconds or
  // not at all (a NIC drops one while another is pending), so after 10 ms the report carries
  // what came; software stamps get 1 s. Workers, CPUs and wait mode stay at their defaults.
  // Example:
  //   RS_ASSIGN_OR_RETURN(TimestampingPlan plan, PlanTimestamping("eth1", TstampMode::kAuto,
  //                                                               /*rx=*/true, /*tx=*/true));
  //   RS_ASSIGN_OR_RETURN(auto relay, PacketRelay::Create(RelayOptions::FromPlan("eth1", plan)));
  // The plan must outlive the relay (it restores the NIC and keeps the mapping current).
  static RelayOptions FromPlan(std::string_view ifname, const TimestampingPlan& plan);
};

struct RelayStats {
  uint64_t frames = 0;     // frames the relay looked at
  uint64_t delivered = 0;  // handed to an endpoint
  uint64_t no_owner = 0;   // nobody registered for them (and no default endpoint)
  uint64_t malformed = 0;  // Ethernet header unreadable
  uint64_t broadcast = 0;
  uint64_t multicast = 0;
  uint64_t tx_frames = 0;      // frames written by endpoints
  uint64_t tx_queue_full = 0;  // frames from other threads dropped: queue full
  uint64_t tx_ring_full = 0;   // frames dropped: TX ring full on the worker path
  uint64_t tx_stamps = 0;      // TX stamps delivered to endpoints
  uint64_t tx_stamps_missed = 0;
  uint64_t tx_stamp_resyncs = 0;  // TX stamp key mapping shifted (TxTrackerStats::resyncs)
  uint64_t endpoints = 0;
  // Control changes (endpoints, handlers, groups) that waited more than kApplyTimeout for a
  // worker, or were withdrawn from one: a handler is blocking its worker's thread.
  uint64_t control_waits_over_timeout = 0;
};

// What a TX stamp completion tells its endpoint.
struct TxStampReport {
  uint64_t tag = 0;  // the caller's tag given at write time
  // software / hardware TX stamps that came, userspace send time. A hardware
  // stamp is raw NIC time (hardware_ns) and, when the engine has a PHC mapping
  // (EngineOptions::phc_map), also on the system clock (hardware_system_ns),
  // as on RX frames; use stamps.BestSystem() for a time comparable with others.
  Timestamps stamps;
  bool timed_out = false;
};

// Per-frame options for a write: TxOptions (ringstamp/engine/conn/tx_options.h).

class PacketRelay {
 public:
  static absl::StatusOr<std::unique_ptr<PacketRelay>> Create(const RelayOptions& options);
  ~PacketRelay();  // stops the engine; every conn must be closed or outlive nothing
  PacketRelay(const PacketRelay&) = delete;
  PacketRelay& operator=(const PacketRelay&) = delete;

  absl::Status Start();
  void Stop();
  bool running() const { return running_; }
  Engine& engine() { return *engine_; }
  const RelayOptions& options() const { return options_; }
  MacAddress interface_mac() const { return interface_mac_; }

  // A new endpoint. Errors: a MAC + VLAN stack + EtherType already taken, bad addresses.
  absl::StatusOr<std::shared_ptr<EtherConn>> NewEtherConn(const EtherConnOptions& options);
  // Frames nobody owns go to `conn` (nullptr: counted and dropped).
  void SetDefault(std::shared_ptr<EtherConn> conn);

  RelayStats Stats() const;
  int worker_count() const { return static_cast<int>(workers_.size()); }

  // Timed work on a worker's own thread: `fn(now_mono_ns)` runs on worker `worker` between
  // batches, the first time as soon as the worker polls, then at the CLOCK_MONOTONIC time it
  // returns (0 or less: never again). What it writes (RUDPConn::Write, EtherConn::Write) goes
  // straight into that worker's TX ring and leaves with the poll's kick: no queue and no
  // wake-up between threads, which a sender on its own thread pays on every frame (a context
  // switch and an eventfd write: ~15 µs of each probe's round trip on a 2-vCPU VM). `fn` runs
  // with the relay's frame path: it must not block (Resolve, ReadFrom refuse there). A worker
  // in io_uring wait sleeps until the earliest timer; in busy poll it checks one time per loop.
  // Any thread; errors: `worker` out of range.
  struct TimerId {
    int worker = -1;
    uint64_t id = 0;
  };
  absl::StatusOr<TimerId> AddTimer(int worker, std::function<int64_t(int64_t now_mono_ns)> fn);
  // After it returns the timer does not run again, and (called from another thread) is not
  // running: what `fn` holds may be freed. From inside `fn` itself it takes effect when `fn`
  // returns. Any thread; an unknown or ended id is ignored.
  void CancelTimer(TimerId id);
  // Makes timer `id` due now when it was due later: it runs at its worker's next poll (once,
  // however often it is woken before), then at the time it returns. For work that an event
  // makes due, such as the next probe when a reply comes (`probe client --interval 0`). On the
  // timer's own worker (a handler or another timer there) it is a few ns and the timer runs
  // after the current batch; from another thread it is posted (the worker is woken) and does
  // not wait. Any thread; an unknown or ended id is ignored.
  void WakeTimer(TimerId id);

 private:
  // Relay-internal: EtherConn, RUDPConn and the workers call these (tests and benchmarks
  // through PacketRelayTestAccess, defined in tests/support).
  friend class EtherConn;
  friend class RUDPConn;
  friend class RelayWorker;
  friend struct PacketRelayTestAccess;
  // Runs `fn` on every worker's thread against its tables and waits until all did (inline
  // for a worker that is not running). Neither returns while `fn` could still run later, so
  // `fn` may hold references to the caller's stack and objects.
  //   ApplyToWorkers waits as long as it takes (a change that takes an object out of the
  //     tables must: returning early would leave a worker a pointer to a freed object);
  //     each kApplyTimeout it waits beyond is counted (RelayStats::control_waits_over_timeout).
  //   TryApplyToWorkers gives up after `timeout`: it takes the change back from workers
  //     that have not run it (one stuck in a handler) and returns DeadlineExceeded; workers
  //     that did run it keep it, so the caller undoes it with ApplyToWorkers.
  static constexpr std::chrono::milliseconds kApplyTimeout{10'000};
  void ApplyToWorkers(const std::function<void(RelayWorker&)>& fn);
  absl::Status TryApplyToWorkers(const std::function<void(RelayWorker&)>& fn,
                                 std::chrono::milliseconds timeout = kApplyTimeout);
  // The relay worker whose thread is calling, or nullptr.
  RelayWorker* CurrentWorker() const;
  // Writes a frame built by `build` (which fills the span and returns the
  // length, 0 to abandon). On a worker thread: in place in its TX ring.
  // Elsewhere: built in a scratch buffer and queued for worker `hint`.
  absl::Status Transmit(absl::FunctionRef<size_t(std::span<std::byte>)> build, uint32_t conn_id,
                        const TxOptions& tx, int hint = 0);
  // Like Transmit, but never blocks and never allocates on a worker thread.
  // Returns false when the frame was dropped (ring or queue full, build failed).
  bool TransmitFrame(std::span<const std::byte> frame, uint32_t conn_id, const TxOptions& tx,
                     int hint = 0);
  RelayWorker& relay_worker(int i) { return *workers_[i]; }
  uint32_t NextConnId() { return next_conn_id_.fetch_add(1, std::memory_order_relaxed); }

  // Waits for worker `w` to run the change `ticket` as long as it takes, counting each
  // kApplyTimeout it waits beyond (RelayStats::control_waits_over_timeout).
  void WaitAppliedUnbounded(RelayWorker& w, uint64_t ticket);
  // Bounded when `timeout` is set.
  absl::Status Apply(const std::function<void(RelayWorker&)>& fn,
                     std::optional<std::chrono::milliseconds> timeout);
  friend class RelayHandler;
  explicit PacketRelay(const RelayOptions& options) : options_(options) {}

  RelayOptions options_;
  std::unique_ptr<Engine> engine_;
  std::vector<RelayWorker*> workers_;  // owned by the engine's handlers
  MacAddress interface_mac_;
  std::atomic<uint32_t> next_conn_id_{1};
  std::atomic<uint64_t> next_timer_id_{1};
  bool running_ = false;
  mutable std::mutex apply_mu_;
  std::atomic<uint64_t> control_waits_over_timeout_{0};
  // Unicast keys in use and live endpoints (for duplicate checks and stats).
  mutable std::mutex reg_mu_;
  absl::flat_hash_set<L2Key, L2KeyHash> taken_;
  uint64_t endpoints_ = 0;
  std::shared_ptr<EtherConn> default_conn_;

 public:
  // EtherConn registration bookkeeping (engine-internal).
  absl::Status Claim(const std::vector<L2Key>& keys);
  void Release(const std::vector<L2Key>& keys);
};

}  // namespace ringstamp
