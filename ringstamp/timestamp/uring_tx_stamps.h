// uring_tx_stamps.h — TX stamps as io_uring completions (SOCKET_URING_OP_TX_TIMESTAMP, Linux
// ≥ 6.15).
//
// Example:
// Given: io_uring& ring; int fd; const io_uring_cqe* cqe; TxStampTracker& tracker
//   // A worker with its own CQE32 ring:
//   constexpr uint64_t kTxStampTag = 1;
//   PrepTxTimestampSqe(io_uring_get_sqe(&ring), fd, kTxStampTag);   // arm once
//   ... for each CQE with user_data == kTxStampTag:
//   TxCqe c = DecodeTxTimestampCqe(cqe);
//   TxCompletion done;
//   if (c.event) tracker.OnStamp(*c.event, &done);
//   if (c.ended) PrepTxTimestampSqe(io_uring_get_sqe(&ring), fd, kTxStampTag);  // re-arm (or fall
//   // back if c.res says unsupported)
//
// Example:
// Given: int fd
//   // Or self-contained, behind TxStampSource:
//   RS_ASSIGN_OR_RETURN(auto src, UringTxStampSource::Create(fd));
//
// The command is multishot: once armed it posts one 32-byte CQE per TX stamp
// (IORING_CQE_F_MORE set; res = the OPT_ID key; flags >> IORING_TIMESTAMP_TYPE_SHIFT
// = SCM_TSTAMP_*; IORING_CQE_F_TSTAMP_HW for a hardware stamp; the stamp as
// io_timespec {u64 sec, u64 nsec} in the CQE's second half) until a final CQE
// without F_MORE ends it (res 0, or -errno: -EOPNOTSUPP / -EINVAL on kernels
// without it, -EINVAL on a ring without IORING_SETUP_CQE32). The kernel only
// hands over stamps without payload: the socket needs OPT_TSONLY. Other
// error-queue messages (ICMP errors) stay in the error queue.
//
// Ownership: UringTxStampSource owns its io_uring (256 SQEs, CQE32) and
// borrows the socket, which must outlive it. Thread-safety: one thread per
// source / per ring. Cost: no syscall per stamp (CQEs are read from shared
// memory); one io_uring_enter per re-arm.
#pragma once

#include <liburing.h>

#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "ringstamp/timestamp/tx_stamp_source.h"

namespace ringstamp {

// Fills `sqe` with the TX timestamp command for socket `fd`.
void PrepTxTimestampSqe(io_uring_sqe* sqe, int fd, uint64_t user_data);

struct TxCqe {
  std::optional<TxStampEvent> event;  // a stamp (F_MORE set, valid timespec)
  bool ended = false;                 // final CQE: the command must be re-armed to get more
  int res = 0;                        // for an ended command: 0 or -errno
  bool malformed = false;             // F_MORE set but the timespec is out of range or zero
};

// Decodes one CQE of the TX timestamp command. `cqe` must point at a 32-byte
// CQE (a ring made with IORING_SETUP_CQE32). Pure: reads 32 bytes, any thread.
TxCqe DecodeTxTimestampCqe(const io_uring_cqe* cqe);

// True when a final CQE's res says the kernel cannot do this at all (as
// opposed to a one-off end that a re-arm fixes).
bool TxTimestampCmdUnsupported(int res);

class UringTxStampSource final : public TxStampSource {
 public:
  // Sets up a CQE32 ring and arms the command on `fd`. Fails with a message
  // naming the reason (kernel too old, io_uring disabled, socket lacks
  // OPT_TSONLY/OPT_ID); the first "kernel lacks it" answer is remembered for
  // the process so kAuto does not probe again.
  static absl::StatusOr<std::unique_ptr<UringTxStampSource>> Create(int fd);
  ~UringTxStampSource() override;

  DrainResult Drain(absl::FunctionRef<void(const TxStampEvent&)> on_stamp,
                    int max_events = 256) override;
  TxTransport transport() const override { return TxTransport::kIoUring; }
  int wait_fd() const override { return ring_.ring_fd; }
  short wait_events() const override { return POLLIN; }
  bool MayHaveStamps() const override {
    return io_uring_cq_ready(const_cast<io_uring*>(&ring_)) > 0;
  }
  const TxSourceStats& stats() const override { return stats_; }

  uint64_t rearms() const { return rearms_; }

  // Process-wide probe result: nullopt before the first probe.
  static std::optional<bool> KernelSupport();

 private:
  explicit UringTxStampSource(int fd) : fd_(fd) {}
  int Arm();  // 0 or -errno

  int fd_;
  io_uring ring_{};
  bool ring_ok_ = false;
  bool armed_ = false;
  uint64_t rearms_ = 0;
  TxSourceStats stats_;
};

}  // namespace ringstamp
