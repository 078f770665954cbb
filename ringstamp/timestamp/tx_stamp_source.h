// tx_stamp_source.h — one interface over the two ways TX stamps come back from the kernel.
//
// Example:
// Given: int fd; TxStampTracker& tracker; void Report(const TxCompletion& c)
//   RS_ASSIGN_OR_RETURN(auto source, OpenTxStampSource(fd, TxTransport::kAuto));
//   // poll(source->wait_fd(), source->wait_events()) in the worker loop, then:
//   DrainResult r = DrainInto(*source, tracker, [](const TxCompletion& c) { Report(c); });
//
// Transports:
//  - kErrorQueue: recvmsg(MSG_ERRQUEUE | MSG_DONTWAIT) on the socket (every
//    kernel; see error_queue_reader.h);
//  - kIoUring: IORING_OP_URING_CMD / SOCKET_URING_OP_TX_TIMESTAMP completions
//    on a CQE32 ring (Linux ≥ 6.15; see uring_tx_stamps.h).
// kAuto probes io_uring once per process and falls back to the error queue.
//
// Ownership: a source never owns the socket; the socket must outlive it.
// Thread-safety: one thread per source (the socket's worker). Cost: Drain is
// bounded by max_events, no allocation; both transports deliver a stamp in
// well under a microsecond of CPU.
#pragma once

#include <poll.h>

#include <memory>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "ringstamp/timestamp/tx_stamp_tracker.h"

namespace ringstamp {

enum class TxTransport : uint8_t { kAuto, kErrorQueue, kIoUring };
std::string_view TxTransportName(TxTransport t);  // "auto", "errqueue", "io_uring"

// What one Drain call did.
struct DrainResult {
  int stamps = 0;      // TX stamp events handed to the callback
  int messages = 0;    // error-queue messages or CQEs consumed
  int not_stamps = 0;  // consumed but not TX stamps (ICMP errors, zerocopy notices, ...)
  int malformed = 0;   // truncated (MSG_CTRUNC) or unparsable control data
  int err = 0;         // errno of a failure other than "nothing more" (0: none)
  bool more = false;   // stopped at max_events: call again
};

// Lifetime totals of a source.
struct TxSourceStats {
  uint64_t stamps = 0;
  uint64_t messages = 0;
  uint64_t not_stamps = 0;
  uint64_t malformed = 0;
  uint64_t errors = 0;
};

class TxStampSource {
 public:
  virtual ~TxStampSource() = default;
  // Non-blocking: hands each TX stamp available now to `on_stamp`, at most
  // `max_events` messages.
  virtual DrainResult Drain(absl::FunctionRef<void(const TxStampEvent&)> on_stamp,
                            int max_events = 256) = 0;
  virtual TxTransport transport() const = 0;
  // What to poll() for: stamps are ready when `wait_fd` reports `wait_events`.
  virtual int wait_fd() const = 0;
  virtual short wait_events() const = 0;
  // Without a syscall: false when Drain would certainly find nothing. The
  // io_uring transport reads its completion queue's shared memory; the error
  // queue cannot be looked at without one, so it always says true.
  virtual bool MayHaveStamps() const { return true; }
  virtual const TxSourceStats& stats() const = 0;
};

// Drains `source` into `tracker`; every send that completes goes to `on_complete`.
DrainResult DrainInto(TxStampSource& source, TxStampTracker& tracker,
                      absl::FunctionRef<void(const TxCompletion&)> on_complete,
                      int max_events = 256);

// Opens a source for socket `fd`, which must already have SO_TIMESTAMPING with
// TX generation flags, a reporting flag and OPT_ID set. kIoUring additionally
// needs OPT_TSONLY (the kernel only hands payload-free stamps to io_uring); it
// fails with a message saying why when the kernel or socket can't do it;
// kAuto falls back to the error queue instead.
absl::StatusOr<std::unique_ptr<TxStampSource>> OpenTxStampSource(
    int fd, TxTransport transport = TxTransport::kAuto);

}  // namespace ringstamp
