#include "ringstamp/engine/worker_stats.h"

namespace ringstamp {

WorkerStats& WorkerStats::operator+=(const WorkerStats& o) {
  frames += o.frames;
  bytes += o.bytes;
  truncated += o.truncated;
  kernel_packets += o.kernel_packets;
  kernel_drops += o.kernel_drops;
  freezes += o.freezes;
  malformed_blocks += o.malformed_blocks;
  foreign_frames += o.foreign_frames;
  handler_drops += o.handler_drops;
  hw_stamps_missing += o.hw_stamps_missing;
  tx_sent += o.tx_sent;
  tx_bytes += o.tx_bytes;
  tx_kicks += o.tx_kicks;
  tx_kicks_failed += o.tx_kicks_failed;
  tx_ring_full += o.tx_ring_full;
  tx_wrong_format += o.tx_wrong_format;
  tx_rejected += o.tx_rejected;
  tx_stamps_pending += o.tx_stamps_pending;
  tx_stamps_missed += o.tx_stamps_missed;
  socket_errors += o.socket_errors;
  if (o.last_socket_error != 0) last_socket_error = o.last_socket_error;
  return *this;
}

}  // namespace ringstamp
