// traffic_generator.h — TrafficGenerator: a FrameHandler that fills a worker's TX ring with UDP
// frames.
//
// Example:
// Given: #include "ringstamp/engine/engine.h"
// Given: const UdpFrameSpec& udp_spec
//   TrafficGenOptions g{.spec = udp_spec, .frame_size = 60, .flows = 16, .count = 1'000'000,
//                       .rate_pps = 0 /* unlimited */, .burst = 256};
//   auto engine = Engine::Create({.ifname = "eth1", .workers = 2, .rx = false},
//       [&](int i) { return std::make_unique<TrafficGenerator>(g.ShareFor(i, 2)); });
//
// Frames are built once per flow (source port spec.src_port + flow) with correct
// checksums. On a TX ring a slot keeps the frame it was last given (the kernel
// never writes a slot's frame area), so a slot is rewritten only when it is to
// carry another flow's frame: with flows dividing the ring size, after the first
// lap a frame costs the commit stores alone. One kick per burst; burst 0 fills
// every free slot (at most one lap) before the kick, which on veth took ~10%
// less CPU per frame than 256-frame kicks (docs/benchmarks.md).
// Unlimited rate fills the ring as fast as the kernel drains it; --rate is a
// token bucket checked per burst (no syscall per frame), sleeping in the
// worker's wait until the next frame is due.
// With tx_stamps, the worker's TX socket gets SO_TIMESTAMPING (software, OPT_ID;
// hardware too with hardware_tx_stamps) and every frame's TX stamps are matched
// to it and counted by their best source; the spacing of consecutive software
// stamps is kept as a distribution.
// Threads: one generator per worker, used only on that worker's thread; Done()
// and the counters may be read from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "ringstamp/engine/frame_handler.h"
#include "ringstamp/engine/tx_port.h"
#include "ringstamp/engine/udp_frame.h"
#include "ringstamp/timestamp/tx_stamp_source.h"
#include "ringstamp/timestamp/tx_stamp_tracker.h"

namespace ringstamp {

struct TrafficGenOptions {
  UdpFrameSpec spec;
  uint32_t frame_size = 60;     // Ethernet frame bytes without FCS (headers included)
  uint32_t flows = 1;           // source ports spec.src_port .. + flows - 1
  uint64_t count = 0;           // frames to send; 0: until stopped
  double rate_pps = 0;          // 0: as fast as the ring drains
  uint32_t burst = 256;         // frames per kick; 0: every free slot (≤ one ring lap)
  int64_t stop_at_mono_ns = 0;  // 0: no deadline
  bool tx_stamps = false;
  // With tx_stamps: also ask the NIC's hardware TX stamp (the interface must
  // have been set for it: TimestampingPlan::hardware_tx).
  bool hardware_tx_stamps = false;

  // This worker's share of count and rate when `workers` generators run.
  TrafficGenOptions ShareFor(int worker, int workers) const;
};

struct TrafficGenResult {
  uint64_t sent = 0;           // frames the kernel took from the ring (committed minus unsent)
  uint64_t unsent = 0;         // committed frames still in the ring when the generator stopped
                               // (link down, kicks refused): never sent, counted here
  uint64_t stamps = 0;         // frames that got at least one TX stamp
  uint64_t stamps_missed = 0;  // frames that got none
  // Of `stamps`, by the best source the kernel reported: a hardware stamp
  // (ts[2] of SCM_TIMESTAMPING), or software only. They add up to `stamps`.
  uint64_t stamped_hardware = 0;
  uint64_t stamped_software = 0;
  std::vector<int64_t> spacing_ns;  // gaps between consecutive TX stamps (tx_stamps only)
};

class TrafficGenerator : public FrameHandler {
 public:
  explicit TrafficGenerator(const TrafficGenOptions& options);

  void OnStart(Worker& worker) override;
  void OnFrame(Worker&, const Frame&) override {}
  PollResult OnPoll(Worker& worker) override;
  void OnErrorQueue(Worker& worker) override;
  void OnStop(Worker& worker) override;

  // True once count frames were sent or the deadline passed (any thread).
  bool Done() const { return done_.load(std::memory_order_acquire); }
  // Valid after the worker stopped.
  const TrafficGenResult& result() const { return result_; }
  // Why the generator could not start (empty when fine); read after the worker stopped.
  const std::string& error() const { return error_; }

 private:
  // Commits up to `budget` frames; returns how many.
  uint64_t FillRing(TxRing& ring, uint64_t budget, int64_t user_ns, int64_t now);
  uint64_t FillPort(TxPort& tx, uint64_t budget, int64_t user_ns, int64_t now);
  void NextFlow() {
    if (++next_flow_ == templates_.size()) next_flow_ = 0;
  }
  void DrainStamps(Worker& worker);
  // Counts a finished send by the best TX stamp it got (or as missed).
  void CountStamps(const TxCompletion& c);
  void Finish() { done_.store(true, std::memory_order_release); }

  TrafficGenOptions options_;
  static constexpr uint32_t kNoFlow = UINT32_MAX;
  std::vector<std::vector<std::byte>> templates_;
  std::vector<uint32_t> slot_flow_;  // TX ring: the flow whose frame each slot holds
  uint32_t next_flow_ = 0;
  uint64_t sent_ = 0;
  int64_t start_ns_ = 0;
  std::atomic<bool> done_{false};
  TxStampSource* source_ = nullptr;  // the worker's, opened in OnStart with --tx-stamps
  std::optional<TxStampTracker> tracker_;
  TxWants wants_ = kWantSoftware;  // | kWantHardware with hardware_tx_stamps
  std::optional<int64_t> last_stamp_ns_;
  TrafficGenResult result_;
  std::string error_;
};

}  // namespace ringstamp
