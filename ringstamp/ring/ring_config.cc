#include "ringstamp/ring/ring_config.h"

#include <unistd.h>

#include <limits>

#include "absl/strings/str_format.h"

namespace ringstamp {
namespace {

uint32_t PageSize() {
  static const uint32_t page = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  return page;
}

constexpr uint32_t kMaxBlockTimeoutMs = 65535;  // tp_retire_blk_tov is stored in 16 bits
constexpr uint32_t kMaxBlockOrder = 11;         // the kernel's MAX_ORDER pages per block (≈8 MiB)

std::string_view KindName(RingKind kind) {
  switch (kind) {
    case RingKind::kRxV3:
      return "TPACKET_V3 RX ring";
    case RingKind::kRxV2:
      return "TPACKET_V2 RX ring";
    case RingKind::kTxV3:
      return "TPACKET_V3 TX ring";
  }
  return "ring";
}

uint32_t RoundUp(uint32_t v, uint32_t to) { return (v + to - 1) / to * to; }

}  // namespace

uint32_t MinFrameSize(RingKind kind) {
  uint32_t hdr = kind == RingKind::kRxV2 ? TPACKET2_HDRLEN : TPACKET3_HDRLEN;
  return RoundUp(hdr + 14, TPACKET_ALIGNMENT);
}

RingConfig RingConfig::ForRx(uint64_t total_bytes) {
  RingConfig cfg;
  cfg.block_size = 1u << 22;
  cfg.frame_size = 1u << 11;
  uint64_t blocks = total_bytes / cfg.block_size;
  cfg.block_count = static_cast<uint32_t>(blocks < 2 ? 2 : blocks);
  cfg.block_timeout_ms = 1;
  return cfg;
}

RingConfig RingConfig::ForTx(uint64_t total_bytes, uint32_t frame_size) {
  RingConfig cfg;
  cfg.block_size = 1u << 16;
  cfg.frame_size = frame_size;
  uint64_t blocks = total_bytes / cfg.block_size;
  cfg.block_count = static_cast<uint32_t>(blocks < 2 ? 2 : blocks);
  cfg.block_timeout_ms = 0;
  cfg.tx_linear_bytes = kDefaultTxLinearBytes;
  return cfg;
}

absl::Status RingConfig::Validate(RingKind kind) const {
  const std::string_view name = KindName(kind);
  const uint32_t page = PageSize();
  if (block_size == 0 || block_size % page != 0) {
    uint32_t fit = block_size < page ? page : block_size / page * page;
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: block size %u is not a multiple of the page size %u; try %u", name,
                        block_size, page, fit));
  }
  if (block_size > (page << kMaxBlockOrder)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: block size %u is larger than the kernel allows for one block (%u bytes); use "
        "smaller blocks and more of them",
        name, block_size, page << kMaxBlockOrder));
  }
  if (block_count == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: block count is 0; use at least 2 blocks", name));
  }
  const uint32_t min_frame = MinFrameSize(kind);
  if (frame_size < min_frame) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: frame size %u is smaller than the ring header plus an Ethernet header; use at least "
        "%u",
        name, frame_size, min_frame));
  }
  if (frame_size % TPACKET_ALIGNMENT != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: frame size %u is not a multiple of TPACKET_ALIGNMENT (%u); try %u", name, frame_size,
        TPACKET_ALIGNMENT, RoundUp(frame_size, TPACKET_ALIGNMENT)));
  }
  if (frame_size > block_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: frame size %u is larger than the block size %u; raise the block size to at least %u",
        name, frame_size, block_size, RoundUp(frame_size, page)));
  }
  const uint64_t frames = static_cast<uint64_t>(block_size / frame_size) * block_count;
  if (frames > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %u blocks of %u frames is %u frames, more than the kernel counts; use fewer blocks",
        name, block_count, block_size / frame_size, frames));
  }
  const uint64_t total = bytes();
  if (total > (uint64_t{1} << 40)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %u blocks of %u bytes is %u bytes; no machine maps that much, use fewer blocks", name,
        block_count, block_size, total));
  }
  if (kind == RingKind::kTxV3 && block_timeout_ms != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: block timeout must be 0 for a TX ring (got %u ms)", name, block_timeout_ms));
  }
  if (kind == RingKind::kRxV3 && block_timeout_ms > kMaxBlockTimeoutMs) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: block timeout %u ms is above the kernel's limit of %u ms", name,
                        block_timeout_ms, kMaxBlockTimeoutMs));
  }
  return absl::OkStatus();
}

absl::StatusOr<RingConfig> RingConfig::Halved() const {
  if (block_count <= 2) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "cannot shrink the ring below 2 blocks of %u bytes; free memory or use smaller blocks",
        block_size));
  }
  RingConfig smaller = *this;
  smaller.block_count = block_count / 2;
  return smaller;
}

tpacket_req3 RingConfig::ToReq3(RingKind kind) const {
  tpacket_req3 req{};
  req.tp_block_size = block_size;
  req.tp_block_nr = block_count;
  req.tp_frame_size = frame_size;
  req.tp_frame_nr = frame_count();
  req.tp_retire_blk_tov = kind == RingKind::kRxV3 ? block_timeout_ms : 0;
  req.tp_sizeof_priv = 0;
  req.tp_feature_req_word = 0;
  return req;
}

tpacket_req RingConfig::ToReq() const {
  tpacket_req req{};
  req.tp_block_size = block_size;
  req.tp_block_nr = block_count;
  req.tp_frame_size = frame_size;
  req.tp_frame_nr = frame_count();
  return req;
}

}  // namespace ringstamp
