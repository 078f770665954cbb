#include "ringstamp/ring/tx_ring.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "ringstamp/common/errno_status.h"

namespace ringstamp {

const char* TxResultName(TxResult r) {
  switch (r) {
    case TxResult::kOk:
      return "ok";
    case TxResult::kRingFull:
      return "TX ring full";
    case TxResult::kTooLong:
      return "frame too long";
    case TxResult::kTooShort:
      return "frame too short";
    case TxResult::kNotReserved:
      return "commit without reserve";
  }
  return "unknown";
}

TxRing::TxRing(std::shared_ptr<RingMapping> mapping, std::byte* base, const RingConfig& cfg, int fd,
               uint32_t mtu, bool vnet_hdr)
    : mapping_(std::move(mapping)),
      base_(base),
      cfg_(cfg),
      fd_(fd),
      mtu_(mtu),
      vnet_hdr_(vnet_hdr),
      // hdr_len is 16 bits; at least the Ethernet header, as without the vnet header.
      linear_bytes_(std::clamp<uint32_t>(cfg.tx_linear_bytes, 14, 65535)),
      frame_offset_(kDataOffset + (vnet_hdr ? kVnetHdrLen : 0)),
      capacity_(std::min(cfg.frame_size - frame_offset_, mtu + 18)),
      frames_per_block_(cfg.frames_per_block()),
      frame_count_(cfg.frame_count()) {}

TxResult TxRing::Write(std::span<const std::byte> frame) {
  std::span<std::byte> slot = Reserve();
  if (slot.empty()) return TxResult::kRingFull;
  if (frame.size() > slot.size()) {
    counters_.rejected.Add();
    return TxResult::kTooLong;
  }
  std::memcpy(slot.data(), frame.data(), frame.size());
  return Commit(static_cast<uint32_t>(frame.size()));
}

absl::Status TxRing::Flush() {
  if (pending_ == 0) return absl::OkStatus();
  return Kick();
}

absl::Status TxRing::Kick() {
  counters_.kicks.Add();
  if (sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0) {
    const int err = errno;
    // Nothing was lost: the kernel leaves the frame it could not send at the
    // ring's head in TP_STATUS_SEND_REQUEST. Keep the frames pending so the
    // next Flush (the worker's loop) or WaitWritable kicks again: without
    // that kick a full ring never frees a slot, and POLLOUT never comes.
    switch (err) {
      case EAGAIN:
      case EINTR:
      case ENOBUFS:
      case ENETDOWN:
      case ENXIO:
        counters_.kicks_failed.Add();
        return absl::OkStatus();
      default:
        counters_.kick_errors.Add();
        return ErrnoStatus(err, "TX ring kick (sendto)");
    }
  }
  pending_ = 0;
  return absl::OkStatus();
}

bool TxRing::WaitWritable(int timeout_ms) {
  uint32_t s = LoadStatus(SlotAt(next_));
  if (s != TP_STATUS_SEND_REQUEST && s != TP_STATUS_SENDING) return true;
  if (s == TP_STATUS_SEND_REQUEST) {
    // The kernel has not taken the slot we wait for (an earlier kick failed, or
    // none came): kick, or the wait below can only time out.
    (void)Kick();
  }
  pollfd p{fd_, POLLOUT, 0};
  int r = poll(&p, 1, timeout_ms);
  if (r <= 0) return false;
  s = LoadStatus(SlotAt(next_));
  return s == TP_STATUS_AVAILABLE || s == TP_STATUS_WRONG_FORMAT;
}

uint32_t TxRing::InFlight() const {
  uint32_t n = 0;
  for (uint32_t i = 0; i < frame_count_; ++i) {
    const uint32_t s = LoadStatus(SlotAt(i));
    n += (s == TP_STATUS_SEND_REQUEST || s == TP_STATUS_SENDING);
  }
  return n;
}

absl::Status TxRing::Describe(TxResult result, uint32_t len) const {
  switch (result) {
    case TxResult::kOk:
      return absl::OkStatus();
    case TxResult::kRingFull:
      return absl::ResourceExhaustedError(
          "TX ring full: every slot is waiting for the kernel; flush and retry, or use a larger "
          "ring");
    case TxResult::kTooLong:
      return absl::InvalidArgumentError(absl::StrFormat(
          "frame of %u bytes is longer than the interface allows (MTU %u + 14-byte Ethernet "
          "header, "
          "+4 for a VLAN-tagged frame; TX slot holds %u); shorten it or raise the MTU",
          len, mtu_, cfg_.frame_size - frame_offset_));
    case TxResult::kTooShort:
      return absl::InvalidArgumentError(
          absl::StrFormat("frame of %u bytes is shorter than an Ethernet header (14 bytes)", len));
    case TxResult::kNotReserved:
      return absl::FailedPreconditionError("TX ring Commit() without a successful Reserve()");
  }
  return absl::UnknownError("unknown TX result");
}

}  // namespace ringstamp
