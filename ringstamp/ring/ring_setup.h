// ring_setup.h — SetupRings: attach RX and/or TX rings to a PacketSocket and map them once.
//
// Example:
//   RS_ASSIGN_OR_RETURN(PacketSocket sock, PacketSocket::Open("eth1"));
//   RS_ASSIGN_OR_RETURN(Rings rings, SetupRings(sock, {.rx = RingConfig::ForRx(64 << 20),
//                                                      .tx = RingConfig::ForTx(4 << 20)}));
//   RS_RETURN_IF_ERROR(sock.Bind());
//
// The steps, in the kernel's order: validate → PACKET_VERSION → PACKET_LOSS (TX)
// → PACKET_VNET_HDR (TX-only socket of protocol 0 whose config asks for
// tx_linear_bytes; see ring_config.h) → PACKET_RX_RING → PACKET_TX_RING → one
// mmap (RX first, then TX). On ENOMEM a ring is halved and retried (down to 2
// blocks) when shrink_on_enomem is set; the geometry in use is in the returned
// rings' config() (tx_linear_bytes 0 there when PACKET_VNET_HDR was not used).
// A ring larger than the memory available is refused before the kernel is asked.
// A socket has one TPACKET version: an immediate (V2) RX ring cannot share a
// socket with a V3 TX ring; open a second socket for TX.
// Threads: setup from one thread, before Bind(). Cost: syscalls and page allocation.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "ringstamp/ring/immediate_rx_ring.h"
#include "ringstamp/ring/packet_socket.h"
#include "ringstamp/ring/ring_config.h"
#include "ringstamp/ring/rx_ring.h"
#include "ringstamp/ring/tx_ring.h"

namespace ringstamp {

struct RingSetupOptions {
  std::optional<RingConfig> rx;
  RingKind rx_kind = RingKind::kRxV3;  // kRxV3 or kRxV2 (immediate)
  std::optional<RingConfig> tx;
  bool shrink_on_enomem = true;
  bool lock_memory = false;  // mlock the mapping; a refusal is reported in Rings::warnings
};

struct Rings {
  std::optional<RxRing> rx;                     // when rx_kind == kRxV3
  std::optional<ImmediateRxRing> rx_immediate;  // when rx_kind == kRxV2
  std::optional<TxRing> tx;
  std::string warnings;  // shrunk rings, memory lock refused: worth showing the user
};

absl::StatusOr<Rings> SetupRings(PacketSocket& sock, const RingSetupOptions& options);

// MemAvailable from /proc/meminfo in bytes, or nullopt when unreadable.
std::optional<uint64_t> AvailableMemoryBytes();

}  // namespace ringstamp
