#include "ringstamp/engine/uring_waiter.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ringstamp/common/errno_status.h"

namespace ringstamp {
namespace {
constexpr uint64_t kTagRx = 1;
constexpr uint64_t kTagErr = 2;
constexpr uint64_t kTagWake = 3;
constexpr uint64_t kTagStamp = 4;
constexpr uint64_t kTagIgnore = 5;  // completions of our own cancellations
}  // namespace

absl::StatusOr<std::unique_ptr<UringWaiter>> UringWaiter::Create(int rx_fd, int err_fd,
                                                                 int wake_fd) {
  std::unique_ptr<UringWaiter> w(new UringWaiter());
  w->rx_fd_ = rx_fd;
  w->err_fd_ = err_fd;
  w->wake_fd_ = wake_fd;
  int rc = io_uring_queue_init(16, &w->ring_, 0);
  if (rc < 0) {
    // Refused here (kernel.io_uring_disabled, a seccomp profile, memlock limits): the same
    // events through ppoll().
    w->polling_ = true;
    w->fallback_reason_ = absl::StrCat("io_uring_queue_init: ", std::strerror(-rc));
    return w;
  }
  w->initialised_ = true;
  // The RX poll is armed when the worker goes to sleep (Wait), not here.
  if (err_fd >= 0) w->Arm(err_fd, POLLERR, kTagErr);
  w->Arm(wake_fd, POLLIN, kTagWake);
  rc = io_uring_submit(&w->ring_);
  if (rc < 0) return ErrnoStatus(-rc, "io_uring_submit (multishot poll)");
  return w;
}

UringWaiter::~UringWaiter() {
  if (initialised_) io_uring_queue_exit(&ring_);
}

void UringWaiter::WatchStampFd(int fd, uint32_t mask) {
  stamp_fd_ = fd;
  stamp_mask_ = mask;
  if (polling_) {
    err_fd_ = -1;  // the stamp fd replaces it
    return;
  }
  Arm(fd, mask, kTagStamp);
  if (err_fd_ >= 0) {
    // The stamps no longer wait in the error queue: stop waking for it.
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe != nullptr) {
      io_uring_prep_poll_remove(sqe, kTagErr);
      io_uring_sqe_set_data64(sqe, kTagIgnore);
      err_fd_ = -1;
    }
  }
  io_uring_submit(&ring_);
}

io_uring_sqe* UringWaiter::Sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void UringWaiter::Arm(int fd, uint32_t mask, uint64_t tag) {
  if (polling_) return;
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_poll_multishot(sqe, fd, mask);
  io_uring_sqe_set_data64(sqe, tag);
}

void UringWaiter::ArmRxOnce() {
  if (polling_ || rx_fd_ < 0 || rx_armed_) return;
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_poll_add(sqe, rx_fd_, POLLIN);
  io_uring_sqe_set_data64(sqe, kTagRx);
  rx_armed_ = true;
}

uint32_t UringWaiter::WaitPoll(int64_t timeout_ns) {
  pollfd fds[4];
  uint64_t tags[4];
  nfds_t n = 0;
  auto add = [&](int fd, short mask, uint64_t tag) {
    if (fd < 0) return;
    fds[n] = pollfd{fd, mask, 0};
    tags[n++] = tag;
  };
  add(rx_fd_, POLLIN, kTagRx);
  add(err_fd_, POLLERR, kTagErr);
  add(stamp_fd_, static_cast<short>(stamp_mask_), kTagStamp);
  add(wake_fd_, POLLIN, kTagWake);
  const int64_t t = timeout_ns > 0 ? timeout_ns : 0;
  const timespec ts{t / 1'000'000'000, t % 1'000'000'000};
  const int rc = ppoll(fds, n, &ts, nullptr);
  if (rc <= 0) return kTimeout;
  uint32_t events = 0;
  for (nfds_t i = 0; i < n; ++i) {
    const short re = fds[i].revents;
    if (re == 0) continue;
    if (tags[i] == kTagRx) {
      if (re & POLLIN) events |= kReadable;
      if (re & POLLERR) events |= kErrQueue;
    } else if (tags[i] == kTagWake) {
      events |= kWake;
      uint64_t v;
      (void)!read(wake_fd_, &v, sizeof(v));
    } else {
      events |= kErrQueue;
    }
  }
  return events;
}

uint32_t UringWaiter::Wait(int64_t timeout_ns) {
  if (polling_) return WaitPoll(timeout_ns);
  uint32_t events = 0;
  io_uring_cqe* cqe = nullptr;
  int rc;
  if (timeout_ns > 0) {
    ArmRxOnce();  // submitted with the wait: no system call of its own
    __kernel_timespec ts{timeout_ns / 1'000'000'000, timeout_ns % 1'000'000'000};
    rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  } else {
    io_uring_submit(&ring_);
    rc = io_uring_peek_cqe(&ring_, &cqe);
  }
  if (rc == -ETIME || rc == -EAGAIN || rc == -EINTR) events |= kTimeout;
  unsigned head;
  unsigned seen = 0;
  bool rearm_err = false, rearm_wake = false, rearm_stamp = false;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    const uint64_t tag = io_uring_cqe_get_data64(cqe);
    const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    const int res = cqe->res;
    if (tag == kTagRx) {
      if (res > 0 && (res & POLLIN)) events |= kReadable;
      if (res > 0 && (res & POLLERR)) events |= kErrQueue;
      rx_armed_ = false;  // one-shot: armed again at the next sleep
    } else if (tag == kTagErr) {
      if (res > 0) events |= kErrQueue;
      if (!more) rearm_err = true;
    } else if (tag == kTagStamp) {
      if (res > 0) events |= kErrQueue;
      if (!more) rearm_stamp = true;
    } else if (tag == kTagWake) {
      events |= kWake;
      uint64_t v;
      (void)!read(wake_fd_, &v, sizeof(v));
      if (!more) rearm_wake = true;
    }
  }
  io_uring_cq_advance(&ring_, seen);
  if (rearm_err && err_fd_ >= 0) Arm(err_fd_, POLLERR, kTagErr);
  if (rearm_wake) Arm(wake_fd_, POLLIN, kTagWake);
  if (rearm_stamp && stamp_fd_ >= 0) Arm(stamp_fd_, stamp_mask_, kTagStamp);
  return events;
}

}  // namespace ringstamp
