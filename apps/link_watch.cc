#include "apps/link_watch.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "ringstamp/common/fd.h"

namespace ringstamp::app {

LinkWatch::LinkWatch(std::string ifname, int64_t every_ns)
    : ifname_(std::move(ifname)), every_ns_(every_ns), ifindex_(if_nametoindex(ifname_.c_str())) {
  state_ = Read();
}

LinkState LinkWatch::Read() const {
  const unsigned now = if_nametoindex(ifname_.c_str());
  if (ifindex_ == 0 || now != ifindex_) return LinkState::kGone;
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return state_;  // cannot tell: no change
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname_.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd.get(), SIOCGIFFLAGS, &ifr) != 0) return LinkState::kGone;
  return (ifr.ifr_flags & IFF_UP) != 0 ? LinkState::kUp : LinkState::kDown;
}

std::optional<LinkState> LinkWatch::Poll(int64_t now_ns) {
  if (now_ns < next_ns_ || state_ == LinkState::kGone) return std::nullopt;
  next_ns_ = now_ns + every_ns_;
  const LinkState now = Read();
  if (now == state_) return std::nullopt;
  if (state_ == LinkState::kUp) ++outages_;
  state_ = now;
  return now;
}

std::string LinkWatch::Describe(LinkState s) const {
  switch (s) {
    case LinkState::kUp:
      return ifname_ + " is up again";
    case LinkState::kDown:
      return ifname_ + " went down";
    case LinkState::kGone:
      return ifname_ + " was removed";
  }
  return ifname_;
}

}  // namespace ringstamp::app
