// error_queue_reader.h — drains a socket's error queue without blocking and decodes TX stamps.
//
// Example:
// Given: int fd; TxStampTracker& tracker; void OnComplete(const TxCompletion& c); void Show(const ParsedCmsgs& p)
//   ErrorQueueReader reader(fd);                     // fd: SO_TIMESTAMPING with OPT_ID set
//   DrainResult r = DrainInto(reader, tracker, OnComplete);
//   // or raw, e.g. to see every message:
//   reader.DrainMessages([](const ParsedCmsgs& p) { Show(p); });
//
// Each recvmsg(MSG_ERRQUEUE | MSG_DONTWAIT) dequeues one message (one TX
// stamp of one packet and stage); the payload echo (without OPT_TSONLY) is
// cut to a small buffer and dropped. Works on UDP, raw IP and AF_PACKET
// sockets, for sendmsg and TX ring sends alike. poll() signals pending
// messages with POLLERR (always reported, even when not asked for).
//
// Ownership: borrows `fd`; the socket must outlive the reader. Holds its
// receive buffers inline (about 1.3 KiB). Thread-safety: one thread per
// reader. Cost: one recvmsg syscall per message plus ~15 ns of parsing; the
// loop is bounded by max_events.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "ringstamp/timestamp/cmsg_parse.h"
#include "ringstamp/timestamp/tx_stamp_source.h"

namespace ringstamp {

class ErrorQueueReader final : public TxStampSource {
 public:
  explicit ErrorQueueReader(int fd) : fd_(fd) {}
  ErrorQueueReader(const ErrorQueueReader&) = delete;
  ErrorQueueReader& operator=(const ErrorQueueReader&) = delete;

  // Reads up to max_events messages; each parsed control area goes to
  // `on_message` (with MSG_CTRUNC folded into ParsedCmsgs::truncated).
  DrainResult DrainMessages(absl::FunctionRef<void(const ParsedCmsgs&)> on_message,
                            int max_events = 256);

  DrainResult Drain(absl::FunctionRef<void(const TxStampEvent&)> on_stamp,
                    int max_events = 256) override;
  TxTransport transport() const override { return TxTransport::kErrorQueue; }
  int wait_fd() const override { return fd_; }
  short wait_events() const override { return POLLERR; }
  const TxSourceStats& stats() const override { return stats_; }

  int fd() const { return fd_; }

 private:
  static constexpr size_t kControlSize = 1024;  // SCM_TIMESTAMPING + RECVERR + OPT_STATS room
  static constexpr size_t kDataSize = 256;      // payload echo is cut here (MSG_TRUNC)

  int fd_;
  TxSourceStats stats_;
  alignas(8) std::byte control_[kControlSize];
  std::byte data_[kDataSize];
};

}  // namespace ringstamp
