#include "ringstamp/ring/netlink_link.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/errno_status.h"

namespace ringstamp {
namespace {

static_assert(sizeof(nlmsghdr) == 16, "nlmsghdr layout");
static_assert(sizeof(ifinfomsg) == 16, "ifinfomsg layout");
static_assert(sizeof(ifaddrmsg) == 8, "ifaddrmsg layout");

constexpr char kListLinks[] = "`ip link` lists the links of this network namespace";

absl::Status CheckLinkName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("empty interface name");
  if (name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "interface name '%s' is longer than %d characters", ToAbsl(name), IFNAMSIZ - 1));
  }
  if (name.find_first_of(std::string_view("/ \t\n:\0", 6)) != std::string_view::npos ||
      name == "." || name == "..") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "interface name '%s' contains a character Linux refuses ('/', ':', blanks)", ToAbsl(name)));
  }
  return absl::OkStatus();
}

std::string_view CapHint(int err) {
  if (err == EPERM || err == EACCES) {
    return "changing links needs CAP_NET_ADMIN in this network namespace (run as root)";
  }
  return {};
}

std::string_view LinkGoneHint(int err) {
  if (err == ENODEV) return "the link disappeared (deleted by someone else?)";
  return CapHint(err);
}

std::string_view MacHint(int err) {
  if (err == EADDRNOTAVAIL || err == EINVAL) {
    return "the kernel takes only a unicast, non-zero MAC (e.g. 02:00:00:00:00:01: locally "
           "administered)";
  }
  if (err == EBUSY) return "this device changes its MAC only while down";
  return LinkGoneHint(err);
}

std::string_view MtuHint(int err) {
  if (err == EINVAL) {
    return "the MTU is outside what the device accepts (`ip -d link show` prints minmtu/maxmtu)";
  }
  return LinkGoneHint(err);
}

std::string_view AddAddressHint(int err) {
  if (err == EEXIST) return "the address is already assigned (`ip addr show` lists it)";
  if (err == EACCES) {
    return "IPv6 may be disabled on the link (sysctl net.ipv6.conf.<link>.disable_ipv6)";
  }
  if (err == EAFNOSUPPORT) return "the kernel has no support for this address family";
  if (err == ENOBUFS) {
    return "the link has no IPv4 configuration (an MTU below 68 removes it; raise the MTU)";
  }
  return LinkGoneHint(err);
}

std::string_view RemoveAddressHint(int err) {
  if (err == EADDRNOTAVAIL || err == ENOENT || err == ESRCH) {
    return "the link does not have this address (`ip addr show` lists its addresses)";
  }
  return LinkGoneHint(err);
}

std::string_view DeleteHint(int err) {
  if (err == EOPNOTSUPP) return "this kind of device cannot be deleted through rtnetlink";
  return LinkGoneHint(err);
}

std::string_view NoHint(int) { return {}; }

// Calls fn(attr) for each attribute after `offset` payload bytes (libmnl's
// mnl_attr_for_each without its C-only void* conversion).
template <class F>
void ForEachAttr(const nlmsghdr* nlh, size_t offset, F&& fn) {
  const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, offset));
       mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)));
       attr = mnl_attr_next(attr)) {
    fn(attr);
  }
}

// Reads NLMSGERR_ATTR_MSG of an error/ACK message when the kernel sent one.
std::string ExtAckMessage(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return {};
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  size_t offset = sizeof(nlmsgerr);
  if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0) offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
  if (offset + sizeof(nlmsghdr) > nlh->nlmsg_len) return {};
  std::string text;
  ForEachAttr(nlh, offset, [&](const nlattr* attr) {
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
        mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) {
      text = mnl_attr_get_str(attr);
    }
  });
  return text;
}

struct FindResult {
  std::optional<LinkInfo> info;
};

void OnLinkReply(const nlmsghdr* nlh, void* data) {
  if (nlh->nlmsg_type != RTM_NEWLINK) return;
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) return;
  auto* out = static_cast<FindResult*>(data);
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  LinkInfo info;
  info.ref.index = ifi->ifi_index;
  info.flags = ifi->ifi_flags;
  ForEachAttr(nlh, sizeof(ifinfomsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case IFLA_IFNAME:
        if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
          info.ref.name = mnl_attr_get_str(attr);
        break;
      case IFLA_MTU:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) info.mtu = mnl_attr_get_u32(attr);
        break;
      case IFLA_TXQLEN:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) info.tx_queue_len = mnl_attr_get_u32(attr);
        break;
      case IFLA_STATS64:
        if (mnl_attr_get_payload_len(attr) >= sizeof(rtnl_link_stats64)) {
          rtnl_link_stats64 st;
          std::memcpy(&st, mnl_attr_get_payload(attr), sizeof(st));
          info.counters = LinkCounters{.rx_packets = st.rx_packets,
                                       .tx_packets = st.tx_packets,
                                       .rx_bytes = st.rx_bytes,
                                       .tx_bytes = st.tx_bytes,
                                       .rx_dropped = st.rx_dropped,
                                       .tx_dropped = st.tx_dropped};
        }
        break;
      case IFLA_ADDRESS:
        if (mnl_attr_get_payload_len(attr) == 6) {
          std::array<uint8_t, 6> mac;
          std::memcpy(mac.data(), mnl_attr_get_payload(attr), 6);
          info.mac = mac;
        }
        break;
      default:
        break;
    }
  });
  out->info = std::move(info);
}

}  // namespace

size_t IpPrefix::addr_len() const { return family == AF_INET6 ? 16 : 4; }

std::string IpPrefix::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, addr.data(), text, sizeof(text)) == nullptr) return "?";
  return absl::StrCat(text, "/", prefix_len);
}

absl::StatusOr<IpPrefix> ParseIpPrefix(std::string_view cidr) {
  const size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "address '%s' has no prefix length; write it as ADDR/LEN (192.168.0.100/24, "
        "fd00::100/64)",
        ToAbsl(cidr)));
  }
  const std::string addr_text(cidr.substr(0, slash));
  const std::string_view len_text = cidr.substr(slash + 1);
  IpPrefix p;
  if (inet_pton(AF_INET, addr_text.c_str(), p.addr.data()) == 1) {
    p.family = AF_INET;
  } else if (inet_pton(AF_INET6, addr_text.c_str(), p.addr.data()) == 1) {
    p.family = AF_INET6;
  } else {
    return absl::InvalidArgumentError(
        absl::StrFormat("'%s' in '%s' is not an IPv4 or IPv6 address", addr_text, ToAbsl(cidr)));
  }
  unsigned len = 0;
  const char* end = len_text.data() + len_text.size();
  auto [ptr, ec] = std::from_chars(len_text.data(), end, len);
  const unsigned max_len = p.family == AF_INET ? 32 : 128;
  if (len_text.empty() || ec != std::errc() || ptr != end || len > max_len) {
    return absl::InvalidArgumentError(
        absl::StrFormat("prefix length '%s' in '%s' is not a number from 0 to %u", ToAbsl(len_text),
                        ToAbsl(cidr), max_len));
  }
  p.prefix_len = static_cast<uint8_t>(len);
  return p;
}

NetlinkLink::NetlinkLink(mnl_socket* sock)
    : sock_(sock),
      portid_(mnl_socket_get_portid(sock)),
      seq_(static_cast<uint32_t>(time(nullptr))),
      buf_(std::make_unique<std::byte[]>(kBufSize)) {}

NetlinkLink::NetlinkLink(NetlinkLink&& other) noexcept
    : sock_(std::exchange(other.sock_, nullptr)),
      portid_(other.portid_),
      seq_(other.seq_),
      buf_(std::move(other.buf_)) {}

NetlinkLink& NetlinkLink::operator=(NetlinkLink&& other) noexcept {
  if (this != &other) {
    if (sock_ != nullptr) mnl_socket_close(sock_);
    sock_ = std::exchange(other.sock_, nullptr);
    portid_ = other.portid_;
    seq_ = other.seq_;
    buf_ = std::move(other.buf_);
  }
  return *this;
}

NetlinkLink::~NetlinkLink() {
  if (sock_ != nullptr) mnl_socket_close(sock_);
}

int NetlinkLink::fd() const { return sock_ ? mnl_socket_get_fd(sock_) : -1; }

absl::StatusOr<NetlinkLink> NetlinkLink::Open() {
  mnl_socket* sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (sock == nullptr) {
    return ErrnoStatus(errno, "socket(AF_NETLINK, NETLINK_ROUTE)",
                       "the kernel has no rtnetlink or the process may not open sockets");
  }
  NetlinkLink nl(sock);  // closes the socket on the error paths below
  int one = 1;
  // Extended ACKs carry the kernel's own words; capped ACKs skip the echoed request.
  // Both are optional (older kernels): failures are ignored.
  (void)mnl_socket_setsockopt(sock, NETLINK_EXT_ACK, &one, sizeof(one));
  (void)mnl_socket_setsockopt(sock, NETLINK_CAP_ACK, &one, sizeof(one));
  timeval tv{.tv_sec = 5, .tv_usec = 0};
  if (setsockopt(mnl_socket_get_fd(sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
    return ErrnoStatus(errno, "netlink: SO_RCVTIMEO");
  }
  if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) != 0) {
    return ErrnoStatus(errno, "netlink: bind");
  }
  nl.portid_ = mnl_socket_get_portid(sock);
  return nl;
}

nlmsghdr* NetlinkLink::StartRequest(uint16_t type, uint16_t flags) {
  std::memset(buf_.get(), 0, MNL_NLMSG_HDRLEN);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.get());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  nlh->nlmsg_seq = ++seq_;
  return nlh;
}

absl::Status NetlinkLink::Request(nlmsghdr* request, std::string_view what, HintFn hint,
                                  ReplyFn on_reply, void* reply_data) {
  const uint32_t seq = request->nlmsg_seq;
  last_errno_ = 0;
  if (mnl_socket_sendto(sock_, request, request->nlmsg_len) < 0) {
    int err = errno;
    return ErrnoStatus(err, absl::StrCat(ToAbsl(what), ": netlink sendto"), hint(err));
  }
  // The reply may come in several datagrams; messages of other sequence numbers
  // (late answers to earlier requests) are skipped.
  for (int datagrams = 0; datagrams < 64; ++datagrams) {
    ssize_t n = mnl_socket_recvfrom(sock_, buf_.get(), kBufSize);
    if (n < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        return absl::DeadlineExceededError(
            absl::StrCat(ToAbsl(what), ": no answer from the kernel within 5 s"));
      }
      if (err == EINTR) continue;
      return ErrnoStatus(err, absl::StrCat(ToAbsl(what), ": netlink recv"));
    }
    int len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf_.get()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_seq != seq || !mnl_nlmsg_portid_ok(nlh, portid_)) continue;
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
          return absl::InternalError(absl::StrCat(ToAbsl(what), ": truncated netlink error"));
        }
        const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (e->error == 0) return absl::OkStatus();  // the ACK
        const int err = -e->error;
        last_errno_ = err;
        const std::string kernel_says = ExtAckMessage(nlh);
        std::string full_hint;
        if (!kernel_says.empty()) full_hint = absl::StrCat("the kernel says: ", kernel_says);
        const std::string_view h = hint(err);
        if (!h.empty()) {
          absl::StrAppend(&full_hint, full_hint.empty() ? "" : "; ", ToAbsl(h));
        }
        return ErrnoStatus(err, what, full_hint);
      }
      if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_NOOP) continue;
      if (on_reply != nullptr) on_reply(nlh, reply_data);
    }
  }
  return absl::InternalError(absl::StrCat(ToAbsl(what), ": the kernel never acknowledged"));
}

absl::StatusOr<std::optional<LinkInfo>> NetlinkLink::Find(std::string_view name) {
  if (absl::Status s = CheckLinkName(name); !s.ok()) return s;
  nlmsghdr* nlh = StartRequest(RTM_GETLINK, 0);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put(nlh, IFLA_IFNAME, name.size() + 1, std::string(name).c_str());
  mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  FindResult result;
  absl::Status s =
      Request(nlh, absl::StrCat(ToAbsl(name), ": RTM_GETLINK"), NoHint, OnLinkReply, &result);
  if (!s.ok()) {
    if (last_errno_ == ENODEV) return std::optional<LinkInfo>();
    return s;
  }
  if (!result.info) {
    return absl::InternalError(
        absl::StrCat(ToAbsl(name), ": RTM_GETLINK was acknowledged without a link description"));
  }
  return result.info;
}

absl::StatusOr<LinkRef> NetlinkLink::Lookup(std::string_view name) {
  auto found = Find(name);
  if (!found.ok()) return found.status();
  if (!found->has_value()) {
    return absl::NotFoundError(absl::StrFormat("no link named '%s' in this network namespace; %s",
                                               ToAbsl(name), kListLinks));
  }
  return (*found)->ref;
}

absl::StatusOr<bool> NetlinkLink::Exists(std::string_view name) {
  auto found = Find(name);
  if (!found.ok()) return found.status();
  return found->has_value();
}

absl::StatusOr<LinkInfo> NetlinkLink::Query(const LinkRef& link) {
  nlmsghdr* nlh = StartRequest(RTM_GETLINK, 0);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = link.index;
  FindResult result;
  absl::Status s = Request(nlh, absl::StrFormat("%s: RTM_GETLINK", link.name), LinkGoneHint,
                           OnLinkReply, &result);
  if (!s.ok()) {
    if (last_errno_ == ENODEV) {
      return absl::NotFoundError(absl::StrFormat("%s (ifindex %d) no longer exists; %s", link.name,
                                                 link.index, kListLinks));
    }
    return s;
  }
  if (!result.info) {
    return absl::InternalError(
        absl::StrCat(link.name, ": RTM_GETLINK was acknowledged without a link description"));
  }
  return *std::move(result.info);
}

absl::Status NetlinkLink::SetTxQueueLen(const LinkRef& link, uint32_t frames) {
  nlmsghdr* nlh = StartRequest(RTM_SETLINK, 0);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = link.index;
  mnl_attr_put_u32(nlh, IFLA_TXQLEN, frames);
  return Request(nlh, absl::StrFormat("%s: set txqueuelen %u (RTM_SETLINK)", link.name, frames),
                 LinkGoneHint);
}

absl::Status NetlinkLink::SetMac(const LinkRef& link, const std::array<uint8_t, 6>& mac) {
  nlmsghdr* nlh = StartRequest(RTM_SETLINK, 0);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = link.index;
  mnl_attr_put(nlh, IFLA_ADDRESS, mac.size(), mac.data());
  return Request(nlh,
                 absl::StrFormat("%s: set MAC %02x:%02x:%02x:%02x:%02x:%02x (RTM_SETLINK)",
                                 link.name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]),
                 MacHint);
}

absl::Status NetlinkLink::SetMtu(const LinkRef& link, uint32_t mtu) {
  nlmsghdr* nlh = StartRequest(RTM_SETLINK, 0);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = link.index;
  mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  return Request(nlh, absl::StrFormat("%s: set MTU %u (RTM_SETLINK)", link.name, mtu), MtuHint);
}

absl::Status NetlinkLink::SetUp(const LinkRef& link, bool up) {
  nlmsghdr* nlh = StartRequest(RTM_SETLINK, 0);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = link.index;
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = up ? IFF_UP : 0;
  return Request(nlh,
                 absl::StrFormat("%s: set link %s (RTM_SETLINK)", link.name, up ? "up" : "down"),
                 LinkGoneHint);
}

absl::Status NetlinkLink::AddAddress(const LinkRef& link, const IpPrefix& prefix,
                                     const AddressOptions& options) {
  if (prefix.family != AF_INET && prefix.family != AF_INET6) {
    return absl::InvalidArgumentError(
        absl::StrCat(link.name, ": add address: no address family (use ParseIpPrefix)"));
  }
  nlmsghdr* nlh = StartRequest(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<uint8_t>(prefix.family);
  ifa->ifa_prefixlen = prefix.prefix_len;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<uint32_t>(link.index);
  uint32_t flags = 0;
  if (prefix.family == AF_INET6 && options.no_dad) flags |= IFA_F_NODAD;
  ifa->ifa_flags = static_cast<uint8_t>(flags);
  mnl_attr_put(nlh, IFA_LOCAL, prefix.addr_len(), prefix.addr.data());
  mnl_attr_put(nlh, IFA_ADDRESS, prefix.addr_len(), prefix.addr.data());
  if (flags != 0) mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
  return Request(nlh,
                 absl::StrFormat("%s: add address %s (RTM_NEWADDR)", link.name, prefix.ToString()),
                 AddAddressHint);
}

absl::Status NetlinkLink::RemoveAddress(const LinkRef& link, const IpPrefix& prefix) {
  if (prefix.family != AF_INET && prefix.family != AF_INET6) {
    return absl::InvalidArgumentError(
        absl::StrCat(link.name, ": remove address: no address family (use ParseIpPrefix)"));
  }
  nlmsghdr* nlh = StartRequest(RTM_DELADDR, 0);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<uint8_t>(prefix.family);
  ifa->ifa_prefixlen = prefix.prefix_len;
  ifa->ifa_index = static_cast<uint32_t>(link.index);
  mnl_attr_put(nlh, IFA_LOCAL, prefix.addr_len(), prefix.addr.data());
  mnl_attr_put(nlh, IFA_ADDRESS, prefix.addr_len(), prefix.addr.data());
  return Request(
      nlh, absl::StrFormat("%s: remove address %s (RTM_DELADDR)", link.name, prefix.ToString()),
      RemoveAddressHint);
}

absl::Status NetlinkLink::DeleteLink(const LinkRef& link) {
  nlmsghdr* nlh = StartRequest(RTM_DELLINK, 0);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = link.index;
  return Request(nlh, absl::StrFormat("%s: delete link (RTM_DELLINK)", link.name), DeleteHint);
}

absl::Status NetlinkLink::DeleteLink(std::string_view name) {
  if (absl::Status s = CheckLinkName(name); !s.ok()) return s;
  nlmsghdr* nlh = StartRequest(RTM_DELLINK, 0);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put(nlh, IFLA_IFNAME, name.size() + 1, std::string(name).c_str());
  return Request(nlh, absl::StrFormat("%s: delete link (RTM_DELLINK)", ToAbsl(name)), DeleteHint);
}

size_t NetlinkLink::BuildDeleteLinkRequest(int ifindex, uint32_t seq, std::span<std::byte> out) {
  constexpr size_t kLen = sizeof(nlmsghdr) + sizeof(ifinfomsg);
  if (out.size() < kLen) return 0;
  nlmsghdr h{};
  h.nlmsg_len = kLen;
  h.nlmsg_type = RTM_DELLINK;
  h.nlmsg_flags = NLM_F_REQUEST;
  h.nlmsg_seq = seq;
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  std::memcpy(out.data(), &h, sizeof(h));
  std::memcpy(out.data() + sizeof(h), &ifi, sizeof(ifi));
  return kLen;
}

}  // namespace ringstamp
