#include "ringstamp/timestamp/uring_tx_stamps.h"

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/errno_status.h"
#include "ringstamp/timestamp/kernel_compat.h"
#include "ringstamp/timestamp/so_timestamping.h"

namespace ringstamp {
namespace {

static_assert(sizeof(io_uring_cqe) == 16, "big CQE payload starts at byte 16");

constexpr unsigned kEntries = 256;
constexpr uint64_t kTag = 0x7473'7478'7374'616dULL;  // "tstxstam": our only user_data

// 0 = not probed, 1 = works, -1 = the kernel lacks the command.
std::atomic<int> g_kernel_support{0};

}  // namespace

void PrepTxTimestampSqe(io_uring_sqe* sqe, int fd, uint64_t user_data) {
  io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, nullptr, 0, 0);
  sqe->cmd_op = SOCKET_URING_OP_TX_TIMESTAMP;
  sqe->user_data = user_data;
}

TxCqe DecodeTxTimestampCqe(const io_uring_cqe* cqe) {
  TxCqe out;
  uint32_t flags = 0;
  int32_t res = 0;
  std::memcpy(&flags, reinterpret_cast<const std::byte*>(cqe) + offsetof(io_uring_cqe, flags),
              sizeof(flags));
  std::memcpy(&res, reinterpret_cast<const std::byte*>(cqe) + offsetof(io_uring_cqe, res),
              sizeof(res));
  if (!(flags & IORING_CQE_F_MORE)) {
    out.ended = true;
    out.res = res;
    return out;
  }
  uint64_t sec = 0, nsec = 0;
  const std::byte* big = reinterpret_cast<const std::byte*>(cqe) + sizeof(io_uring_cqe);
  std::memcpy(&sec, big, sizeof(sec));
  std::memcpy(&nsec, big + 8, sizeof(nsec));
  if ((sec == 0 && nsec == 0) || sec >= (uint64_t{1} << 33) ||
      nsec >= static_cast<uint64_t>(kNsPerSec)) {
    out.malformed = true;
    return out;
  }
  TxStampEvent ev;
  ev.key = static_cast<uint32_t>(res);
  ev.kind = TxStampKindFromInfo(flags >> IORING_TIMESTAMP_TYPE_SHIFT);
  int64_t ns = static_cast<int64_t>(sec) * kNsPerSec + static_cast<int64_t>(nsec);
  if (flags & IORING_CQE_F_TSTAMP_HW) {
    ev.hardware_ns = ns;
  } else {
    ev.software_ns = ns;
  }
  out.event = ev;
  return out;
}

bool TxTimestampCmdUnsupported(int res) {
  return res == -EOPNOTSUPP || res == -EINVAL || res == -ENOTSOCK || res == -EBADF;
}

std::optional<bool> UringTxStampSource::KernelSupport() {
  int v = g_kernel_support.load(std::memory_order_relaxed);
  if (v == 0) return std::nullopt;
  return v > 0;
}

absl::StatusOr<std::unique_ptr<UringTxStampSource>> UringTxStampSource::Create(int fd) {
  if (g_kernel_support.load(std::memory_order_relaxed) < 0) {
    return absl::UnimplementedError(
        "io_uring TX stamps: this kernel lacks SOCKET_URING_OP_TX_TIMESTAMP (needs Linux 6.15); "
        "use the error queue");
  }
  absl::StatusOr<TsFlags> flags = GetSocketTimestamping(fd);
  if (!flags.ok()) return flags.status();
  if (!(*flags & kTsOptId) || !(*flags & kTsOptTsonly)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "io_uring TX stamps need SO_TIMESTAMPING with opt_id and opt_tsonly; the socket has ",
        TsFlagsToString(*flags)));
  }
  std::unique_ptr<UringTxStampSource> src(new UringTxStampSource(fd));
  int r = io_uring_queue_init(kEntries, &src->ring_, IORING_SETUP_CQE32);
  if (r < 0) {
    int err = -r;
    if (err == EINVAL) g_kernel_support.store(-1, std::memory_order_relaxed);  // no CQE32: < 5.19
    return ErrnoStatus(err, "io_uring TX stamps: io_uring_queue_init(CQE32)",
                       err == EPERM || err == ENOSYS
                           ? "io_uring is disabled here (kernel.io_uring_disabled); use the error "
                             "queue"
                           : "use the error queue");
  }
  src->ring_ok_ = true;
  r = src->Arm();
  if (r < 0) return ErrnoStatus(-r, "io_uring TX stamps: submit SOCKET_URING_OP_TX_TIMESTAMP");
  // An unsupported command completes at once; an armed one stays silent
  // until stamps arrive. Leave stamp CQEs for Drain.
  io_uring_cqe* cqe = nullptr;
  if (io_uring_peek_cqe(&src->ring_, &cqe) == 0 && cqe != nullptr &&
      !(cqe->flags & IORING_CQE_F_MORE)) {
    int res = cqe->res;
    io_uring_cqe_seen(&src->ring_, cqe);
    src->armed_ = false;
    if (TxTimestampCmdUnsupported(res)) {
      if (res == -EOPNOTSUPP || res == -EINVAL) {
        g_kernel_support.store(-1, std::memory_order_relaxed);
      }
      return ErrnoStatus(-res, "io_uring TX stamps: SOCKET_URING_OP_TX_TIMESTAMP",
                         "the kernel lacks it (needs Linux 6.15); use the error queue");
    }
    r = src->Arm();
    if (r < 0) return ErrnoStatus(-r, "io_uring TX stamps: re-arm");
  }
  g_kernel_support.store(1, std::memory_order_relaxed);
  return src;
}

UringTxStampSource::~UringTxStampSource() {
  if (ring_ok_) io_uring_queue_exit(&ring_);
}

int UringTxStampSource::Arm() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    int r = io_uring_submit(&ring_);
    if (r < 0) return r;
    sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return -EBUSY;
  }
  PrepTxTimestampSqe(sqe, fd_, kTag);
  int r = io_uring_submit(&ring_);
  if (r < 0) return r;
  armed_ = true;
  return 0;
}

DrainResult UringTxStampSource::Drain(absl::FunctionRef<void(const TxStampEvent&)> on_stamp,
                                      int max_events) {
  DrainResult r;
  bool rearmed = false;
  for (int i = 0; i < max_events; ++i) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(&ring_, &cqe) != 0 || cqe == nullptr) {
      if (!armed_ && !rearmed && r.err == 0) {  // ended earlier without a re-arm: try once
        int a = Arm();
        if (a < 0) {
          r.err = -a;
          ++stats_.errors;
        } else {
          ++rearms_;
        }
      }
      return r;
    }
    TxCqe c = DecodeTxTimestampCqe(cqe);
    io_uring_cqe_seen(&ring_, cqe);
    ++r.messages;
    ++stats_.messages;
    if (c.event) {
      ++r.stamps;
      ++stats_.stamps;
      on_stamp(*c.event);
    } else if (c.malformed) {
      ++r.malformed;
      ++stats_.malformed;
    }
    if (c.ended) {
      armed_ = false;
      if (TxTimestampCmdUnsupported(c.res)) {
        r.err = -c.res;
        ++stats_.errors;
        return r;
      }
      if (!rearmed) {  // at most one re-arm per call: a command that keeps ending can't spin
        rearmed = true;
        int a = Arm();
        if (a < 0) {
          r.err = -a;
          ++stats_.errors;
          return r;
        }
        ++rearms_;
      }
    }
  }
  r.more = true;
  return r;
}

}  // namespace ringstamp
