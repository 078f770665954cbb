#include "ringstamp/engine/conn/relay_worker.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "ringstamp/common/clock.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/rudp_conn.h"
#include "ringstamp/engine/engine.h"
#include "ringstamp/engine/proto/arp.h"
#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/proto/ipv4_udp.h"
#include "ringstamp/engine/worker.h"
#include "ringstamp/timestamp/so_timestamping.h"

namespace ringstamp {
namespace {
thread_local RelayWorker* tls_current_worker = nullptr;
constexpr int64_t kTickNs = 100'000'000;
// A worker kept busy by frames reads the error queue (a system call) for TX stamps at most this
// often while sends wait for theirs; io_uring completions are looked at on every poll.
constexpr int64_t kBusyStampDrainNs = 20'000;
}  // namespace

RelayWorker* CurrentRelayWorker() { return tls_current_worker; }

RelayWorker::RelayWorker(PacketRelay* relay, int index) : relay_(relay), index_(index) {}

void RelayWorker::OnStart(Worker& worker) {
  worker_.store(&worker, std::memory_order_release);
  tls_current_worker = this;
  ifindex_ = worker.rx_socket() != nullptr ? worker.rx_socket()->ifindex() : 0;
  const RelayOptions& o = relay_->options();
  if (o.tx_stamps && worker.tx() != nullptr && worker.tx_fd() >= 0) {
    TsFlags flags = kTsTxSoftware | kTsSoftware | kTsOptId | kTsOptTsonly;
    tx_wants_ = kWantSoftware;
    if (o.tx_hardware_stamps) {
      flags |= kTsTxHardware | kTsRawHardware | kTsOptTxSwhw;
      tx_wants_ |= kWantHardware;
    }
    if (EnableSocketTimestamping(worker.tx_fd(), flags, worker.ifname()).ok() &&
        worker.OpenTxStamps().ok()) {
      tracker_.emplace(
          TxStampTracker::Options{.capacity = 1u << 16, .timeout_ns = o.tx_stamp_timeout_ns});
      stamp_meta_.resize(tracker_->capacity());
    }
  }
  {
    std::lock_guard<std::mutex> l(post_mu_);
    post_state_ = PostState::kRunning;
    running_.store(true, std::memory_order_release);
  }
  RunPosted();
}

void RelayWorker::OnStop(Worker&) {
  {
    std::lock_guard<std::mutex> l(post_mu_);
    post_state_ = PostState::kStopping;  // changes still queue: the drains below read tables
    running_.store(false, std::memory_order_release);
  }
  RunPosted();
  DrainTxQueue();
  if (tracker_) DrainStamps();
  {
    // What arrived during the drains runs here, under the lock, so nothing is queued
    // once the state says changes run inline.
    std::lock_guard<std::mutex> l(post_mu_);
    for (PostedChange& c : posted_) c.fn(*this);
    posted_.clear();
    has_posted_.store(false, std::memory_order_relaxed);
    post_state_ = PostState::kStopped;
    applied_seq_ = posted_seq_;
  }
  post_cv_.notify_all();
  tls_current_worker = nullptr;
}

uint64_t RelayWorker::Post(std::function<void(RelayWorker&)> fn) {
  uint64_t ticket;
  {
    std::lock_guard<std::mutex> l(post_mu_);
    if (post_state_ == PostState::kIdle || post_state_ == PostState::kStopped) {
      // Not running: nobody else touches the tables, and a worker that starts now waits
      // for this lock before it reads them.
      fn(*this);
      return 0;
    }
    ticket = ++posted_seq_;
    posted_.push_back({ticket, std::move(fn)});
    has_posted_.store(true, std::memory_order_release);
  }
  if (Worker* w = worker()) w->Wake();
  return ticket;
}

bool RelayWorker::WaitApplied(uint64_t ticket, std::chrono::milliseconds timeout) {
  if (ticket == 0) return true;
  std::unique_lock<std::mutex> l(post_mu_);
  return post_cv_.wait_for(l, timeout, [&] { return applied_seq_ >= ticket; });
}

bool RelayWorker::Withdraw(uint64_t ticket) {
  std::unique_lock<std::mutex> l(post_mu_);
  if (std::erase_if(posted_, [&](const PostedChange& c) { return c.ticket == ticket; }) > 0) {
    if (posted_.empty()) has_posted_.store(false, std::memory_order_relaxed);
    return true;
  }
  // The worker took it already and is running it now (table edits: short): wait for it.
  post_cv_.wait(l, [&] { return applied_seq_ >= ticket; });
  return false;
}

void RelayWorker::RunPosted() {
  std::vector<PostedChange> todo;
  {
    std::lock_guard<std::mutex> l(post_mu_);
    todo.swap(posted_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  if (todo.empty()) return;
  for (auto& c : todo) c.fn(*this);
  {
    std::lock_guard<std::mutex> l(post_mu_);
    // Tickets are taken in order; any withdrawn in between are below this one too.
    applied_seq_ = std::max(applied_seq_, todo.back().ticket);
  }
  post_cv_.notify_all();
}

void RelayWorker::Deliver(EtherConn* conn, const L2View& l2, const Frame& frame) {
  counters_.delivered.Add();
  conn->OnFrame(*this, l2, frame);
}

void RelayWorker::OnFrame(Worker&, const Frame& frame) {
  frames_since_poll_ = true;
  counters_.frames.Add();
  // The batch's first view, not a local: a fresh L2View is zeroed first (`rep stosq`, tens of
  // cycles per frame). Nothing else holds it here: OnFrames is not running.
  L2View& l2 = batch_l2_[0];
  if (ParseL2(frame, &l2) != ParseError::kNone) {
    counters_.malformed.Add();
    return;
  }
  Dispatch(l2, frame, tables_.unicast.Find(l2.key));
  FinishBatch();
}

// Four passes over the batch, so that the memory of one frame's lookup is
// fetched while the others are worked on: (1) parse every Ethernet header and
// prefetch its unicast slot; (2) probe the unicast table and prefetch the
// owner's route (EtherRoute: its handler and counters for this worker, one
// line) and, for IPv4 that looks like UDP with a 20-byte header, the UDP
// table's slot for (owner's route, destination address, port), read straight
// from the frame: the route's address is the unicast slot's value, so the two
// fetches overlap; a frame neither ARP nor IP goes to the owner's handler
// whatever the route holds, so it is decided here and its route line has until
// the delivery pass to arrive; (3) decide what the others take, from the route
// line, and for a datagram parse its headers (checked in full) and probe the
// UDP slot, prefetching the RUDPConn's route found there (UdpRoute, one line)
// or the EtherConn object for the general path; (4) deliver, in arrival order. At
// 100,000 endpoints the tables and the endpoints are out of cache, and one
// frame at a time would wait for each miss in turn.
// A frame the owner does not consume (not ARP, not IP to a conn with
// addresses) goes from the route to the owner's handler without reading the
// EtherConn object. A datagram with an exact binding skips the owner's
// EtherType switch and IP handling: a conn bound to the address means the
// address is the owner's (RUDPConn::Create checks, and an EtherConn's addresses
// do not change). One parsed without an exact binding goes to the owner's
// binding lookup (wildcards) for one of its addresses, not parsed again.
// Everything else (a bad checksum, IP options, a fragment, not the owner's
// address) takes the owner's general path, which counts and reports what it
// finds.
void RelayWorker::OnFrames(Worker&, std::span<const Frame> frames) {
  frames_since_poll_ = true;
  const size_t n = std::min(frames.size(), kFrameBatch);
  std::array<L2View, kFrameBatch>& l2 = batch_l2_;
  std::array<Datagram, kFrameBatch>& dg = batch_datagram_;
  std::array<UdpKey, kFrameBatch>& udp_key = batch_udp_key_;
  // What the delivery pass does with each frame, decided by the passes before it.
  enum Action : uint8_t {
    kMalformed,  // ParseL2 refused it
    kNoOwner,    // no unicast owner: broadcast, multicast, the default endpoint
    kToHandler,  // to the owner's handler as it is (EtherRoute::TakesAsL2)
    kUdpRoute,   // IPv4 UDP to an exact binding: to[i]
    kUdpParsed,  // IPv4 UDP parsed into dg[i], no exact binding
    kGeneral,    // the owner's general path (EtherConn::OnFrame); from here on: not decided
    kUdpKeyed,   // (between the passes) its UDP key is in udp_key[i], its slot prefetched
  };
  Action action[kFrameBatch];
  size_t hash[kFrameBatch];
  EtherRoute* owner[kFrameBatch];
  UdpRoute* to[kFrameBatch];
  for (size_t i = 0; i < n; ++i) {
    if (ParseL2(frames[i], &l2[i]) != ParseError::kNone) {
      action[i] = kMalformed;
      continue;
    }
    action[i] = kNoOwner;
    hash[i] = tables_.unicast.HashOf(l2[i].key);
    tables_.unicast.Prefetch(hash[i]);
  }
  // The UDP fast path's candidates: IPv4 frames to an owner that look like UDP with a 20-byte
  // header. Their UDP key is read straight from the frame here (the owner's route address is
  // the unicast slot's value), so that its slot is fetched while the owner's route line is.
  const bool any_udp = !tables_.udp.empty();
  size_t undecided = 0;  // frames the next pass classifies: none in a batch of L2 frames
  for (size_t i = 0; i < n; ++i) {
    if (action[i] != kNoOwner) continue;
    owner[i] = tables_.unicast.Find(l2[i].key, hash[i]);
    if (owner[i] == nullptr) continue;
    __builtin_prefetch(owner[i]);
    if (l2[i].ethertype != kEtherTypeIpv4 && EtherRoute::EveryConnTakesAsL2(l2[i].ethertype)) {
      // Neither ARP nor IP: decided without the route, whose line has until the delivery pass.
      action[i] = kToHandler;
      continue;
    }
    action[i] = kGeneral;
    ++undecided;
    if (l2[i].ethertype != kEtherTypeIpv4 || !any_udp) continue;
    // Its destination, where ParseIpv4Udp reads it; the shaped parse checks the rest in the next
    // pass (kUdpKeyed: the shape is checked).
    const std::span<const std::byte> ip = l2[i].payload;
    if (!HasIpv4UdpShape(ip)) continue;
    udp_key[i] = UdpKey::V4(owner[i], ip.data() + kIpv4UdpDstOffset,
                            LoadBe16(ip.data() + kIpv4UdpDstPortOffset));
    hash[i] = tables_.udp.HashOf(udp_key[i]);
    tables_.udp.Prefetch(hash[i]);
    action[i] = kUdpKeyed;
  }
  // What the owner does with it: its handler, the UDP fast path when the datagram parses (its
  // key was read from the same bytes), else its general path.
  for (size_t i = 0; undecided > 0 && i < n; ++i) {
    if (action[i] < kGeneral) continue;  // kGeneral or kUdpKeyed go on: ARP or IP
    if (owner[i]->TakesArpOrIpAsL2(l2[i].ethertype)) {
      action[i] = kToHandler;
      continue;
    }
    if (action[i] != kUdpKeyed ||
        !ParseIpv4UdpShaped(l2[i].payload, ChecksumCheckFor(frames[i]), UdpFieldsOf(dg[i]))) {
      action[i] = kGeneral;
      __builtin_prefetch(owner[i]->conn);  // the general path reads the EtherConn
      continue;
    }
    to[i] = tables_.udp.Find(udp_key[i], hash[i]);
    if (to[i] != nullptr) {
      __builtin_prefetch(to[i]);
      action[i] = kUdpRoute;
    } else {
      __builtin_prefetch(owner[i]->conn);
      action[i] = kUdpParsed;
    }
  }
  uint64_t malformed = 0;
  uint64_t unowned = 0;
  for (size_t i = 0; i < n; ++i) {
    switch (action[i]) {
      case kMalformed:
        ++malformed;
        break;
      case kNoOwner:
        ++unowned;
        Dispatch(l2[i], frames[i], nullptr);
        break;
      case kToHandler:
        owner[i]->received.Add();
        owner[i]->conn->ToUser(*this, *owner[i], l2[i], frames[i]);
        break;
      case kUdpRoute:
        owner[i]->received.Add();
        DeliverUdp(to[i], l2[i], frames[i], dg[i]);
        break;
      case kUdpParsed:
        // Parsed already, no exact binding: the owner's binding lookup (wildcards, then the
        // L2 handler) for one of its addresses, without parsing and verifying it again.
        if (owner[i]->conn->HasAddress(dg[i].meta.dst)) {
          owner[i]->received.Add();
          owner[i]->conn->DispatchUdp(*this, l2[i], frames[i], dg[i]);
        } else {
          owner[i]->conn->OnFrame(*this, l2[i], frames[i]);
        }
        break;
      case kGeneral:
      case kUdpKeyed:  // not left after the classifying pass
        owner[i]->conn->OnFrame(*this, l2[i], frames[i]);
        break;
    }
  }
  counters_.frames.Add(n);
  if (const uint64_t delivered = n - malformed - unowned; delivered > 0)
    counters_.delivered.Add(delivered);
  if (malformed) counters_.malformed.Add(malformed);
  FinishBatch();
  if (frames.size() > n) OnFrames(*worker(), frames.subspan(n));
}

void RelayWorker::DeliverUdp(UdpRoute* to, const L2View& l2, const Frame& frame, Datagram& d) {
  d.meta.ifindex = ifindex_;
  d.meta.src_mac = l2.src;
  d.meta.vlans = l2.vlans;
  d.meta.stamps = frame.stamps;
  d.meta.worker = index_;
  to->conn->Deliver(*this, *to, d);
}

void RelayWorker::QueueForBatchHandler(RUDPConn* conn, const Datagram& d) {
  if (held_count_ == held_.size()) FinishBatch();
  held_[held_count_] = d;
  held_conn_[held_count_] = conn;
  ++held_count_;
}

void RelayWorker::WakeReadersLater(RUDPConn* conn) {
  if (wake_count_ == wake_.size()) FinishBatch();
  wake_[wake_count_++] = conn;
}

void RelayWorker::FinishBatch() {
  const size_t n = held_count_;
  if (n > 0) {
    // Group by conn, keeping each conn's arrival order: an insertion sort, which costs one
    // comparison per datagram in the common case (the batch is for one conn, or in runs).
    const auto after = [](const RUDPConn* a, const RUDPConn* b) {
      return reinterpret_cast<uintptr_t>(a) > reinterpret_cast<uintptr_t>(b);
    };
    for (size_t i = 1; i < n; ++i) {
      if (!after(held_conn_[i - 1], held_conn_[i])) continue;
      RUDPConn* c = held_conn_[i];
      Datagram d = held_[i];
      size_t j = i;
      for (; j > 0 && after(held_conn_[j - 1], c); --j) {
        held_conn_[j] = held_conn_[j - 1];
        held_[j] = held_[j - 1];
      }
      held_conn_[j] = c;
      held_[j] = d;
    }
    // A handler's replies go to the TX ring, never back into this worker's dispatch: nothing
    // is held while the handlers run.
    for (size_t i = 0; i < n;) {
      size_t end = i + 1;
      while (end < n && held_conn_[end] == held_conn_[i]) ++end;
      held_conn_[i]->DeliverBatch(*this, std::span<const Datagram>(&held_[i], end - i));
      i = end;
    }
    held_count_ = 0;
  }
  for (size_t i = 0; i < wake_count_; ++i) wake_[i]->WakeReaders();
  wake_count_ = 0;
}

void RelayWorker::Dispatch(const L2View& l2, const Frame& frame, EtherRoute* unicast_owner) {
  if (unicast_owner != nullptr) {
    Deliver(unicast_owner->conn, l2, frame);
    return;
  }
  if (l2.dst.IsMulticast()) {
    bool delivered = false;
    if (l2.dst.IsBroadcast()) {
      counters_.broadcast.Add();
      if (l2.ethertype == kEtherTypeArp) {
        // ARP requests go to the owner of the address asked for, not to everyone.
        auto arp = ParseArp(l2.payload);
        if (arp) {
          auto owner =
              tables_.ip_owner.find(IpOwnerKey{l2.vlans.WithoutPriority(), arp->target_ip});
          if (owner != tables_.ip_owner.end()) {
            Deliver(owner->second, l2, frame);
            return;
          }
        }
      }
    } else {
      counters_.multicast.Add();
    }
    if (auto g = tables_.group.find(l2.key); g != tables_.group.end()) {
      for (EtherConn* c : g->second) {
        Deliver(c, l2, frame);
        delivered = true;
      }
    }
    if (delivered) return;
  }
  if (tables_.default_conn != nullptr) {
    Deliver(tables_.default_conn, l2, frame);
    return;
  }
  counters_.no_owner.Add();
}

PollResult RelayWorker::OnPoll(Worker&) {
  PollResult r;
  if (has_posted_.load(std::memory_order_acquire)) {
    RunPosted();
    r.busy = true;
  }
  if (txq_nonempty_.load(std::memory_order_acquire)) {
    DrainTxQueue();
    r.busy = true;
  }
  const int64_t now = MonotonicNs();
  if (next_timer_ns_ >= 0 && now >= next_timer_ns_) RunTimers(now);
  if (tracker_ && tracker_->pending() > 0) {
    // Stamps while frames keep the worker from sleeping (its wait is what reports them
    // otherwise): without this, a worker that never sleeps (a probe sent back to back, a relay
    // under load) read them only at its tick, 100 ms on, after the results that wait for them
    // had given up on them. The error queue only after frames came: an idle worker's wait (or
    // its busy-poll spin) looks at it, and a system call in every idle spin would delay the
    // next frame's poll by as much.
    const TxStampSource& source = *worker()->tx_stamps();
    if (source.transport() == TxTransport::kIoUring
            ? source.MayHaveStamps()
            : frames_since_poll_ && now >= next_busy_drain_ns_) {
      DrainStamps();
      next_busy_drain_ns_ = now + kBusyStampDrainNs;
    }
  }
  frames_since_poll_ = false;
  if (now >= next_expire_ns_) {
    next_expire_ns_ = now + kTickNs;
    if (tracker_) DrainStamps();
    if (index_ == 0) {
      for (auto& [id, conn] : tables_.ethers) conn->Tick(*this, now);
    }
  }
  r.wake_at_ns = next_expire_ns_;
  if (next_timer_ns_ >= 0 && next_timer_ns_ < r.wake_at_ns) r.wake_at_ns = next_timer_ns_;
  if (tracker_) {
    // A TX stamp that will not come (a NIC that drops hardware stamps) is reported,
    // with what did come, when its own timeout passes, not at the next tick.
    if (auto due = tracker_->NextDeadline()) {
      if (now >= *due) {
        DrainStamps();
        due = tracker_->NextDeadline();
      }
      if (due && *due < r.wake_at_ns) r.wake_at_ns = *due;
    }
  }
  return r;
}

void RelayWorker::PushTimer(int64_t due_ns, uint64_t id) {
  timers_[id].due_ns = due_ns;
  timer_heap_.push_back({due_ns, id});
  std::push_heap(timer_heap_.begin(), timer_heap_.end(), DueLater);
  if (timer_heap_.size() > 2 * timers_.size() + 64) {
    // Mostly entries of timers woken early (a probe sent on each reply leaves one per probe):
    // one entry per timer again.
    timer_heap_.clear();
    for (const auto& [tid, t] : timers_) {
      if (t.due_ns >= 0) timer_heap_.push_back({t.due_ns, tid});
    }
    std::make_heap(timer_heap_.begin(), timer_heap_.end(), DueLater);
  }
  next_timer_ns_ = timer_heap_.front().due_ns;
}

void RelayWorker::AddTimer(uint64_t id, std::function<int64_t(int64_t)> fn) {
  timers_[id].fn = std::move(fn);
  PushTimer(0, id);  // at once
}

void RelayWorker::RemoveTimer(uint64_t id) {
  // Its heap entry stays until it comes up; inside its own run the function is out of the map
  // and is not put back.
  timers_.erase(id);
  if (timers_.empty()) {
    timer_heap_.clear();
    next_timer_ns_ = -1;
  }
}

void RelayWorker::WakeTimer(uint64_t id, int64_t now_mono_ns) {
  auto it = timers_.find(id);
  // Running (-1: it returns its next time itself) or due by now already: nothing to do.
  if (it == timers_.end() || it->second.due_ns <= now_mono_ns) return;
  PushTimer(now_mono_ns, id);
}

void RelayWorker::RunTimers(int64_t now) {
  // The ones due now, taken off first: a timer that asks for a time already past runs again
  // at the next poll, not in this loop.
  timers_due_.clear();
  while (!timer_heap_.empty() && timer_heap_.front().due_ns <= now) {
    std::pop_heap(timer_heap_.begin(), timer_heap_.end(), DueLater);
    timers_due_.push_back(timer_heap_.back());
    timer_heap_.pop_back();
  }
  for (const TimerDue& d : timers_due_) {
    auto it = timers_.find(d.id);
    // Cancelled, or an entry the timer has left (woken earlier; run already).
    if (it == timers_.end() || it->second.due_ns != d.due_ns) continue;
    // Moved out while it runs: it may add timers (the map may grow) or cancel itself.
    std::function<int64_t(int64_t)> fn = std::move(it->second.fn);
    it->second.due_ns = -1;
    const int64_t next = fn(now);
    it = timers_.find(d.id);
    if (it == timers_.end()) continue;  // cancelled from inside
    if (next <= 0) {
      timers_.erase(it);
      continue;
    }
    it->second.fn = std::move(fn);
    PushTimer(next, d.id);
  }
  if (timers_.empty()) timer_heap_.clear();
  next_timer_ns_ = timer_heap_.empty() ? -1 : timer_heap_.front().due_ns;
}

void RelayWorker::OnErrorQueue(Worker&) {
  if (tracker_) DrainStamps();
}

bool RelayWorker::SendInPlace(absl::FunctionRef<size_t(std::span<std::byte>)> build,
                              uint32_t conn_id, const TxOptions& tx) {
  TxPort* ring = worker_ != nullptr ? worker()->tx() : nullptr;
  if (ring == nullptr) return false;
  std::span<std::byte> slot = ring->Reserve();
  if (slot.empty()) {
    (void)ring->Flush();
    ring->WaitWritable(1);
    slot = ring->Reserve();
    if (slot.empty()) {
      counters_.tx_ring_full.Add();
      return false;
    }
  }
  const size_t len = build(slot);
  if (len == 0 || ring->Commit(static_cast<uint32_t>(len)) != TxResult::kOk) return false;
  AfterCommit(conn_id, tx);
  if (tx.kick_now) (void)ring->Flush();
  return true;
}

bool RelayWorker::SendCopy(std::span<const std::byte> frame, uint32_t conn_id,
                           const TxOptions& tx) {
  return SendInPlace(
      [&](std::span<std::byte> slot) -> size_t {
        if (frame.size() > slot.size()) return 0;
        std::memcpy(slot.data(), frame.data(), frame.size());
        return frame.size();
      },
      conn_id, tx);
}

void RelayWorker::AfterCommit(uint32_t conn_id, const TxOptions& tx) {
  counters_.tx_frames.Add();
  if (!tracker_) return;
  // Every frame on this socket takes an OPT_ID key, asked for or not.
  // The kick count tells the tracker which frames went to the kernel together
  // (its check for keys the kernel took or skipped without our knowing).
  TxPort* port = worker()->tx();
  const uint64_t kick = port->ring() != nullptr ? port->ring()->counters().kicks.Get() : 0;
  const uint32_t key =
      tracker_->OnSend(tx.want_stamp ? tx_wants_ : 0, RealtimeNs(), MonotonicNs(), tx.tag, kick);
  stamp_meta_[key & (stamp_meta_.size() - 1)] = {conn_id, tx.tag};
}

bool RelayWorker::Enqueue(std::span<const std::byte> frame, uint32_t conn_id, const TxOptions& tx) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> l(txq_mu_);
    if (txq_capacity_ == 0) {
      txq_capacity_ = std::max<uint32_t>(16, relay_->options().tx_queue_frames);
      txq_meta_.resize(txq_capacity_);
      txq_data_.resize(static_cast<size_t>(txq_capacity_) * kSlotBytes);
    }
    if (frame.size() > kSlotBytes || txq_count_ == txq_capacity_) {
      counters_.tx_queue_full.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    const uint32_t slot = (txq_head_ + txq_count_) % txq_capacity_;
    txq_meta_[slot] = {static_cast<uint32_t>(frame.size()), conn_id, tx};
    std::memcpy(txq_data_.data() + static_cast<size_t>(slot) * kSlotBytes, frame.data(),
                frame.size());
    was_empty = txq_count_ == 0;
    ++txq_count_;
    txq_nonempty_.store(true, std::memory_order_release);
  }
  // One wake-up per burst, not per frame (an eventfd write is a system call): a frame that
  // finds others queued is drained with them, since the worker empties the queue under
  // this lock and does not sleep while anything is left (OnPoll reports busy).
  if (was_empty && worker_ != nullptr && relay_->options().engine.wait_mode == WaitMode::kIoUring)
    worker()->Wake();
  return true;
}

void RelayWorker::DrainTxQueue() {
  std::lock_guard<std::mutex> l(txq_mu_);
  while (txq_count_ > 0) {
    const QueuedFrame& q = txq_meta_[txq_head_];
    std::span<const std::byte> frame(txq_data_.data() + static_cast<size_t>(txq_head_) * kSlotBytes,
                                     q.len);
    if (!SendCopy(frame, q.conn_id, q.tx)) {
      if (worker_ == nullptr || worker()->tx() == nullptr) break;
      // Ring full: keep the rest for the next poll.
      if (worker()->tx()->Reserve().empty()) break;
    }
    txq_head_ = (txq_head_ + 1) % txq_capacity_;
    --txq_count_;
  }
  txq_nonempty_.store(txq_count_ > 0, std::memory_order_release);
}

void RelayWorker::DrainStamps() {
  const uint32_t mask = static_cast<uint32_t>(stamp_meta_.size() - 1);
  auto report = [&](const TxCompletion& c) {
    const StampMeta& m = stamp_meta_[c.key & mask];
    auto it = tables_.stamp_receivers.find(m.conn_id);
    if (c.timed_out()) counters_.tx_stamps_missed.Add();
    if (it == tables_.stamp_receivers.end()) return;
    counters_.tx_stamps.Add();
    TxStampReport r{m.tag, c.stamps, c.timed_out()};
    // A raw hardware stamp is on the NIC's clock: put it on the system clock
    // (hardware_system_ns) with the mapping of its time; without a mapping it
    // stays raw, and Timestamps::BestSystem() will not offer it.
    if (const PhcClockMap* map = worker()->phc_map()) map->MapInto(r.stamps);
    it->second->OnTxStamp(r);
  };
  TxCompletion done;
  worker()->tx_stamps()->Drain([&](const TxStampEvent& ev) {
    if (tracker_->OnStamp(ev, &done) == TxMatch::kCompleted) report(done);
  });
  tracker_->Expire(MonotonicNs(), report);
  const uint64_t resyncs = tracker_->stats().resyncs;
  if (resyncs > counters_.tx_stamp_resyncs.Get())
    counters_.tx_stamp_resyncs.Add(resyncs - counters_.tx_stamp_resyncs.Get());
  if (worker_ != nullptr)
    worker()->SetTxStampCounts(tracker_->pending(), tracker_->stats().expired);
}

}  // namespace ringstamp
