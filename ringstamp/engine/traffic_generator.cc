#include "ringstamp/engine/traffic_generator.h"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "ringstamp/common/clock.h"
#include "ringstamp/engine/engine.h"
#include "ringstamp/engine/worker.h"
#include "ringstamp/timestamp/so_timestamping.h"

namespace ringstamp {

namespace {

// DrainStamps: at most this many 256-message reads per call (one 8192-slot ring lap).
constexpr uint32_t kMaxDrainRounds = 32;

// Error-queue bytes budgeted per TX stamp: its skb's truesize (~830 bytes here) twice over.
constexpr uint64_t kStampQueueBytes = 2048;

// Raises the socket's receive buffer (its error queue's limit) to at least `bytes`:
// SO_RCVBUFFORCE when privileged, else SO_RCVBUF up to net.core.rmem_max. A refusal
// leaves the default; stamps that do not fit are then counted as missed.
void EnsureReceiveBuffer(int fd, uint64_t bytes) {
  int current = 0;
  socklen_t len = sizeof(current);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &current, &len) == 0 &&
      static_cast<uint64_t>(current) >= bytes) {
    return;
  }
  // The kernel doubles the value asked for (bookkeeping overhead); ask for half.
  const int want = static_cast<int>(std::min<uint64_t>(bytes / 2, INT32_MAX));
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) != 0) {
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
  }
}

}  // namespace

TrafficGenOptions TrafficGenOptions::ShareFor(int worker, int workers) const {
  TrafficGenOptions o = *this;
  if (workers <= 1) return o;
  if (count > 0) {
    o.count = count / workers + (static_cast<uint64_t>(worker) < count % workers ? 1 : 0);
  }
  if (rate_pps > 0) o.rate_pps = rate_pps / workers;
  // Different workers start at different flows so fanout on the receiver sees them all.
  o.spec.src_port = static_cast<uint16_t>(spec.src_port + (flows * worker) / workers);
  return o;
}

TrafficGenerator::TrafficGenerator(const TrafficGenOptions& options) : options_(options) {
  const uint32_t flows = std::max<uint32_t>(1, options_.flows);
  const size_t header = UdpFrameHeaderSize(options_.spec);
  const size_t size = std::max<size_t>(options_.frame_size, header);
  for (uint32_t f = 0; f < flows; ++f) {
    std::vector<std::byte> t(size);
    UdpFrameSpec spec = options_.spec;
    spec.src_port = static_cast<uint16_t>(options_.spec.src_port + f);
    // Payload: a recognisable pattern, zero-filled past it.
    for (size_t i = header; i < size; ++i) t[i] = static_cast<std::byte>(i - header);
    if (BuildUdpFrame(t, spec, size - header) == 0) {
      error_ = "could not build the UDP frame (address families differ?)";
      templates_.clear();
      return;
    }
    templates_.push_back(std::move(t));
  }
}

void TrafficGenerator::OnStart(Worker& worker) {
  start_ns_ = MonotonicNs();
  if (templates_.empty() || worker.tx() == nullptr) {
    if (error_.empty()) error_ = "worker has no TX ring";
    Finish();
    return;
  }
  if (templates_[0].size() > worker.tx()->capacity()) {
    error_ = std::string(worker.tx()->Describe(TxResult::kTooLong, templates_[0].size()).message());
    Finish();
    return;
  }
  if (TxRing* ring = worker.tx()->ring()) slot_flow_.assign(ring->frame_count(), kNoFlow);
  if (options_.tx_stamps) {
    TsFlags flags = kTsTxSoftware | kTsSoftware | kTsOptId | kTsOptTsonly;
    if (options_.hardware_tx_stamps) {
      flags |= kTsTxHardware | kTsRawHardware;
      wants_ = kWantSoftware | kWantHardware;
    }
    absl::Status s = EnableSocketTimestamping(worker.tx_fd(), flags, worker.ifname());
    if (!s.ok()) {
      error_ = std::string(s.message());
      Finish();
      return;
    }
    // One stamp per frame waits on the error queue until the next poll drains it, and
    // the queue holds only SO_RCVBUF bytes of them (~255 stamps by default): a
    // 256-frame kick lost one stamp. Room for several kicks' worth.
    const uint64_t kick = options_.burst > 0    ? options_.burst
                          : worker.tx()->ring() ? worker.tx()->ring()->frame_count()
                                                : 256;
    EnsureReceiveBuffer(worker.tx_fd(), std::min<uint64_t>(64ull << 20, kick * kStampQueueBytes));
    // The error queue, not io_uring completions: a whole-ring kick posts thousands
    // of stamps at once, more than a completion ring holds without overflowing.
    auto source = worker.OpenTxStamps(TxTransport::kErrorQueue);
    if (!source.ok()) {
      error_ = std::string(source.status().message());
      Finish();
      return;
    }
    source_ = *source;
    // Enough slots for the frames in flight within one timeout at full speed.
    tracker_.emplace(TxStampTracker::Options{.capacity = 1u << 20, .timeout_ns = 500'000'000});
  }
}

PollResult TrafficGenerator::OnPoll(Worker& worker) {
  if (Done()) return {};
  const int64_t now = MonotonicNs();
  if (options_.stop_at_mono_ns > 0 && now >= options_.stop_at_mono_ns) {
    Finish();
    return {};
  }
  TxPort& tx = *worker.tx();
  uint64_t budget = options_.burst > 0 ? options_.burst
                    : tx.ring()        ? tx.ring()->frame_count()
                                       : 256;
  PollResult result;
  if (options_.rate_pps > 0) {
    const double due = options_.rate_pps * static_cast<double>(now - start_ns_) / 1e9;
    const uint64_t allowed =
        due > static_cast<double>(sent_) ? static_cast<uint64_t>(due) - sent_ : 0;
    budget = std::min<uint64_t>(budget, allowed);
    if (budget == 0) {
      result.wake_at_ns = start_ns_ + static_cast<int64_t>((sent_ + 1) * 1e9 / options_.rate_pps);
      if (tracker_) DrainStamps(worker);
      return result;
    }
  }
  if (options_.count > 0) budget = std::min<uint64_t>(budget, options_.count - sent_);
  const int64_t user_ns = tracker_ ? RealtimeNs() : 0;
  const uint64_t n =
      tx.ring() ? FillRing(*tx.ring(), budget, user_ns, now) : FillPort(tx, budget, user_ns, now);
  sent_ += n;
  if (options_.count > 0 && sent_ >= options_.count) Finish();
  if (tracker_) DrainStamps(worker);
  result.busy = n > 0 || options_.rate_pps == 0;
  if (n == 0 && options_.rate_pps == 0) {
    // Ring full: the kick after this poll frees slots; give the kernel a moment.
    tx.WaitWritable(1);
  }
  return result;
}

uint64_t TrafficGenerator::FillRing(TxRing& ring, uint64_t budget, int64_t user_ns, int64_t now) {
  uint64_t n = 0;
  for (; n < budget; ++n) {
    const uint32_t index = ring.next_slot();
    std::span<std::byte> slot = ring.Reserve();
    if (slot.empty()) break;
    const std::vector<std::byte>& t = templates_[next_flow_];
    if (slot_flow_[index] != next_flow_) {
      std::memcpy(slot.data(), t.data(), t.size());
      slot_flow_[index] = next_flow_;
    }
    if (ring.Commit(static_cast<uint32_t>(t.size())) != TxResult::kOk) break;
    NextFlow();
    if (tracker_) tracker_->OnSend(wants_, user_ns, now);
  }
  return n;
}

uint64_t TrafficGenerator::FillPort(TxPort& tx, uint64_t budget, int64_t user_ns, int64_t now) {
  uint64_t n = 0;
  for (; n < budget; ++n) {
    std::span<std::byte> slot = tx.Reserve();
    if (slot.empty()) break;
    const std::vector<std::byte>& t = templates_[next_flow_];
    std::memcpy(slot.data(), t.data(), t.size());
    if (tx.Commit(static_cast<uint32_t>(t.size())) != TxResult::kOk) break;
    NextFlow();
    if (tracker_) tracker_->OnSend(wants_, user_ns, now);
  }
  return n;
}

void TrafficGenerator::CountStamps(const TxCompletion& c) {
  if (c.stamps.hardware_ns) {
    ++result_.stamps;
    ++result_.stamped_hardware;
  } else if (c.stamps.software_ns) {
    ++result_.stamps;
    ++result_.stamped_software;
  } else {
    ++result_.stamps_missed;
  }
}

void TrafficGenerator::OnErrorQueue(Worker& worker) {
  if (tracker_) DrainStamps(worker);
}

void TrafficGenerator::DrainStamps(Worker& worker) {
  TxCompletion done;
  auto on_stamp = [&](const TxStampEvent& ev) {
    if (tracker_->OnStamp(ev, &done) != TxMatch::kCompleted) return;
    CountStamps(done);
    if (done.stamps.software_ns) {
      if (last_stamp_ns_ && result_.spacing_ns.size() < (1u << 24)) {
        result_.spacing_ns.push_back(*done.stamps.software_ns - *last_stamp_ns_);
      }
      last_stamp_ns_ = done.stamps.software_ns;
    }
  };
  // Drain reads 256 messages a call: go on while it says more wait, up to one ring
  // lap's worth, so a big kick's stamps leave the queue before the next kick adds more.
  for (uint32_t rounds = 0; source_->Drain(on_stamp).more && rounds < kMaxDrainRounds; ++rounds) {
  }
  tracker_->Expire(MonotonicNs(), [&](const TxCompletion& c) { CountStamps(c); });
  worker.SetTxStampCounts(tracker_->pending(), result_.stamps_missed);
}

void TrafficGenerator::OnStop(Worker& worker) {
  TxPort* tx = worker.tx();
  if (tx == nullptr) return;
  // Let the kernel send what was committed, so `sent` counts frames that left.
  const int64_t deadline = MonotonicNs() + 1'000'000'000;
  (void)tx->Flush();
  while (tx->InFlight() > 0 && MonotonicNs() < deadline) {
    (void)tx->Flush();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  // What is still in the ring now was never sent (the link stayed down, say).
  result_.unsent = std::min<uint64_t>(tx->InFlight(), sent_);
  result_.sent = sent_ - result_.unsent;
  if (tracker_) {
    const int64_t stamp_deadline = MonotonicNs() + tracker_->timeout_ns();
    while (tracker_->pending() > 0 && MonotonicNs() < stamp_deadline) {
      DrainStamps(worker);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    tracker_->Expire(INT64_MAX, [&](const TxCompletion& c) { CountStamps(c); });
    worker.SetTxStampCounts(0, result_.stamps_missed);
  }
}

}  // namespace ringstamp
