// engine_options.h — EngineOptions: everything an Engine needs to know before it starts.
//
// Example:
//   EngineOptions o{.ifname = "eth1", .cpus = {0, 1}, .rx_mode = RxMode::kImmediate,
//                   .wait_mode = WaitMode::kBusyPoll};
//
// A plain value; Engine::Create validates it and says what is wrong.
#pragma once

#include <linux/filter.h>
#include <linux/if_ether.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ringstamp/ring/packet_socket.h"
#include "ringstamp/timestamp/phc_clock_map.h"
#include "ringstamp/timestamp/tx_stamp_source.h"

namespace ringstamp {

enum class RxMode : uint8_t {
  kBlock,      // TPACKET_V3: blocks retired when full or after block_timeout_ms (capture, bulk RX)
  kImmediate,  // TPACKET_V2: each frame handed over as it lands (echo servers, probes)
};

enum class WaitMode : uint8_t {
  kIoUring,   // sleep in io_uring (multishot poll on the socket, eventfd for stop, timeout for
              // ticks)
  kBusyPoll,  // spin on the next ring slot's status: no syscall while idle, a full core burned
};

class TapPort;

struct EngineOptions {
  std::string ifname;
  // Instead of AF_PACKET rings on `ifname`: a TAP port (ringstamp/ring/tap_port.h) made by
  // the caller, which must outlive the engine. Worker i uses queue i, so the
  // port needs at least as many queues as workers. No fanout, BPF or kernel ring
  // counters apply; stamps are those the port gives (see tap_port.h).
  TapPort* tap = nullptr;
  // CPUs to pin one worker each to; empty: `workers` workers on the first online CPUs.
  std::vector<int> cpus;
  int workers = 0;  // used when cpus is empty; 0 means one per online CPU
  bool pin = true;  // pin each worker to its CPU

  bool rx = true;
  bool tx = true;
  RxMode rx_mode = RxMode::kBlock;
  WaitMode wait_mode = WaitMode::kIoUring;

  uint16_t protocol = ETH_P_ALL;  // EtherType the RX sockets take
  bool promiscuous = false;
  bool qdisc_bypass = true;
  bool ignore_outgoing = true;   // RX does not see what this host sends
  std::vector<sock_filter> bpf;  // classic BPF for every RX socket (empty: none)
  FanoutOptions fanout{.mode = FanoutMode::kHash, .group_id = 0, .unique_id = true};

  // Ring memory per worker; RX takes 7/8 of it, TX the rest (at least 2 blocks each).
  uint64_t ring_budget_bytes = 32ull << 20;
  uint32_t block_timeout_ms = 1;         // V3 RX block retire timeout
  uint32_t immediate_frame_size = 2048;  // V2 RX frame slot
  uint32_t tx_frame_size = 2048;
  bool lock_memory = true;  // mlock the rings when RLIMIT_MEMLOCK allows

  bool rx_software_stamps = true;  // SO_TIMESTAMPING RX_SOFTWARE on the RX sockets
  // Ask the ring sockets for raw hardware stamps (the NIC must have been set up:
  // PlanTimestamping). Frames that arrive without one are counted in
  // WorkerStats::hw_stamps_missing and keep their software stamp.
  bool hardware_stamps = false;
  // The PHC → system mapping (TimestampingPlan::phc_map, kept current by its
  // tracker thread) that puts raw hardware stamps, RX and TX, on the system
  // clock (Timestamps::hardware_system_ns). Unset: hardware stamps stay unmapped.
  std::shared_ptr<const PhcClockMap> phc_map;
  int stats_interval_ms = 1000;  // kernel counters and socket errors read this often by each worker
  // How TX stamps come back to handlers that open them (Worker::OpenTxStamps):
  // kAuto takes io_uring completions where the kernel has them (≥ 6.15) for
  // io_uring-waiting workers, else (and always in busy poll) the error queue.
  TxTransport tx_stamp_transport = TxTransport::kAuto;
};

}  // namespace ringstamp
