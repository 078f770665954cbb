#include "engine/traffic_generator.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/clock.h"
#include "engine/engine.h"
#include "engine/worker.h"
#include "timestamp/so_timestamping.h"

namespace ringstamp {

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
  if (options_.tx_stamps) {
    absl::Status s = EnableSocketTimestamping(
        worker.tx_fd(), kTsTxSoftware | kTsSoftware | kTsOptId | kTsOptTsonly, worker.ifname());
    if (!s.ok()) {
      error_ = std::string(s.message());
      Finish();
      return;
    }
    reader_.emplace(worker.tx_fd());
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
  uint64_t budget = options_.burst;
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
  TxPort& tx = *worker.tx();
  const int64_t user_ns = tracker_ ? RealtimeNs() : 0;
  uint64_t n = 0;
  for (; n < budget; ++n) {
    std::span<std::byte> slot = tx.Reserve();
    if (slot.empty()) break;
    const std::vector<std::byte>& t = templates_[next_flow_];
    std::memcpy(slot.data(), t.data(), t.size());
    if (tx.Commit(static_cast<uint32_t>(t.size())) != TxResult::kOk) break;
    if (++next_flow_ == templates_.size()) next_flow_ = 0;
    if (tracker_) tracker_->OnSend(kWantSoftware, user_ns, now);
  }
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

void TrafficGenerator::OnErrorQueue(Worker& worker) {
  if (tracker_) DrainStamps(worker);
}

void TrafficGenerator::DrainStamps(Worker& worker) {
  TxCompletion done;
  reader_->Drain([&](const TxStampEvent& ev) {
    if (tracker_->OnStamp(ev, &done) == TxMatch::kCompleted && done.stamps.software_ns) {
      ++result_.stamps;
      if (last_stamp_ns_ && result_.spacing_ns.size() < (1u << 24)) {
        result_.spacing_ns.push_back(*done.stamps.software_ns - *last_stamp_ns_);
      }
      last_stamp_ns_ = done.stamps.software_ns;
    }
  });
  tracker_->Expire(MonotonicNs(), [&](const TxCompletion&) { ++result_.stamps_missed; });
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
  result_.sent = sent_;
  if (tracker_) {
    const int64_t stamp_deadline = MonotonicNs() + tracker_->timeout_ns();
    while (tracker_->pending() > 0 && MonotonicNs() < stamp_deadline) {
      DrainStamps(worker);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    tracker_->Expire(INT64_MAX, [&](const TxCompletion&) { ++result_.stamps_missed; });
    worker.SetTxStampCounts(0, result_.stamps_missed);
  }
}

}  // namespace ringstamp
