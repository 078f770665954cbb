// frame.h — Frame: a zero-copy view of one received frame, and the ring stamp decoder.
//
// Example:
// Given: #include "ringstamp/ring/rx_ring.h"
// Given: RxRing& rx; void Use(std::span<const std::byte> bytes, uint32_t wire_len)
// Given: void UseTag(uint16_t tpid, uint16_t tci); void UseStamp(int64_t ns)
//   rx.Poll([](const Frame& f) {
//     Use(f.bytes(), f.wire_len);                    // valid only inside the handler
//     if (f.vlan_valid) UseTag(f.vlan_tpid, f.vlan_tci);
//     if (f.stamps.software_ns) UseStamp(*f.stamps.software_ns);  // labelled by TP_STATUS_TS_*
//   });
//
// A Frame points into ring memory owned by the kernel again once the handler
// returns: copy what must outlive it. Any thread may read a Frame it was handed.
// Cost: a Frame is filled from the ring header with no copy and no allocation.
#pragma once

#include <linux/if_packet.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/common/clock.h"
#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp {

struct Frame {
  const std::byte* data = nullptr;  // MAC header onwards
  uint32_t snap_len = 0;            // bytes present at data (tp_snaplen)
  uint32_t wire_len = 0;            // bytes on the wire (tp_len); > snap_len when truncated
  uint32_t rxhash = 0;              // the kernel's flow hash (V3 only; 0 when not filled)
  uint16_t vlan_tci = 0;            // outermost tag the kernel stripped (vlan_valid)
  uint16_t vlan_tpid = 0;           // its TPID (0x8100 / 0x88a8); 0x8100 when the kernel left it 0
  bool vlan_valid = false;
  uint8_t pkt_type = 0;  // PACKET_HOST, PACKET_OUTGOING, ... when known (V2 path)
  uint32_t status = 0;   // raw tp_status bits
  int32_t ifindex = 0;   // sll_ifindex the kernel wrote beside the frame (0: not present)
  Timestamps stamps;     // hardware/software from the ring, userspace per block

  std::span<const std::byte> bytes() const { return {data, snap_len}; }
  bool truncated() const { return snap_len < wire_len; }
  // The L4 checksum need not be verified: TP_STATUS_CSUMNOTREADY (sent by this
  // host or a local peer with checksum offload: the field holds only the
  // pseudo-header sum) or TP_STATUS_CSUM_VALID (the NIC verified it).
  bool checksum_trusted() const {
    return (status & (TP_STATUS_CSUMNOTREADY | TP_STATUS_CSUM_VALID)) != 0;
  }
  // TP_STATUS_LOSING: the ring dropped frames around this one.
  bool losing() const { return (status & TP_STATUS_LOSING) != 0; }
};

// Frames a ring hands to a handler at once (PollBatches).
inline constexpr size_t kFrameBatch = 32;

// The kernel's stamp for a ring frame, labelled by TP_STATUS_TS_*. A frame
// without a TS bit gets no kernel stamp (the kernel then wrote a clock read
// taken at copy time that is not a real receive stamp). A hardware-flagged
// stamp of zero is not reported as hardware.
inline void DecodeRingStamp(uint32_t status, uint32_t sec, uint32_t nsec, Timestamps* out) {
  const int64_t ns = static_cast<int64_t>(sec) * kNsPerSec + nsec;
  if (status & TP_STATUS_TS_RAW_HARDWARE) {
    if (ns != 0) {
      out->hardware_ns = ns;
      out->hardware_source = StampSource::kHardwareRaw;
    }
  } else if (status & TP_STATUS_TS_SYS_HARDWARE) {
    if (ns != 0) {
      out->hardware_ns = ns;
      out->hardware_source = StampSource::kHardwareSys;
    }
  } else if (status & TP_STATUS_TS_SOFTWARE) {
    out->software_ns = ns;
  }
}

}  // namespace ringstamp
