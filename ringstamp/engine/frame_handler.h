// frame_handler.h — FrameHandler: what a Worker runs for each frame and between batches.
//
// Example:
// Given: #include "ringstamp/engine/engine.h"
//   class Counter : public FrameHandler {
//     void OnFrame(Worker&, const Frame&) override { ++frames_; }
//     uint64_t frames_ = 0;
//   };
//   EngineOptions opts{.ifname = "eth1"};
//   auto engine = Engine::Create(opts, [](int) { return std::make_unique<Counter>(); });
//
// One handler object per worker, called only on that worker's thread: it needs
// no locks for its own state. OnFrame's Frame is valid until OnFrame returns.
// Cost: one virtual call per batch of frames (plus one per frame for handlers
// that keep the default OnFrames).
#pragma once

#include <cstdint>
#include <span>

#include "ringstamp/ring/frame.h"

namespace ringstamp {

class Worker;

struct PollResult {
  bool busy = false;       // did work; the loop polls again without sleeping
  int64_t wake_at_ns = 0;  // CLOCK_MONOTONIC time to be woken at even if idle (0: none)
};

class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  // On the worker's thread before its first poll (rings ready, socket bound).
  virtual void OnStart(Worker& /*worker*/) {}
  // Every received frame.
  virtual void OnFrame(Worker& worker, const Frame& frame) = 0;
  // Received frames in batches of up to kFrameBatch (ring RX paths hand them
  // over this way), all valid until it returns. The default hands each to
  // OnFrame; a handler that gains from seeing several at once (prefetching
  // the table entries they need) overrides it.
  virtual void OnFrames(Worker& worker, std::span<const Frame> frames) {
    for (const Frame& f : frames) OnFrame(worker, f);
  }
  // After each batch of frames and at every wake-up: generate, retry, expire.
  // TX written here is flushed by the worker right after (one kick per burst).
  virtual PollResult OnPoll(Worker& /*worker*/) { return {}; }
  // TX stamps may be ready: drain Worker::tx_stamps() (or, for a handler that
  // reads the TX socket's error queue itself, that queue has messages).
  virtual void OnErrorQueue(Worker& /*worker*/) {}
  // On the worker's thread after its last poll (before rings are unmapped).
  virtual void OnStop(Worker& /*worker*/) {}
};

}  // namespace ringstamp
