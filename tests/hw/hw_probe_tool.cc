// hw_probe_tool — drives the timestamp layer against a real hardware-timestamping driver.
//
//   hw_probe_tool negotiate eth0        # HwTimestamping: caps, negotiation, read-back, restore
//   hw_probe_tool phc eth0              # Phc: discovery, offset method, frozen detection
//   hw_probe_tool rx-stamps eth1 5 20 ring   # 5 frames through an RX ring, stamp sources counted
//   hw_probe_tool tx-stamps eth0 5 3 swhw   # 5 frames sent, TX stamps asked (+OPT_TX_SWHW)
//   hw_probe_tool hold eth0 60          # negotiate, then wait for SIGINT/SIGTERM (restore
//   handlers) hw_probe_tool raw-get eth0          # SIOCGHWTSTAMP by hand (the oracle the checks
//   compare to) hw_probe_tool raw-set eth0 1 1      # SIOCSHWTSTAMP tx_type rx_filter by hand
//
// Runs inside the VM of scripts/hwtestbed.sh (e1000e under QEMU); the shell scripts in
// scripts/hwtestbed/ check its output. Every result is one `key=value` line on stdout so a
// busybox grep can check it; the library's answers are printed beside what raw ioctls and sysfs
// say (`raw_*` keys), so the checks do not take the library's word for itself. Exit code 0 when
// every call it made returned OK where it had to, 1 otherwise (with the status on stderr), 2 on
// bad usage. A test program, not part of the product: it prints, the library never does.
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/net_tstamp.h>
#include <linux/ptp_clock.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>

#include <dirent.h>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/errno_status.h"
#include "ringstamp/common/fd.h"
#include "ringstamp/ring/packet_socket.h"
#include "ringstamp/ring/ring_config.h"
#include "ringstamp/ring/ring_setup.h"
#include "ringstamp/timestamp/cmsg_parse.h"
#include "ringstamp/timestamp/hw_timestamping.h"
#include "ringstamp/timestamp/phc.h"
#include "ringstamp/timestamp/so_timestamping.h"

namespace ringstamp::testing {
namespace {

static_assert(sizeof(hwtstamp_config) == 12, "hwtstamp_config: flags, tx_type, rx_filter");

void Kv(std::string_view key, std::string_view value) {
  std::printf("%.*s=%.*s\n", static_cast<int>(key.size()), key.data(),
              static_cast<int>(value.size()), value.data());
}
void Kv(std::string_view key, int64_t value) { Kv(key, std::to_string(value)); }
void KvHex(std::string_view key, uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(value));
  Kv(key, buf);
}
void KvBool(std::string_view key, bool value) { Kv(key, value ? "1" : "0"); }

// Prints `key_error=<message>` and remembers that something failed.
bool g_failed = false;
void KvError(std::string_view key, const absl::Status& s) {
  Kv(std::string(key) + "_error", std::string(s.message()));
  std::fprintf(stderr, "hw_probe_tool: %.*s: %s\n", static_cast<int>(key.size()), key.data(),
               s.ToString().c_str());
  g_failed = true;
}

// ---------------------------------------------------------------- raw oracles

struct RawConfig {
  int err = 0;  // errno of the ioctl, 0 on success
  hwtstamp_config cfg{};
};

RawConfig RawHwtstamp(std::string_view ifname, unsigned long request, hwtstamp_config in = {}) {
  RawConfig out;
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    out.err = errno;
    return out;
  }
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.*s", static_cast<int>(ifname.size()),
                ifname.data());
  out.cfg = in;
  ifr.ifr_data = reinterpret_cast<char*>(&out.cfg);
  if (::ioctl(fd.get(), request, &ifr) != 0) out.err = errno;
  return out;
}

std::string RawConfigString(const RawConfig& r) {
  if (r.err != 0) return std::string("error:") + std::string(ErrnoName(r.err));
  return FormatHwTstampConfig(
      {.flags = r.cfg.flags, .tx_type = r.cfg.tx_type, .rx_filter = r.cfg.rx_filter});
}

// /dev/ptpN that sysfs links to the interface's PCI device, "" if none.
std::string SysfsPhc(std::string_view ifname) {
  std::string dir = "/sys/class/net/" + std::string(ifname) + "/device/ptp";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return "";
  std::string found;
  while (dirent* e = ::readdir(d)) {
    if (std::strncmp(e->d_name, "ptp", 3) == 0) found = std::string("/dev/") + e->d_name;
  }
  ::closedir(d);
  return found;
}

clockid_t FdToClockId(int fd) {
  return static_cast<clockid_t>((~static_cast<unsigned>(fd) << 3) | 3u);
}

std::optional<int64_t> RawPhcNs(int fd) {
  timespec ts{};
  if (::clock_gettime(FdToClockId(fd), &ts) != 0) return std::nullopt;
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// ---------------------------------------------------------------- commands

int RawGetCmd(std::string_view ifname) {
  RawConfig r = RawHwtstamp(ifname, SIOCGHWTSTAMP);
  Kv("raw_config", RawConfigString(r));
  if (r.err == 0) {
    Kv("raw_tx_type", r.cfg.tx_type);
    Kv("raw_rx_filter", r.cfg.rx_filter);
  }
  return r.err == 0 ? 0 : 1;
}

int RawSetCmd(std::string_view ifname, int tx_type, int rx_filter) {
  hwtstamp_config in{};
  in.tx_type = tx_type;
  in.rx_filter = rx_filter;
  RawConfig r = RawHwtstamp(ifname, SIOCSHWTSTAMP, in);
  Kv("raw_set", RawConfigString(r));
  if (r.err == 0) {
    Kv("raw_tx_type", r.cfg.tx_type);
    Kv("raw_rx_filter", r.cfg.rx_filter);
  }
  return r.err == 0 ? 0 : 1;
}

void PrintNegotiation(std::string_view prefix, const HwNegotiation& n) {
  std::string p(prefix);
  KvBool(p + "hardware", n.hardware);
  KvBool(p + "hardware_rx", n.hardware_rx());
  KvBool(p + "hardware_tx", n.hardware_tx());
  Kv(p + "applied", FormatHwTstampConfig(n.applied));
  Kv(p + "applied_tx_type", n.applied.tx_type);
  Kv(p + "applied_rx_filter", n.applied.rx_filter);
  Kv(p + "previous", FormatHwTstampConfig(n.previous));
  KvBool(p + "previous_known", n.previous_known);
  KvBool(p + "changed", n.changed);
  KvBool(p + "has_restorer", n.restorer != nullptr);
  for (const std::string& a : n.attempts) Kv(p + "attempt", a);
  Kv(p + "note", n.note);
}

bool SameAsRaw(const HwTstampConfig& c, const RawConfig& r) {
  return r.err == 0 && c.tx_type == r.cfg.tx_type && c.rx_filter == r.cfg.rx_filter;
}
bool SameRaw(const RawConfig& a, const RawConfig& b) {
  return a.err == 0 && b.err == 0 && a.cfg.tx_type == b.cfg.tx_type &&
         a.cfg.rx_filter == b.cfg.rx_filter;
}

int NegotiateCmd(std::string_view ifname) {
  auto hw = HwTimestamping::Open(ifname);
  if (!hw.ok()) {
    KvError("open", hw.status());
    return 1;
  }
  Kv("driver", hw->driver());
  if (auto info = hw->GetTsInfo(); info.ok()) {
    KvHex("so_timestamping", info->so_timestamping);
    Kv("phc_index", info->phc_index);
    KvHex("tx_types", info->tx_types);
    KvHex("rx_filters", info->rx_filters);
    KvBool("has_hardware_rx", info->HasHardwareRx());
    KvBool("has_hardware_tx", info->HasHardwareTx());
    KvBool("has_software_rx", info->HasSoftwareRx());
    KvBool("has_software_tx", info->HasSoftwareTx());
    Kv("capabilities", absl::StrJoin(TsCapabilityNames(info->so_timestamping), ","));
    Kv("tx_type_names", absl::StrJoin(HwTxTypeNames(info->tx_types), ","));
    Kv("rx_filter_names", absl::StrJoin(HwRxFilterNames(info->rx_filters), ","));
  } else {
    KvError("ts_info", info.status());
  }

  const RawConfig before = RawHwtstamp(ifname, SIOCGHWTSTAMP);
  Kv("raw_before", RawConfigString(before));
  if (auto c = hw->GetConfig(); c.ok()) {
    Kv("lib_get_before", FormatHwTstampConfig(*c));
    KvBool("lib_get_before_matches_raw", SameAsRaw(*c, before));
  } else {
    KvError("lib_get_before", c.status());
  }

  // 1. Full request, explicit Restore().
  {
    auto n = hw->Negotiate({.rx_filter = kHwRxAll, .tx = true});
    if (!n.ok()) {
      KvError("negotiate", n.status());
      return 1;
    }
    PrintNegotiation("", *n);
    const RawConfig during = RawHwtstamp(ifname, SIOCGHWTSTAMP);
    Kv("raw_during", RawConfigString(during));
    KvBool("readback_matches_raw", SameAsRaw(n->applied, during));
    KvBool("previous_matches_raw_before", SameAsRaw(n->previous, before));
    if (auto c = hw->GetConfig(); c.ok()) {
      KvBool("lib_get_during_matches_raw", SameAsRaw(*c, during));
    } else {
      KvError("lib_get_during", c.status());
    }
    if (n->restorer) {
      absl::Status st = n->restorer->Restore();
      if (!st.ok()) KvError("restore", st);
      const RawConfig after = RawHwtstamp(ifname, SIOCGHWTSTAMP);
      Kv("raw_after_restore", RawConfigString(after));
      KvBool("restore_matches_before", SameRaw(after, before));
    }
  }
  // 2. The restorer's destructor restores when the negotiation goes out of scope.
  {
    auto n = hw->Negotiate({.rx_filter = kHwRxAll, .tx = true});
    if (!n.ok()) {
      KvError("negotiate_scoped", n.status());
      return 1;
    }
    KvBool("scoped_changed", n->changed);
    Kv("scoped_raw_during", RawConfigString(RawHwtstamp(ifname, SIOCGHWTSTAMP)));
  }
  const RawConfig after_scope = RawHwtstamp(ifname, SIOCGHWTSTAMP);
  Kv("raw_after_scope", RawConfigString(after_scope));
  KvBool("scope_restore_matches_before", SameRaw(after_scope, before));

  // 3. TX only, and 4. a PTP event filter without TX: what the driver applies, read back.
  {
    auto n = hw->Negotiate({.rx_filter = kHwRxNone, .tx = true});
    if (n.ok()) {
      Kv("tx_only_applied", FormatHwTstampConfig(n->applied));
      KvBool("tx_only_hardware_tx", n->hardware_tx());
      KvBool("tx_only_hardware_rx", n->hardware_rx());
      KvBool("tx_only_readback_matches_raw",
             SameAsRaw(n->applied, RawHwtstamp(ifname, SIOCGHWTSTAMP)));
    } else {
      KvError("negotiate_tx_only", n.status());
    }
  }
  {
    auto n = hw->Negotiate({.rx_filter = kHwRxPtpV2Event, .tx = false});
    if (n.ok()) {
      Kv("ptp_rx_applied", FormatHwTstampConfig(n->applied));
      Kv("ptp_rx_applied_rx_filter", n->applied.rx_filter);
      KvBool("ptp_rx_hardware_rx", n->hardware_rx());
      KvBool("ptp_rx_hardware_rx_all", n->hardware_rx_all());
      KvBool("ptp_rx_readback_matches_raw",
             SameAsRaw(n->applied, RawHwtstamp(ifname, SIOCGHWTSTAMP)));
    } else {
      KvError("negotiate_ptp_rx", n.status());
    }
  }
  const RawConfig at_end = RawHwtstamp(ifname, SIOCGHWTSTAMP);
  Kv("raw_at_end", RawConfigString(at_end));
  KvBool("end_matches_before", SameRaw(at_end, before));
  return g_failed ? 1 : 0;
}

int PhcCmd(std::string_view ifname) {
  auto hw = HwTimestamping::Open(ifname);
  if (!hw.ok()) {
    KvError("open", hw.status());
    return 1;
  }
  const std::string sysfs = SysfsPhc(ifname);
  Kv("raw_sysfs_phc", sysfs.empty() ? "-" : sysfs);
  auto phc = Phc::OpenForInterface(*hw);
  if (!phc.ok()) {
    KvError("phc_open", phc.status());
    return 1;
  }
  Kv("phc_path", phc->path());
  KvBool("phc_matches_sysfs", phc->path() == sysfs);

  if (auto t = phc->ReadNs(); t.ok()) {
    Kv("phc_ns", *t);
  } else {
    KvError("phc_read", t.status());
  }
  if (auto off = phc->MeasureOffset(9); off.ok()) {
    Kv("offset_method", PhcOffsetMethodName(off->method));
    Kv("offset_ns", off->offset_ns());
    Kv("offset_uncertainty_ns", off->uncertainty_ns);
    Kv("offset_samples", off->samples);
    KvBool("offset_uncertainty_nonnegative", off->uncertainty_ns >= 0);
  } else {
    KvError("offset", off.status());
  }
  if (auto frozen = phc->IsFrozen(200'000'000); frozen.ok()) {
    KvBool("frozen", *frozen);
  } else {
    KvError("frozen", frozen.status());
  }

  // Oracles: the same facts asked of the device directly.
  UniqueFd fd(::open(sysfs.empty() ? phc->path().c_str() : sysfs.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    KvError("raw_open", ErrnoStatus(errno, "open PHC"));
    return 1;
  }
  ptp_sys_offset_precise precise{};
  Kv("raw_precise",
     ::ioctl(fd.get(), PTP_SYS_OFFSET_PRECISE, &precise) == 0 ? "ok" : ErrnoName(errno));
  ptp_sys_offset_extended ext{};
  ext.n_samples = 3;
  Kv("raw_extended",
     ::ioctl(fd.get(), PTP_SYS_OFFSET_EXTENDED, &ext) == 0 ? "ok" : ErrnoName(errno));
  ptp_sys_offset basic{};
  basic.n_samples = 3;
  Kv("raw_basic", ::ioctl(fd.get(), PTP_SYS_OFFSET, &basic) == 0 ? "ok" : ErrnoName(errno));
  auto a = RawPhcNs(fd.get());
  ::usleep(200'000);
  auto b = RawPhcNs(fd.get());
  if (a && b) {
    Kv("raw_advance_ns_200ms", *b - *a);
  } else {
    Kv("raw_advance_ns_200ms", "error");
  }
  return g_failed ? 1 : 0;
}

// Receives `count` frames (or until `seconds`) on `ifname` with hardware stamping negotiated,
// through an RX ring (`ring`) or recvmsg with SCM_TIMESTAMPING (`cmsg`), and counts where
// their stamps came from, as the library decodes them and as the raw bits say.
int RxStampsCmd(std::string_view ifname, int count, int seconds, std::string_view mode) {
  auto hw = HwTimestamping::Open(ifname);
  if (!hw.ok()) {
    KvError("open", hw.status());
    return 1;
  }
  auto n = hw->Negotiate({.rx_filter = kHwRxAll, .tx = true});
  if (!n.ok()) {
    KvError("negotiate", n.status());
    return 1;
  }
  KvBool("hardware_rx", n->hardware_rx());
  Kv("applied", FormatHwTstampConfig(n->applied));
  Kv("raw_during", RawConfigString(RawHwtstamp(ifname, SIOCGHWTSTAMP)));
  const TsFlags flags = kTsRxHardware | kTsRawHardware | kTsRxSoftware | kTsSoftware;
  const int64_t deadline = MonotonicNs() + int64_t{seconds} * 1'000'000'000;

  int frames = 0, lib_hw = 0, lib_sw = 0, lib_none = 0, raw_hw_nonzero = 0, raw_hw_zero = 0;
  int zero_as_hardware = 0;
  if (mode == "ring") {
    auto sock = PacketSocket::Open(ifname);
    if (!sock.ok()) {
      KvError("socket", sock.status());
      return 1;
    }
    if (absl::Status st = EnableSocketTimestamping(sock->fd(), flags, ifname); !st.ok()) {
      KvError("so_timestamping", st);
      return 1;
    }
    if (absl::Status st = SetPacketTimestamp(sock->fd(), kTsRawHardware, ifname); !st.ok()) {
      KvError("packet_timestamp", st);
      return 1;
    }
    RingConfig cfg = RingConfig::ForRx(1 << 20);
    cfg.block_timeout_ms = 10;
    auto rings = SetupRings(*sock, {.rx = cfg});
    if (!rings.ok()) {
      KvError("rings", rings.status());
      return 1;
    }
    if (absl::Status st = sock->Bind(); !st.ok()) {
      KvError("bind", st);
      return 1;
    }
    Kv("ready", "1");
    std::fflush(stdout);
    while (frames < count && MonotonicNs() < deadline) {
      pollfd p{.fd = sock->fd(), .events = POLLIN, .revents = 0};
      ::poll(&p, 1, 100);
      rings->rx->Poll([&](const Frame& f) {
        ++frames;
        if (f.status & TP_STATUS_TS_RAW_HARDWARE) {
          ++raw_hw_nonzero;
        } else {
          ++raw_hw_zero;
        }
        if (f.stamps.hardware_ns) {
          ++lib_hw;
          if (*f.stamps.hardware_ns == 0) ++zero_as_hardware;
        }
        if (f.stamps.software_ns) ++lib_sw;
        if (!f.stamps.hardware_ns && !f.stamps.software_ns) ++lib_none;
      });
    }
  } else if (mode == "cmsg") {
    UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
    if (!fd.valid()) {
      KvError("socket", ErrnoStatus(errno, "socket(AF_PACKET)"));
      return 1;
    }
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = hw->ifindex();
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) {
      KvError("bind", ErrnoStatus(errno, "bind"));
      return 1;
    }
    if (absl::Status st = EnableSocketTimestamping(fd.get(), flags, ifname); !st.ok()) {
      KvError("so_timestamping", st);
      return 1;
    }
    Kv("ready", "1");
    std::fflush(stdout);
    std::array<std::byte, 2048> data{};
    alignas(cmsghdr) std::array<std::byte, 512> control{};
    while (frames < count && MonotonicNs() < deadline) {
      pollfd p{.fd = fd.get(), .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      iovec iov{.iov_base = data.data(), .iov_len = data.size()};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control.data();
      msg.msg_controllen = control.size();
      if (::recvmsg(fd.get(), &msg, MSG_DONTWAIT) < 0) continue;
      ++frames;
      ParsedCmsgs parsed = ParseCmsgs(std::span(control.data(), msg.msg_controllen));
      if (parsed.stamps.hardware_ns) {
        ++lib_hw;
        if (*parsed.stamps.hardware_ns == 0) ++zero_as_hardware;
      }
      if (parsed.stamps.software_ns) ++lib_sw;
      if (!parsed.stamps.hardware_ns && !parsed.stamps.software_ns) ++lib_none;
      // Raw: ts[2] of SO_TIMESTAMPING (old layout: three struct timespec).
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_TIMESTAMPING_OLD) continue;
        if (c->cmsg_len < CMSG_LEN(3 * sizeof(timespec))) continue;
        timespec ts[3];
        std::memcpy(ts, CMSG_DATA(c), sizeof(ts));
        if (ts[2].tv_sec != 0 || ts[2].tv_nsec != 0) {
          ++raw_hw_nonzero;
        } else {
          ++raw_hw_zero;
        }
      }
    }
  } else {
    std::fprintf(stderr, "hw_probe_tool: rx-stamps mode must be ring or cmsg, not %.*s\n",
                 static_cast<int>(mode.size()), mode.data());
    return 2;
  }
  Kv("frames", frames);
  Kv("lib_hardware", lib_hw);
  Kv("lib_software", lib_sw);
  Kv("lib_none", lib_none);
  Kv("raw_hardware_nonzero", raw_hw_nonzero);
  Kv("raw_hardware_zero", raw_hw_zero);
  Kv("zero_shown_as_hardware", zero_as_hardware);
  return g_failed ? 1 : 0;
}

// Sends `count` frames (EtherType 0x88b5, broadcast) from `ifname` with hardware TX stamping
// negotiated and TX stamps asked for (with SOF_TIMESTAMPING_OPT_TX_SWHW when `swhw`: software
// stamps even while a hardware one is pending), then reads the error queue for up to `seconds`
// and counts which stamps came back, as the library decodes them and as the raw ts[2] says.
int TxStampsCmd(std::string_view ifname, int count, int seconds, bool swhw) {
  auto hw = HwTimestamping::Open(ifname);
  if (!hw.ok()) {
    KvError("open", hw.status());
    return 1;
  }
  auto n = hw->Negotiate({.rx_filter = kHwRxAll, .tx = true});
  if (!n.ok()) {
    KvError("negotiate", n.status());
    return 1;
  }
  KvBool("hardware_tx", n->hardware_tx());
  Kv("raw_during", RawConfigString(RawHwtstamp(ifname, SIOCGHWTSTAMP)));
  UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    KvError("socket", ErrnoStatus(errno, "socket(AF_PACKET)"));
    return 1;
  }
  const TsFlags flags = kTsTxHardware | kTsTxSoftware | kTsRawHardware | kTsSoftware | kTsOptId |
                        kTsOptTsonly | (swhw ? kTsOptTxSwhw : 0);
  if (absl::Status st = EnableSocketTimestamping(fd.get(), flags, ifname); !st.ok()) {
    KvError("so_timestamping", st);
    return 1;
  }
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = hw->ifindex();
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  std::array<uint8_t, 60> frame{};
  std::memset(frame.data(), 0xff, 6);                           // broadcast
  const uint8_t src[6] = {0x02, 0x00, 0x00, 0x72, 0x73, 0x99};  // locally administered
  std::memcpy(frame.data() + 6, src, 6);
  frame[12] = 0x88;  // EtherType 0x88b5: local experimental
  frame[13] = 0xb5;
  int sent = 0;
  for (int i = 0; i < count; ++i) {
    frame[14] = static_cast<uint8_t>(i);
    if (::sendto(fd.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
                 sizeof(to)) == static_cast<ssize_t>(frame.size())) {
      ++sent;
    }
    ::usleep(50'000);
  }
  const int64_t deadline = MonotonicNs() + int64_t{seconds} * 1'000'000'000;
  int reports = 0, lib_hw = 0, lib_sw = 0, raw_hw_nonzero = 0, zero_as_hardware = 0;
  alignas(cmsghdr) std::array<std::byte, 512> control{};
  std::array<std::byte, 256> data{};
  while (MonotonicNs() < deadline && reports < 2 * sent) {
    pollfd p{.fd = fd.get(), .events = 0, .revents = 0};
    if (::poll(&p, 1, 100) <= 0 || !(p.revents & POLLERR)) continue;
    iovec iov{.iov_base = data.data(), .iov_len = data.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    if (::recvmsg(fd.get(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) continue;
    ParsedCmsgs parsed = ParseCmsgs(std::span(control.data(), msg.msg_controllen));
    if (!parsed.tx) continue;
    ++reports;
    if (parsed.stamps.hardware_ns) {
      ++lib_hw;
      if (*parsed.stamps.hardware_ns == 0) ++zero_as_hardware;
    }
    if (parsed.stamps.software_ns) ++lib_sw;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_TIMESTAMPING_OLD) continue;
      if (c->cmsg_len < CMSG_LEN(3 * sizeof(timespec))) continue;
      timespec ts[3];
      std::memcpy(ts, CMSG_DATA(c), sizeof(ts));
      if (ts[2].tv_sec != 0 || ts[2].tv_nsec != 0) ++raw_hw_nonzero;
    }
  }
  Kv("sent", sent);
  Kv("tx_reports", reports);
  Kv("lib_hardware", lib_hw);
  Kv("lib_software", lib_sw);
  Kv("raw_hardware_nonzero", raw_hw_nonzero);
  Kv("zero_shown_as_hardware", zero_as_hardware);
  return g_failed ? 1 : 0;
}

volatile sig_atomic_t g_stop = 0;
void OnAlarm(int) { g_stop = 1; }

// Negotiates hardware stamping, installs the library's restore handlers and waits up to
// `seconds` for a signal. SIGINT/SIGTERM restore through the handlers (the process then dies of
// the signal); reaching the time limit exits normally, restoring through atexit.
int HoldCmd(std::string_view ifname, int seconds) {
  auto hw = HwTimestamping::Open(ifname);
  if (!hw.ok()) {
    KvError("open", hw.status());
    return 1;
  }
  auto n = hw->Negotiate({.rx_filter = kHwRxAll, .tx = true});
  if (!n.ok()) {
    KvError("negotiate", n.status());
    return 1;
  }
  // A shell starts background jobs with SIGINT ignored; behave as a program started in the
  // foreground, whose SIGINT/SIGTERM are at their defaults, so the chained default ends it.
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  InstallHwTimestampingRestoreHandlers();
  PrintNegotiation("", *n);
  Kv("raw_during", RawConfigString(RawHwtstamp(ifname, SIOCGHWTSTAMP)));
  // Keep the restorer registered past this scope: the exit paths restore, not the destructor.
  static std::unique_ptr<HwTimestampingRestorer> keep;
  keep = std::move(n->restorer);
  struct sigaction sa {};
  sa.sa_handler = OnAlarm;
  ::sigaction(SIGALRM, &sa, nullptr);
  ::alarm(static_cast<unsigned>(seconds));
  Kv("holding", "1");
  std::fflush(stdout);
  while (!g_stop) ::pause();
  Kv("timed_out", "1");
  std::fflush(stdout);
  std::exit(0);  // atexit: RestoreAllHwTimestamping()
}

int Usage() {
  std::fprintf(
      stderr,
      "usage: hw_probe_tool negotiate IFACE | phc IFACE | rx-stamps IFACE COUNT SECONDS ring|cmsg\n"
      "     | tx-stamps IFACE COUNT SECONDS [plain|swhw]\n"
      "     | hold IFACE SECONDS | raw-get IFACE | raw-set IFACE TX_TYPE RX_FILTER\n");
  return 2;
}

bool ParseInt(const char* s, int lo, int hi, int* out) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

int Main(int argc, char** argv) {
  if (argc < 3) return Usage();
  const std::string_view cmd = argv[1];
  const std::string_view ifname = argv[2];
  int a = 0, b = 0;
  if (cmd == "negotiate" && argc == 3) return NegotiateCmd(ifname);
  if (cmd == "phc" && argc == 3) return PhcCmd(ifname);
  if (cmd == "raw-get" && argc == 3) return RawGetCmd(ifname);
  if (cmd == "raw-set" && argc == 5 && ParseInt(argv[3], 0, 255, &a) &&
      ParseInt(argv[4], 0, 255, &b)) {
    return RawSetCmd(ifname, a, b);
  }
  if (cmd == "tx-stamps" && (argc == 5 || argc == 6) && ParseInt(argv[3], 1, 1000, &a) &&
      ParseInt(argv[4], 1, 3600, &b)) {
    const std::string_view mode = argc == 6 ? argv[5] : "plain";
    if (mode != "plain" && mode != "swhw") return Usage();
    return TxStampsCmd(ifname, a, b, mode == "swhw");
  }
  if (cmd == "hold" && argc == 4 && ParseInt(argv[3], 1, 3600, &a)) return HoldCmd(ifname, a);
  if (cmd == "rx-stamps" && argc == 6 && ParseInt(argv[3], 1, 100000, &a) &&
      ParseInt(argv[4], 1, 3600, &b)) {
    return RxStampsCmd(ifname, a, b, argv[5]);
  }
  return Usage();
}

}  // namespace
}  // namespace ringstamp::testing

int main(int argc, char** argv) { return ringstamp::testing::Main(argc, argv); }
