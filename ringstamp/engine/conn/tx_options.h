// tx_options.h — TxOptions: what a sender asks of one frame's send (a TX stamp, its tag, who
// gets it). A plain value; any thread; free to copy. Used by PacketRelay, EtherConn and the
// neighbour cache (a frame parked while its neighbour resolves keeps its options).
#pragma once

#include <cstdint>

namespace ringstamp {

struct TxOptions {
  bool want_stamp = false;  // report the TX stamp of this frame to the endpoint
  uint64_t tag = 0;         // handed back in TxStampReport
  // Who gets the stamp: a RUDPConn's id when it sends through its EtherConn;
  // 0: the endpoint that writes the frame.
  uint32_t receiver = 0;
  // Kick the ring right after this frame is committed instead of after the worker's batch:
  // the frame carries a time read just before (a reflector's t3), which is the closer to the
  // real send the sooner the kick follows. Only on the worker thread (else it is queued).
  bool kick_now = false;
};

}  // namespace ringstamp
