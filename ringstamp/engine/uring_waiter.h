// uring_waiter.h — UringWaiter: one worker's sleep, in io_uring instead of poll().
//
// Example:
// Given: int rx_fd; int tx_fd; int wake_fd; void DrainRing(); void DrainTxStamps()
//   RS_ASSIGN_OR_RETURN(auto waiter, UringWaiter::Create(rx_fd, tx_fd, wake_fd));
//   uint32_t ev = waiter->Wait(/*timeout_ns=*/1'000'000);
//   if (ev & UringWaiter::kReadable) DrainRing();
//   if (ev & UringWaiter::kErrQueue) DrainTxStamps();
//
// A one-shot POLL_ADD on the packet socket (POLLIN: a block or frame retired to
// userspace), armed only when the worker goes to sleep, in the same io_uring_enter as the
// wait: while the worker is busy no poll sits on the socket's wait queue, so the kernel's
// data-ready callback for each frame (which runs on the sending CPU, on veth) finds nobody
// to wake. A multishot poll there cost a wake-up callback and a completion per frame. Multishot
// polls stay on the rarer events: POLLERR on the TX socket (TX stamps on the error queue) and
// an eventfd (stop / wake from other threads), re-armed when the kernel ends them; the
// timeout is the wait's own. With TX stamps coming as
// io_uring completions (ringstamp/timestamp/uring_tx_stamps.h), the stamp ring's fd is
// watched instead of the socket's POLLERR (WatchStampFd). One waiter per worker
// thread; not thread-safe. Cost: one io_uring_enter per sleep, none while busy. Where
// io_uring is refused (kernel.io_uring_disabled=2, seccomp) it sleeps in ppoll() instead.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace ringstamp {

class UringWaiter {
 public:
  static constexpr uint32_t kReadable = 1u << 0;
  static constexpr uint32_t kErrQueue = 1u << 1;
  static constexpr uint32_t kWake = 1u << 2;
  static constexpr uint32_t kTimeout = 1u << 3;

  // rx_fd may be -1 (TX-only worker); err_fd may equal rx_fd or be -1.
  static absl::StatusOr<std::unique_ptr<UringWaiter>> Create(int rx_fd, int err_fd, int wake_fd);
  ~UringWaiter();
  UringWaiter(const UringWaiter&) = delete;
  UringWaiter& operator=(const UringWaiter&) = delete;

  // Sleeps until an event or `timeout_ns` (≤ 0: don't sleep, just collect).
  // Returns the events seen (bit set).
  uint32_t Wait(int64_t timeout_ns);

  // Also wakes for `fd` becoming ready for `mask` (reported as kErrQueue): the
  // completion ring of an io_uring TX-stamp source (POLLIN), or a TX socket's
  // error queue (POLLERR). One such fd; replaces the err_fd given to Create.
  void WatchStampFd(int fd, uint32_t mask);

  // True when io_uring could not be set up here (kernel.io_uring_disabled, a seccomp
  // profile, RLIMIT_MEMLOCK) and the waiter sleeps in ppoll() instead: the same events,
  // one poll set rebuilt per sleep. `fallback_reason()` says why.
  bool polling() const { return polling_; }
  const std::string& fallback_reason() const { return fallback_reason_; }

 private:
  UringWaiter() = default;
  io_uring_sqe* Sqe();
  void Arm(int fd, uint32_t mask, uint64_t tag);  // multishot
  void ArmRxOnce();                               // one-shot RX poll, if not armed
  uint32_t WaitPoll(int64_t timeout_ns);
  io_uring ring_{};
  bool initialised_ = false;
  bool polling_ = false;
  std::string fallback_reason_;
  int rx_fd_ = -1, err_fd_ = -1, wake_fd_ = -1, stamp_fd_ = -1;
  uint32_t stamp_mask_ = 0;
  bool rx_armed_ = false;  // the one-shot RX poll is in the kernel
};

}  // namespace ringstamp
