// worker_stats.h — WorkerStats: a snapshot of one worker's counters (or their sum).
//
// Example:
// Given: #include "ringstamp/engine/engine.h"
// Given: const Engine& engine
//   EngineStats s = engine.Snapshot();   // any thread, while workers run
//   std::printf("%lu frames, %lu kernel drops\n", s.total.frames, s.total.kernel_drops);
//
// Plain values, copied out of counters the workers keep with relaxed atomics.
#pragma once

#include <cstdint>
#include <vector>

namespace ringstamp {

struct WorkerStats {
  uint64_t frames = 0;             // frames handed to the handler
  uint64_t bytes = 0;              // their wire bytes
  uint64_t truncated = 0;          // frames cut by the snap length
  uint64_t kernel_packets = 0;     // frames the socket saw (kernel count, drops included)
  uint64_t kernel_drops = 0;       // frames the kernel dropped: ring full
  uint64_t freezes = 0;            // times the V3 queue froze
  uint64_t malformed_blocks = 0;   // block walks stopped by a failed offset check
  uint64_t foreign_frames = 0;     // frames of another interface the ring skipped
  uint64_t handler_drops = 0;      // frames the handler dropped (queue full, no owner, ...)
  uint64_t hw_stamps_missing = 0;  // hardware stamps asked for, frame came with software only
  uint64_t tx_sent = 0;            // frames committed to the TX ring
  uint64_t tx_bytes = 0;
  uint64_t tx_kicks = 0;
  uint64_t tx_kicks_failed = 0;  // kicks refused for now (link down, queue full): kicked again
  uint64_t tx_ring_full = 0;
  uint64_t tx_wrong_format = 0;
  uint64_t tx_rejected = 0;  // frames refused before the kernel (too long / short)
  uint64_t tx_stamps_pending = 0;
  uint64_t tx_stamps_missed = 0;
  // Errors the kernel set on the worker's sockets (read and cleared with SO_ERROR when poll
  // said POLLERR): ENETDOWN when the interface went down or away. The last one's errno.
  uint64_t socket_errors = 0;
  int last_socket_error = 0;

  WorkerStats& operator+=(const WorkerStats& o);
};

struct EngineStats {
  std::vector<WorkerStats> workers;
  WorkerStats total;
  int64_t taken_at_ns = 0;  // CLOCK_MONOTONIC
};

}  // namespace ringstamp
