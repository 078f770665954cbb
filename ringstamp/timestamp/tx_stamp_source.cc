#include "ringstamp/timestamp/tx_stamp_source.h"

#include "absl/strings/str_cat.h"
#include "ringstamp/timestamp/error_queue_reader.h"
#include "ringstamp/timestamp/uring_tx_stamps.h"

namespace ringstamp {

std::string_view TxTransportName(TxTransport t) {
  switch (t) {
    case TxTransport::kAuto:
      return "auto";
    case TxTransport::kErrorQueue:
      return "errqueue";
    case TxTransport::kIoUring:
      return "io_uring";
  }
  return "unknown";
}

DrainResult DrainInto(TxStampSource& source, TxStampTracker& tracker,
                      absl::FunctionRef<void(const TxCompletion&)> on_complete, int max_events) {
  TxCompletion done;
  return source.Drain(
      [&](const TxStampEvent& ev) {
        if (tracker.OnStamp(ev, &done) == TxMatch::kCompleted) on_complete(done);
      },
      max_events);
}

absl::StatusOr<std::unique_ptr<TxStampSource>> OpenTxStampSource(int fd, TxTransport transport) {
  if (fd < 0) return absl::InvalidArgumentError("TX stamp source: no socket (fd < 0)");
  if (transport == TxTransport::kIoUring || transport == TxTransport::kAuto) {
    absl::StatusOr<std::unique_ptr<UringTxStampSource>> u = UringTxStampSource::Create(fd);
    if (u.ok()) return std::unique_ptr<TxStampSource>(std::move(*u));
    if (transport == TxTransport::kIoUring) return u.status();
  }
  return std::unique_ptr<TxStampSource>(new ErrorQueueReader(fd));
}

}  // namespace ringstamp
