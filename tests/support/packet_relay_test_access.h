// packet_relay_test_access.h — what tests and benchmarks reach inside a PacketRelay that the
// public API keeps private: its per-worker handlers and the control-change calls.
// Test/bench code only; same threading rules as the methods it forwards to.
#pragma once

#include <chrono>
#include <functional>

#include "absl/status/status.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/conn/relay_worker.h"

namespace ringstamp {

struct PacketRelayTestAccess {
  static RelayWorker& Worker(PacketRelay& relay, int i) { return relay.relay_worker(i); }
  static void ApplyToWorkers(PacketRelay& relay, const std::function<void(RelayWorker&)>& fn) {
    relay.ApplyToWorkers(fn);
  }
  static absl::Status TryApplyToWorkers(PacketRelay& relay,
                                        const std::function<void(RelayWorker&)>& fn,
                                        std::chrono::milliseconds timeout) {
    return relay.TryApplyToWorkers(fn, timeout);
  }
};

}  // namespace ringstamp
