// relay_worker.h — RelayWorker: the relay's FrameHandler on one engine worker, with its own tables.
//
// Engine-internal: EtherConn and RUDPConn reach it through PacketRelay. Every
// table here is read and written only on this worker's thread (changes from
// other threads arrive through PacketRelay::ApplyToWorkers), so the frame path
// takes no lock. Cost: per frame one Ethernet parse and one PtrTable probe;
// frames handed over in batches (OnFrames) have their probes and their endpoint's
// EtherRoute line prefetched; a frame for the endpoint's handler goes from that line
// straight to it, and IPv4 UDP to an exact binding straight to its RUDPConn (the UDP
// fast path: its table slot and then its UdpRoute line prefetched a pass ahead each).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "ringstamp/engine/conn/datagram.h"
#include "ringstamp/engine/conn/l2_view.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/conn/ptr_table.h"
#include "ringstamp/engine/frame_handler.h"
#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/ipv4_udp.h"
#include "ringstamp/ring/ring_counters.h"
#include "ringstamp/timestamp/tx_stamp_tracker.h"

namespace ringstamp {

struct L2Packet;

class TxStampReceiver {
 public:
  virtual ~TxStampReceiver() = default;
  // On the worker thread that sent the frame.
  virtual void OnTxStamp(const TxStampReport& report) = 0;
};

// (VLAN stack, IP address): who answers ARP/NDP for an address.
struct IpOwnerKey {
  VlanStack vlans;
  IpAddress ip;
  friend bool operator==(const IpOwnerKey&, const IpOwnerKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const IpOwnerKey& k) {
    return H::combine(std::move(h), k.vlans.Hash(), k.ip.Hash());
  }
};

struct EtherRoute;

// (the owning EtherConn's route on this worker, local IP, UDP port) → the RUDPConn bound there.
// An unspecified IP (family none) binds every address of the conn; port 0 is accept-any. Three
// words, so that it fits a PtrTable slot: route, family and port in one, the address bytes in the
// other two. The owner is named by its EtherRoute's address, not its id, because that address is
// what the unicast table's slot holds: the worker computes a datagram's key, and prefetches its
// slot, as soon as the unicast slot has arrived, without waiting for the route's own line.
// Routes are 64-byte aligned (the family takes the low bits) and below 2^48 (UdpKeyCanName:
// user addresses on Linux are, unless a program maps above them on purpose), so the port fits
// below them.
struct UdpKey {
  uint64_t head = 0;  // (route address | family) << 16 | port
  uint64_t ip_lo = 0;
  uint64_t ip_hi = 0;

  constexpr UdpKey() = default;
  UdpKey(const EtherRoute* owner, const IpAddress& ip, uint16_t port)
      : head((reinterpret_cast<uintptr_t>(owner) | static_cast<uint64_t>(ip.family())) << 16 |
             port),
        ip_lo(ip.Words()[0]),
        ip_hi(ip.Words()[1]) {}
  // The key of an IPv4 address read from wire-order bytes at `ip4`: what the constructor makes
  // of IpAddress::Load4(ip4), without building the IpAddress (the relay keys every datagram).
  static UdpKey V4(const EtherRoute* owner, const std::byte* ip4, uint16_t port) {
    UdpKey k;
    k.head =
        (reinterpret_cast<uintptr_t>(owner) | static_cast<uint64_t>(IpFamily::kV4)) << 16 | port;
    // In a register (a memcpy into the zeroed word left narrow stores that the copy of the key
    // into the batch then read with a wide load the CPU cannot forward: a stall per frame).
    k.ip_lo = IpAddress::V4Word(ip4);
    return k;
  }
  friend constexpr bool operator==(const UdpKey&, const UdpKey&) = default;
};

// One multiply fold, as L2KeyHash: the route-and-port word by the address words.
struct UdpKeyHash {
  constexpr size_t operator()(const UdpKey& k) const {
    return L2KeyHash::Fold(k.head ^ 0x9e3779b97f4a7c15ULL,
                           k.ip_lo ^ L2KeyHash::Rotl(k.ip_hi, 29) ^ 0xc2b2ae3d27d4eb4fULL);
  }
};

// One RUDPConn's receive path on one worker, in one cache line: everything a datagram's
// delivery reads when the conn has a per-datagram handler. The worker's UDP table maps a
// binding to its route, so a batch prefetches this one line, not the conn and two arrays
// behind it. Owned by the RUDPConn (one per worker); only that worker reads or writes it.
struct alignas(64) UdpRoute {
  std::function<void(const Datagram&, RUDPConn&)> handler;  // per-datagram handler, or empty
  RUDPConn* conn = nullptr;
  RelaxedCounter received, filtered;
  bool connected = false;  // the conn takes only its peer's datagrams (check in the conn)
};
static_assert(sizeof(UdpRoute) == 64);

// One EtherConn's receive path on one worker. The first line is what a frame for the conn's
// handler reads (the handler, two counters, whether the conn takes IP), so the worker's unicast
// table maps a MAC to this line and a batch prefetches one line, not the conn object and two
// arrays behind it; the second holds the other receive counters. Its address names the conn in
// the worker's UDP table (UdpKey).
// Owned by the EtherConn (one per worker); only that worker writes it (Stats() reads the
// counters from any thread).
struct alignas(64) EtherRoute {
  std::function<void(const L2Packet&)> handler;  // frames the conn does not consume, or empty
  EtherConn* conn = nullptr;
  bool handles_ip = false;  // the conn has addresses: IPv4 and IPv6 go to its IP handling
  RelaxedCounter received, to_handler;
  RelaxedCounter arp_answered, ndp_answered, echo_answered, echo_replies, udp_no_port, malformed,
      not_ours, queue_dropped;

  // True when a frame of `ethertype` goes to the handler (or read queue) as it is: not ARP,
  // and not IP when the conn has addresses (EtherConn::OnFrame's default branch).
  bool TakesAsL2(uint16_t ethertype) const {
    return EveryConnTakesAsL2(ethertype) || TakesArpOrIpAsL2(ethertype);
  }
  // True when every conn takes a frame of `ethertype` as it is (neither ARP nor IP): the
  // worker decides such a frame without reading the route's line.
  static bool EveryConnTakesAsL2(uint16_t ethertype) {
    return ethertype != kEtherTypeArp && ethertype != kEtherTypeIpv4 && ethertype != kEtherTypeIpv6;
  }
  // TakesAsL2 for an `ethertype` that is ARP, IPv4 or IPv6 (EveryConnTakesAsL2 said no).
  bool TakesArpOrIpAsL2(uint16_t ethertype) const {
    return !handles_ip && ethertype != kEtherTypeArp;
  }
};
static_assert(sizeof(EtherRoute) == 128);

// Where ParseIpv4Udp writes into a Datagram: its payload and the IP/UDP fields of its meta.
inline Ipv4UdpFieldRefs UdpFieldsOf(Datagram& d) {
  return {d.meta.src,      d.meta.dst,      d.meta.ttl, d.meta.tos,
          d.meta.src_port, d.meta.dst_port, d.payload};
}

// True when the routes at [first, first + count) can be named by a UdpKey (below 2^48).
inline bool UdpKeyCanName(const EtherRoute* first, size_t count) {
  return ((reinterpret_cast<uintptr_t>(first) + count * sizeof(EtherRoute)) >> 48) == 0;
}

struct RelayTables {
  PtrTable<L2Key, L2KeyHash, EtherRoute> unicast;  // a MAC's owner: its route on this worker
  absl::flat_hash_map<L2Key, std::vector<EtherConn*>, L2KeyHash>
      group;  // broadcast and multicast MACs
  absl::flat_hash_map<IpOwnerKey, EtherConn*> ip_owner;
  PtrTable<UdpKey, UdpKeyHash, UdpRoute> udp;
  absl::flat_hash_map<uint32_t, TxStampReceiver*> stamp_receivers;
  absl::flat_hash_map<uint32_t, EtherConn*> ethers;  // every registered EtherConn, by id
  EtherConn* default_conn = nullptr;
};

// The relay worker running on the calling thread (any relay), or nullptr.
RelayWorker* CurrentRelayWorker();

class RelayWorker : public FrameHandler {
 public:
  RelayWorker(PacketRelay* relay, int index);

  void OnStart(Worker& worker) override;
  void OnFrame(Worker& worker, const Frame& frame) override;
  void OnFrames(Worker& worker, std::span<const Frame> frames) override;
  PollResult OnPoll(Worker& worker) override;
  void OnErrorQueue(Worker& worker) override;
  void OnStop(Worker& worker) override;

  int index() const { return index_; }
  RelayTables& tables() { return tables_; }
  PacketRelay& relay() { return *relay_; }
  Worker* worker() { return worker_.load(std::memory_order_acquire); }
  // The interface this worker receives on (0 before OnStart).
  int ifindex() const { return ifindex_; }

  // Worker thread: build a frame in place in the TX ring. False when dropped.
  bool SendInPlace(absl::FunctionRef<size_t(std::span<std::byte>)> build, uint32_t conn_id,
                   const TxOptions& tx);
  bool SendCopy(std::span<const std::byte> frame, uint32_t conn_id, const TxOptions& tx);

  // Worker thread, during a batch (RUDPConn::Deliver): hold `d` for `conn`'s batch handler, and
  // wake `conn`'s blocked reader, both when the batch's frames are dispatched (FinishBatch).
  void QueueForBatchHandler(RUDPConn* conn, const Datagram& d);
  void WakeReadersLater(RUDPConn* conn);

  // Worker thread: the datagram `d` of `frame` to the RUDPConn route `to` (found by the UDP
  // fast path or by EtherConn::DispatchUdp). `d`'s payload and IP/UDP fields are filled; this
  // fills the rest of its meta from `l2` and `frame`.
  void DeliverUdp(UdpRoute* to, const L2View& l2, const Frame& frame, Datagram& d);
  // Worker thread: where an owner's general path parses the datagram it hands to DeliverUdp
  // (one at a time: nothing holds it past the handler call; its fields are whatever the last
  // datagram left until the parse and DeliverUdp write them).
  Datagram& ScratchDatagram() { return scratch_datagram_; }

  // Worker thread (PacketRelay::AddTimer / CancelTimer post them here): a timer `fn` that runs
  // in this worker's poll when due, the first time at once; it returns the monotonic time to
  // run next, 0 to end. RemoveTimer from inside a timer's own run ends it when that run returns.
  // WakeTimer makes a timer due at `now_mono_ns` when it was due later (it runs at this
  // worker's next poll, once however often it is woken before); an unknown id is ignored.
  void AddTimer(uint64_t id, std::function<int64_t(int64_t now_mono_ns)> fn);
  void RemoveTimer(uint64_t id);
  void WakeTimer(uint64_t id, int64_t now_mono_ns);

  // Any thread: queue a frame for this worker's TX ring. False: queue full.
  bool Enqueue(std::span<const std::byte> frame, uint32_t conn_id, const TxOptions& tx);

  // Any thread: run `fn` on this worker's thread between batches. When the worker is not
  // running (not started yet, or stopped), `fn` runs here at once, under the same lock the
  // worker takes to start, so it never races a starting or stopping worker. Returns the
  // change's ticket, 0 when it already ran.
  uint64_t Post(std::function<void(RelayWorker&)> fn);
  // Waits until the change `ticket` ran (or the worker stopped: a stopping worker runs
  // everything still queued). False when `timeout` passed first.
  bool WaitApplied(uint64_t ticket, std::chrono::milliseconds timeout);
  // Takes the change `ticket` back if the worker has not started it (true); if it has, waits
  // until it ran (false). Either way it does not run after this returns.
  bool Withdraw(uint64_t ticket);

  // Counters (worker thread writes, any thread reads).
  struct Counters {
    RelaxedCounter frames, delivered, no_owner, malformed, broadcast, multicast, tx_frames,
        tx_ring_full, tx_stamps, tx_stamps_missed, tx_stamp_resyncs;
    std::atomic<uint64_t> tx_queue_full{0};
  };
  const Counters& counters() const { return counters_; }
  bool running() const { return running_.load(std::memory_order_acquire); }

 private:
  void RunPosted();
  void DrainTxQueue();
  void AfterCommit(uint32_t conn_id, const TxOptions& tx);
  void DrainStamps();
  void Deliver(EtherConn* conn, const L2View& l2, const Frame& frame);
  // Everything after the unicast probe: the owner found there, else broadcast,
  // multicast, the default endpoint, or counted as having none.
  void Dispatch(const L2View& l2, const Frame& frame, EtherRoute* unicast_owner);
  // The timers due at `now` (OnPoll), then next_timer_ns_ from what they asked for.
  void RunTimers(int64_t now);
  void PushTimer(int64_t due_ns, uint64_t id);
  // The end of a batch, while its frames are still valid: every held datagram to its conn's
  // batch handler (one call per conn, in arrival order), then one wake per conn with a reader.
  void FinishBatch();

  PacketRelay* relay_;
  int index_;
  std::atomic<Worker*> worker_{nullptr};  // set in OnStart; read by Post/Enqueue callers
  int ifindex_ = 0;                       // set in OnStart, read on the worker thread
  RelayTables tables_;
  std::atomic<bool> running_{false};

  // Posted control functions. The state says whether changes queue (the worker runs them)
  // or run inline under post_mu_ (nobody else touches the tables).
  enum class PostState : uint8_t { kIdle, kRunning, kStopping, kStopped };
  struct PostedChange {
    uint64_t ticket;
    std::function<void(RelayWorker&)> fn;
  };
  std::mutex post_mu_;
  std::condition_variable post_cv_;
  std::vector<PostedChange> posted_;  // guarded by post_mu_
  std::atomic<bool> has_posted_{false};
  PostState post_state_ = PostState::kIdle;  // guarded by post_mu_
  uint64_t posted_seq_ = 0;                  // guarded by post_mu_
  uint64_t applied_seq_ = 0;  // guarded by post_mu_: every ticket <= ran or was withdrawn

  // Frames from other threads: a bounded ring of fixed slots, allocated on first use.
  struct QueuedFrame {
    uint32_t len = 0;
    uint32_t conn_id = 0;
    TxOptions tx;
  };
  static constexpr uint32_t kSlotBytes = 9232;
  std::mutex txq_mu_;
  std::vector<QueuedFrame> txq_meta_;
  std::vector<std::byte> txq_data_;
  uint32_t txq_head_ = 0, txq_count_ = 0, txq_capacity_ = 0;
  std::atomic<bool> txq_nonempty_{false};

  // Timers (PacketRelay::AddTimer), worker thread only: the functions by id with the time each
  // is due, and a min-heap of (due time, id). A heap entry whose id is no longer in the map
  // (cancelled), or whose time is not the timer's due time any more (woken earlier, or already
  // run), is dropped when it comes up; when such entries outnumber the timers the heap is
  // rebuilt from the map. A fleet of probe clients puts up to a thousand here; OnPoll compares
  // one time otherwise.
  struct TimerDue {
    int64_t due_ns;
    uint64_t id;
  };
  struct Timer {
    std::function<int64_t(int64_t)> fn;
    int64_t due_ns = 0;  // -1 while it runs
  };
  // std::push_heap / pop_heap order: the earliest due time on top.
  static bool DueLater(const TimerDue& a, const TimerDue& b) { return a.due_ns > b.due_ns; }
  absl::flat_hash_map<uint64_t, Timer> timers_;
  std::vector<TimerDue> timer_heap_;
  std::vector<TimerDue> timers_due_;  // RunTimers' scratch
  int64_t next_timer_ns_ = -1;        // the heap's earliest due time; -1: empty

  // TX stamps.
  std::optional<TxStampTracker> tracker_;
  struct StampMeta {
    uint32_t conn_id = 0;
    uint64_t tag = 0;
  };
  std::vector<StampMeta> stamp_meta_;
  TxWants tx_wants_ = 0;
  int64_t next_expire_ns_ = 0;
  int64_t next_busy_drain_ns_ = 0;  // the next error-queue read for TX stamps while busy
  bool frames_since_poll_ = false;  // OnFrames ran since the last OnPoll

  Counters counters_;
  // OnFrames' parsed headers: a member so that a batch does not construct (zero)
  // 32 views; ParseL2 writes every field it is read for.
  std::array<L2View, kFrameBatch> batch_l2_;
  // The UDP fast path's datagrams, parsed in place (written before they are read, as
  // batch_l2_): the parse writes the IP/UDP fields, DeliverUdp the rest of the meta.
  std::array<Datagram, kFrameBatch> batch_datagram_;
  // The owners' general path parses a datagram here (EtherConn::HandleIpv4 / HandleIpv6), not
  // into a local: a fresh Datagram is ~200 bytes zeroed first (`rep stosq`) for every frame.
  Datagram scratch_datagram_;
  std::array<UdpKey, kFrameBatch> batch_udp_key_;
  // Datagrams held for batch handlers and conns whose readers to wake, over one batch. Full
  // (a multicast frame delivered to many conns) hands over early: the frames are still valid.
  std::array<Datagram, kFrameBatch> held_;
  std::array<RUDPConn*, kFrameBatch> held_conn_;
  size_t held_count_ = 0;
  std::array<RUDPConn*, kFrameBatch> wake_;
  size_t wake_count_ = 0;
};

}  // namespace ringstamp
