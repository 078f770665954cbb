#include "ringstamp/ring/packet_socket.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/errno_status.h"

namespace ringstamp {
namespace {

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

absl::Status SetIntOpt(int fd, int level, int name, int value, std::string_view what,
                       std::string_view ifname, std::string_view hint = {}) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
    int err = errno;
    return ErrnoStatus(err, absl::StrCat(ToAbsl(ifname), ": ", ToAbsl(what)), hint);
  }
  return absl::OkStatus();
}

absl::Status CheckName(std::string_view ifname) {
  if (ifname.empty()) {
    return absl::InvalidArgumentError("no interface given; pass one with -i (see `ip link`)");
  }
  if (ifname.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "interface name '%s' is longer than %d characters", ToAbsl(ifname), IFNAMSIZ - 1));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int> InterfaceIndex(std::string_view ifname) {
  if (absl::Status s = CheckName(ifname); !s.ok()) return s;
  std::string name(ifname);
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) {
    int err = errno;
    if (err == ENODEV || err == ENXIO) {
      return absl::NotFoundError(absl::StrFormat(
          "no interface named '%s' in this network namespace; `ip link` lists the interfaces "
          "(run inside the right namespace with `ip netns exec NAME ...`)",
          name));
    }
    return ErrnoStatus(err, absl::StrCat(name, ": if_nametoindex"));
  }
  return static_cast<int>(idx);
}

absl::StatusOr<uint32_t> InterfaceMtu(std::string_view ifname) {
  if (absl::Status s = CheckName(ifname); !s.ok()) return s;
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus(errno, "socket(AF_INET) for SIOCGIFMTU");
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  if (ioctl(fd.get(), SIOCGIFMTU, &ifr) != 0) {
    int err = errno;
    return ErrnoStatus(err, absl::StrCat(ToAbsl(ifname), ": SIOCGIFMTU"));
  }
  return static_cast<uint32_t>(ifr.ifr_mtu);
}

absl::StatusOr<std::array<uint8_t, 6>> InterfaceMac(std::string_view ifname) {
  if (absl::Status s = CheckName(ifname); !s.ok()) return s;
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus(errno, "socket(AF_INET) for SIOCGIFHWADDR");
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  if (ioctl(fd.get(), SIOCGIFHWADDR, &ifr) != 0) {
    int err = errno;
    if (err == ENODEV) return InterfaceIndex(ifname).status();  // the clear "no interface" message
    return ErrnoStatus(err, absl::StrCat(ToAbsl(ifname), ": SIOCGIFHWADDR"));
  }
  std::array<uint8_t, 6> mac;
  std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, 6);
  return mac;
}

absl::StatusOr<PacketSocket> PacketSocket::Open(std::string_view ifname,
                                                PacketSocketOptions options) {
  auto index = InterfaceIndex(ifname);
  if (!index.ok()) return index.status();
  auto mtu = InterfaceMtu(ifname);
  if (!mtu.ok()) return mtu.status();

  PacketSocket sock;
  // Protocol 0: the socket receives nothing until Bind() names the protocol and
  // the interface. Opened with ETH_P_ALL it would take every interface's frames
  // into its ring from here until the bind (libpcap opens its sockets this way too).
  sock.fd_.Reset(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!sock.fd_.valid()) {
    int err = errno;
    if (err == EPERM || err == EACCES) {
      return absl::PermissionDeniedError(absl::StrFormat(
          "%s: socket(AF_PACKET): permission denied; raw sockets need CAP_NET_RAW: run as root "
          "or `setcap cap_net_raw,cap_net_admin+ep` on the binary (as the .deb does)",
          ToAbsl(ifname)));
    }
    return ErrnoStatus(err, absl::StrCat(ToAbsl(ifname), ": socket(AF_PACKET)"));
  }
  sock.ifindex_ = *index;
  sock.ifname_ = std::string(ifname);
  sock.protocol_ = options.protocol;
  sock.mtu_ = *mtu;
  if (options.ignore_outgoing) {
    // Older kernels lack the option; a capture then also sees outgoing frames, which is harmless.
    int one = 1;
    (void)setsockopt(sock.fd(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
  }
  return sock;
}

absl::Status PacketSocket::SetVersion(int tpacket_version) {
  absl::Status s = SetIntOpt(fd(), SOL_PACKET, PACKET_VERSION, tpacket_version, "PACKET_VERSION",
                             ifname_, "the version must be set before any ring is attached");
  if (s.ok()) version_ = tpacket_version;
  return s;
}

absl::Status PacketSocket::SetPromiscuous(bool on) {
  packet_mreq mreq{};
  mreq.mr_ifindex = ifindex_;
  mreq.mr_type = PACKET_MR_PROMISC;
  int opt = on ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP;
  if (setsockopt(fd(), SOL_PACKET, opt, &mreq, sizeof(mreq)) != 0) {
    int err = errno;
    return ErrnoStatus(err, absl::StrCat(ifname_, ": PACKET_MR_PROMISC"));
  }
  return absl::OkStatus();
}

absl::Status PacketSocket::SetQdiscBypass(bool on) {
  return SetIntOpt(fd(), SOL_PACKET, PACKET_QDISC_BYPASS, on ? 1 : 0, "PACKET_QDISC_BYPASS",
                   ifname_);
}

absl::Status PacketSocket::SetLoss(bool on) {
  return SetIntOpt(fd(), SOL_PACKET, PACKET_LOSS, on ? 1 : 0, "PACKET_LOSS", ifname_,
                   "set it before attaching a ring");
}

absl::Status PacketSocket::AttachFilter(std::span<const sock_filter> program) {
  if (program.empty() || program.size() > BPF_MAXINSNS) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: BPF program has %d instructions; the kernel takes 1 to %d", ifname_,
                        program.size(), BPF_MAXINSNS));
  }
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.size());
  prog.filter = const_cast<sock_filter*>(program.data());
  if (setsockopt(fd(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) {
    int err = errno;
    return ErrnoStatus(err, absl::StrCat(ifname_, ": SO_ATTACH_FILTER"),
                       "the kernel rejected the BPF program");
  }
  return absl::OkStatus();
}

absl::Status PacketSocket::DetachFilter() {
  int dummy = 0;
  if (setsockopt(fd(), SOL_SOCKET, SO_DETACH_FILTER, &dummy, sizeof(dummy)) != 0 &&
      errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat(ifname_, ": SO_DETACH_FILTER"));
  }
  return absl::OkStatus();
}

absl::Status PacketSocket::SetBuffers(int rcvbuf, int sndbuf) {
  if (rcvbuf > 0 && setsockopt(fd(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0) {
    absl::Status s = SetIntOpt(fd(), SOL_SOCKET, SO_RCVBUF, rcvbuf, "SO_RCVBUF", ifname_);
    if (!s.ok()) return s;
  }
  if (sndbuf > 0 && setsockopt(fd(), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) != 0) {
    return SetIntOpt(fd(), SOL_SOCKET, SO_SNDBUF, sndbuf, "SO_SNDBUF", ifname_);
  }
  return absl::OkStatus();
}

absl::Status PacketSocket::Bind(BindOptions options) {
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(protocol_);
  sll.sll_ifindex = ifindex_;
  const std::string up_hint = absl::StrCat("bring it up first (`ip link set ", ifname_, " up`)");
  if (bind(fd(), reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) {
    int err = errno;
    if (err == ENETDOWN) {
      return absl::FailedPreconditionError(absl::StrCat(ifname_, ": interface is down; ", up_hint));
    }
    return ErrnoStatus(err, absl::StrCat(ifname_, ": bind"));
  }
  // A bind to a down interface returns 0 and leaves ENETDOWN in SO_ERROR; the
  // socket then receives nothing until the interface comes up. Reading the error
  // also clears it (it would otherwise show as POLLERR on the first poll).
  int so_error = 0;
  socklen_t len = sizeof(so_error);
  if (getsockopt(fd(), SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) {
    int err = errno;
    return ErrnoStatus(err, absl::StrCat(ifname_, ": getsockopt SO_ERROR after bind"));
  }
  if (so_error == ENETDOWN) {
    if (options.allow_down) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(ifname_, ": interface is down; ", up_hint));
  }
  if (so_error != 0) return ErrnoStatus(so_error, absl::StrCat(ifname_, ": bind (SO_ERROR)"));
  return absl::OkStatus();
}

absl::StatusOr<uint16_t> PacketSocket::JoinFanout(const FanoutOptions& options) {
  if (protocol_ == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(ifname_,
                     ": a TX-only socket (protocol 0) cannot join a fanout group; open it with a "
                     "protocol such as ETH_P_ALL"));
  }
  uint16_t flags = 0;
  if (options.unique_id) flags |= PACKET_FANOUT_FLAG_UNIQUEID;
  if (options.rollover) flags |= PACKET_FANOUT_FLAG_ROLLOVER;
  if (options.defrag) flags |= PACKET_FANOUT_FLAG_DEFRAG;
  uint32_t arg = static_cast<uint32_t>(options.group_id) |
                 (static_cast<uint32_t>(static_cast<uint16_t>(options.mode) | flags) << 16);
  if (setsockopt(fd(), SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0) {
    int err = errno;
    std::string_view hint;
    if (err == EINVAL) hint = "the group exists with another mode, or the socket is not bound";
    if (err == EALREADY) hint = "the socket is already in a fanout group";
    return ErrnoStatus(
        err, absl::StrFormat("%s: PACKET_FANOUT group %d", ifname_, options.group_id), hint);
  }
  uint32_t got = 0;
  socklen_t len = sizeof(got);
  if (getsockopt(fd(), SOL_PACKET, PACKET_FANOUT, &got, &len) != 0) {
    return ErrnoStatus(errno, absl::StrCat(ifname_, ": getsockopt PACKET_FANOUT"));
  }
  return static_cast<uint16_t>(got & 0xffff);
}

absl::StatusOr<PacketStats> PacketSocket::ReadStats() {
  tpacket_stats_v3 st{};
  socklen_t len = sizeof(st);
  if (getsockopt(fd(), SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) {
    int err = errno;
    return ErrnoStatus(err, absl::StrCat(ifname_, ": PACKET_STATISTICS"));
  }
  PacketStats out;
  out.delta.packets = st.tp_packets;
  out.delta.drops = st.tp_drops;
  out.delta.freezes = version_ == TPACKET_V3 ? st.tp_freeze_q_cnt : 0;
  totals_.packets += out.delta.packets;
  totals_.drops += out.delta.drops;
  totals_.freezes += out.delta.freezes;
  out.total = totals_;
  return out;
}

}  // namespace ringstamp
