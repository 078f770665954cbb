#include "ringstamp/ring/ring_setup.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/errno_status.h"
#include "ringstamp/common/status_macros.h"

namespace ringstamp {
namespace {

std::string MiB(uint64_t bytes) { return absl::StrFormat("%.1f MiB", bytes / 1048576.0); }

// Checks the ring against the memory the machine has before the kernel tries
// to allocate it (a ring the size of RAM would push the machine into reclaim).
absl::Status CheckFitsInMemory(const PacketSocket& sock, std::string_view which,
                               const RingConfig& cfg) {
  auto avail = AvailableMemoryBytes();
  if (avail && cfg.bytes() > *avail) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s: %s ring of %u blocks × %u bytes = %s does not fit in memory (%s available); use "
        "fewer blocks, e.g. %u",
        sock.ifname(), std::string(which), cfg.block_count, cfg.block_size, MiB(cfg.bytes()),
        MiB(*avail), static_cast<uint32_t>(std::max<uint64_t>(2, *avail / 4 / cfg.block_size))));
  }
  return absl::OkStatus();
}

// setsockopt(PACKET_RX_RING / PACKET_TX_RING), halving on ENOMEM when allowed.
absl::Status SetRing(PacketSocket& sock, int opt, RingKind kind, bool shrink, RingConfig* cfg,
                     std::string* warnings) {
  const RingConfig asked = *cfg;
  const char* name = opt == PACKET_RX_RING ? "PACKET_RX_RING" : "PACKET_TX_RING";
  for (;;) {
    int rc;
    if (kind == RingKind::kRxV2) {
      tpacket_req req = cfg->ToReq();
      rc = setsockopt(sock.fd(), SOL_PACKET, opt, &req, sizeof(req));
    } else {
      tpacket_req3 req = cfg->ToReq3(kind);
      rc = setsockopt(sock.fd(), SOL_PACKET, opt, &req, sizeof(req));
    }
    if (rc == 0) break;
    int err = errno;
    if (err == ENOMEM && shrink) {
      auto smaller = cfg->Halved();
      if (!smaller.ok()) {
        return ErrnoStatus(
            err, absl::StrFormat("%s: %s of %s", sock.ifname(), name, MiB(asked.bytes())),
            "not even a 2-block ring could be allocated; free memory or use smaller blocks");
      }
      *cfg = *smaller;
      continue;
    }
    if (err == ENOMEM) {
      return ErrnoStatus(err,
                         absl::StrFormat("%s: %s of %s", sock.ifname(), name, MiB(cfg->bytes())),
                         "the kernel could not allocate the ring; use fewer or smaller blocks");
    }
    if (err == EBUSY) {
      return ErrnoStatus(err, absl::StrFormat("%s: %s", sock.ifname(), name),
                         "a ring is already attached or the socket is bound with a mapping in use");
    }
    return ErrnoStatus(err, absl::StrFormat("%s: %s (block %u × %u, frame %u)", sock.ifname(), name,
                                            cfg->block_size, cfg->block_count, cfg->frame_size));
  }
  if (cfg->block_count != asked.block_count) {
    absl::StrAppend(
        warnings,
        absl::StrFormat("%s: %s shrunk from %s to %s: not enough memory for the ring asked\n",
                        sock.ifname(), name, MiB(asked.bytes()), MiB(cfg->bytes())));
  }
  return absl::OkStatus();
}

// PACKET_VNET_HDR on a TX-only socket, so the kernel copies tx_linear_bytes of
// each frame (tx_ring.h). Not where the socket receives: a vnet header would
// then precede every received frame too. Must come before PACKET_TX_RING. A
// refusal only costs speed: the ring then works without it (tx_linear_bytes 0).
bool EnableTxVnetHdr(PacketSocket& sock, bool has_rx_ring, RingConfig* tx_cfg) {
  if (tx_cfg->tx_linear_bytes == 0) return false;
  if (has_rx_ring || sock.protocol() != 0 ||
      tx_cfg->frame_size < MinFrameSize(RingKind::kTxV3) + TxRing::kVnetHdrLen) {
    tx_cfg->tx_linear_bytes = 0;
    return false;
  }
  int on = 1;
  if (setsockopt(sock.fd(), SOL_PACKET, PACKET_VNET_HDR, &on, sizeof(on)) != 0) {
    tx_cfg->tx_linear_bytes = 0;
    return false;
  }
  return true;
}

}  // namespace

std::optional<uint64_t> AvailableMemoryBytes() {
  FILE* f = std::fopen("/proc/meminfo", "re");
  if (f == nullptr) return std::nullopt;
  char line[256];
  std::optional<uint64_t> out;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    unsigned long long kb = 0;
    if (std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
      out = static_cast<uint64_t>(kb) * 1024;
      break;
    }
  }
  std::fclose(f);
  return out;
}

absl::StatusOr<Rings> SetupRings(PacketSocket& sock, const RingSetupOptions& options) {
  if (!options.rx && !options.tx) {
    return absl::InvalidArgumentError("SetupRings: neither an RX nor a TX ring was asked for");
  }
  if (options.rx && options.tx && options.rx_kind == RingKind::kRxV2) {
    return absl::InvalidArgumentError(
        "an immediate (TPACKET_V2) RX ring cannot share a socket with the TPACKET_V3 TX ring; "
        "open a second socket for TX");
  }
  if (options.rx_kind == RingKind::kTxV3) {
    return absl::InvalidArgumentError("SetupRings: rx_kind must be kRxV3 or kRxV2");
  }
  RingConfig rx_cfg, tx_cfg;
  if (options.rx) {
    rx_cfg = *options.rx;
    RS_RETURN_IF_ERROR(rx_cfg.Validate(options.rx_kind));
    RS_RETURN_IF_ERROR(CheckFitsInMemory(sock, "RX", rx_cfg));
  }
  if (options.tx) {
    tx_cfg = *options.tx;
    RS_RETURN_IF_ERROR(tx_cfg.Validate(RingKind::kTxV3));
    RS_RETURN_IF_ERROR(CheckFitsInMemory(sock, "TX", tx_cfg));
  }
  if (options.rx && options.tx) {
    auto avail = AvailableMemoryBytes();
    if (avail && rx_cfg.bytes() + tx_cfg.bytes() > *avail) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%s: RX and TX rings together need %s, more than the %s available; use fewer blocks",
          sock.ifname(), MiB(rx_cfg.bytes() + tx_cfg.bytes()), MiB(*avail)));
    }
  }

  const bool v2 = options.rx && options.rx_kind == RingKind::kRxV2;
  RS_RETURN_IF_ERROR(sock.SetVersion(v2 ? TPACKET_V2 : TPACKET_V3));
  if (options.tx) RS_RETURN_IF_ERROR(sock.SetLoss(true));
  const bool vnet_hdr = options.tx && EnableTxVnetHdr(sock, options.rx.has_value(), &tx_cfg);

  Rings rings;
  if (options.rx) {
    RS_RETURN_IF_ERROR(SetRing(sock, PACKET_RX_RING, options.rx_kind, options.shrink_on_enomem,
                               &rx_cfg, &rings.warnings));
  }
  if (options.tx) {
    RS_RETURN_IF_ERROR(SetRing(sock, PACKET_TX_RING, RingKind::kTxV3, options.shrink_on_enomem,
                               &tx_cfg, &rings.warnings));
  }
  const size_t rx_bytes = options.rx ? rx_cfg.bytes() : 0;
  const size_t tx_bytes = options.tx ? tx_cfg.bytes() : 0;
  void* addr = mmap(nullptr, rx_bytes + tx_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                    sock.fd(), 0);
  if (addr == MAP_FAILED) {
    int err = errno;
    return ErrnoStatus(
        err, absl::StrFormat("%s: mmap of %s of rings", sock.ifname(), MiB(rx_bytes + tx_bytes)),
        "use fewer or smaller blocks");
  }
  auto mapping = std::make_shared<RingMapping>(static_cast<std::byte*>(addr), rx_bytes + tx_bytes);
  if (options.lock_memory && mlock(addr, rx_bytes + tx_bytes) != 0) {
    int err = errno;
    rlimit lim{};
    getrlimit(RLIMIT_MEMLOCK, &lim);
    absl::StrAppend(
        &rings.warnings,
        absl::StrFormat("%s: could not lock %s of ring memory (%s, RLIMIT_MEMLOCK %s); "
                        "raise it with `ulimit -l unlimited` or CAP_IPC_LOCK\n",
                        sock.ifname(), MiB(rx_bytes + tx_bytes), std::strerror(err),
                        lim.rlim_cur == RLIM_INFINITY ? "unlimited" : MiB(lim.rlim_cur)));
  }
  std::byte* base = mapping->base();
  if (options.rx) {
    if (v2) {
      rings.rx_immediate.emplace(mapping, base, rx_cfg);
      rings.rx_immediate->set_only_ifindex(sock.ifindex());
    } else {
      rings.rx.emplace(mapping, base, rx_cfg);
      rings.rx->set_only_ifindex(sock.ifindex());
    }
  }
  if (options.tx) {
    rings.tx.emplace(mapping, base + rx_bytes, tx_cfg, sock.fd(), sock.mtu(), vnet_hdr);
  }
  return rings;
}

}  // namespace ringstamp
