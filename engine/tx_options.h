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
};

}  // namespace ringstamp
