#include "ringstamp/timestamp/error_queue_reader.h"

#include <sys/socket.h>

#include <cerrno>

namespace ringstamp {

DrainResult ErrorQueueReader::DrainMessages(absl::FunctionRef<void(const ParsedCmsgs&)> on_message,
                                            int max_events) {
  DrainResult r;
  for (int i = 0; i < max_events; ++i) {
    iovec iov{data_, kDataSize};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control_;
    msg.msg_controllen = kControlSize;
    ssize_t n = recvmsg(fd_, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err != EAGAIN && err != EWOULDBLOCK) {
        r.err = err;
        ++stats_.errors;
      }
      return r;
    }
    ++r.messages;
    ++stats_.messages;
    size_t controllen = msg.msg_controllen <= kControlSize ? msg.msg_controllen : kControlSize;
    ParsedCmsgs p = ParseCmsgs(std::span<const std::byte>(control_, controllen));
    if (msg.msg_flags & MSG_CTRUNC) p.truncated = true;
    on_message(p);
  }
  r.more = true;
  return r;
}

DrainResult ErrorQueueReader::Drain(absl::FunctionRef<void(const TxStampEvent&)> on_stamp,
                                    int max_events) {
  int stamps = 0, not_stamps = 0, malformed = 0;
  DrainResult r = DrainMessages(
      [&](const ParsedCmsgs& p) {
        if (!p.ok()) ++malformed;
        std::optional<TxStampEvent> ev = TxStampEvent::FromCmsgs(p);
        if (!ev) {
          ++not_stamps;
          return;
        }
        ++stamps;
        on_stamp(*ev);
      },
      max_events);
  r.stamps = stamps;
  r.not_stamps = not_stamps;
  r.malformed = malformed;
  stats_.stamps += stamps;
  stats_.not_stamps += not_stamps;
  stats_.malformed += malformed;
  return r;
}

}  // namespace ringstamp
