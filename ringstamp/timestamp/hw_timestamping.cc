#include "ringstamp/timestamp/hw_timestamping.h"

#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/errno_status.h"
#include "ringstamp/timestamp/kernel_compat.h"

namespace ringstamp {
namespace {

static_assert(kHwTxOff == HWTSTAMP_TX_OFF && kHwTxOn == HWTSTAMP_TX_ON &&
              kHwTxOnestepSync == HWTSTAMP_TX_ONESTEP_SYNC &&
              kHwTxOnestepP2p == HWTSTAMP_TX_ONESTEP_P2P);
static_assert(kHwRxNone == HWTSTAMP_FILTER_NONE && kHwRxAll == HWTSTAMP_FILTER_ALL &&
              kHwRxSome == HWTSTAMP_FILTER_SOME &&
              kHwRxPtpV1L4Event == HWTSTAMP_FILTER_PTP_V1_L4_EVENT &&
              kHwRxPtpV2L4Event == HWTSTAMP_FILTER_PTP_V2_L4_EVENT &&
              kHwRxPtpV2L2Event == HWTSTAMP_FILTER_PTP_V2_L2_EVENT &&
              kHwRxPtpV2Event == HWTSTAMP_FILTER_PTP_V2_EVENT &&
              kHwRxNtpAll == HWTSTAMP_FILTER_NTP_ALL);
static_assert(sizeof(ethtool_ts_info) == 44, "ethtool_ts_info layout");

constexpr const char* kTxTypeNames[] = {"off", "on", "onestep-sync", "onestep-p2p"};
constexpr const char* kRxFilterNames[] = {"none",           "all",           "some",
                                          "ptpv1-l4-event", "ptpv1-l4-sync", "ptpv1-l4-delay-req",
                                          "ptpv2-l4-event", "ptpv2-l4-sync", "ptpv2-l4-delay-req",
                                          "ptpv2-l2-event", "ptpv2-l2-sync", "ptpv2-l2-delay-req",
                                          "ptpv2-event",    "ptpv2-sync",    "ptpv2-delay-req",
                                          "ntp-all"};

void FillIfreq(ifreq& ifr, std::string_view ifname) {
  std::memset(&ifr, 0, sizeof(ifr));
  std::memcpy(ifr.ifr_name, ifname.data(), std::min(ifname.size(), size_t{IFNAMSIZ - 1}));
}

// ioctl with an ifreq whose ifr_data points at `data`; returns 0 or errno.
int IfreqIoctl(int fd, std::string_view ifname, unsigned long req, void* data) {
  ifreq ifr;
  FillIfreq(ifr, ifname);
  ifr.ifr_data = static_cast<char*>(data);
  if (ioctl(fd, req, &ifr) == 0) return 0;
  return errno;
}

std::string CStr(const char* s, size_t max) { return std::string(s, strnlen(s, max)); }

// RX filters to try for a wanted one, best first (linuxptp / chrony order).
std::vector<int> FilterChain(int wanted) {
  switch (wanted) {
    case kHwRxNone:
      return {};
    case kHwRxAll:
      return {kHwRxAll,          kHwRxPtpV2Event,   kHwRxPtpV2L2Event,
              kHwRxPtpV2L4Event, kHwRxPtpV1L4Event, kHwRxNtpAll};
    case kHwRxPtpV2Event:
      return {kHwRxPtpV2Event, kHwRxPtpV2L2Event, kHwRxPtpV2L4Event, kHwRxAll};
    case kHwRxNtpAll:
      return {kHwRxNtpAll, kHwRxAll};
    default:
      return {wanted, kHwRxAll};
  }
}

// ---- the restore registry: fixed slots, atomics, pre-filled ioctl arguments ----

enum SlotState : int { kFree = 0, kClaimed = 1, kArmed = 2, kRestoring = 3, kRestored = 4 };

struct RestoreSlot {
  std::atomic<int> state{kFree};
  int fd = -1;
  ifreq ifr;
  hwtstamp_config cfg;
};

RestoreSlot g_slots[HwTimestampingRestorer::kMaxHwRestorers];

static_assert(std::atomic<int>::is_always_lock_free, "signal-safe registry needs lock-free int");

// Restores slot i if armed; async-signal-safe. Returns true if this call restored it.
bool RestoreSlotIfArmed(int i, int* err) {
  int expected = kArmed;
  if (!g_slots[i].state.compare_exchange_strong(expected, kRestoring)) return false;
  int r = ioctl(g_slots[i].fd, SIOCSHWTSTAMP, &g_slots[i].ifr);
  if (err != nullptr) *err = r == 0 ? 0 : errno;
  g_slots[i].state.store(kRestored);
  return true;
}

// Waits (bounded) for another thread that is restoring slot i to finish.
void WaitNotRestoring(int i) {
  for (int n = 0; n < 2000 && g_slots[i].state.load() == kRestoring; ++n) {
    timespec ts{0, 1'000'000};
    nanosleep(&ts, nullptr);
  }
}

void FreeSlot(int i) {
  if (g_slots[i].fd >= 0) ::close(g_slots[i].fd);
  g_slots[i].fd = -1;
  g_slots[i].state.store(kFree);
}

struct sigaction g_prev_int;
struct sigaction g_prev_term;
struct sigaction g_prev_hup;

void RestoreSignalHandler(int sig, siginfo_t* info, void* uctx) {
  int saved_errno = errno;
  RestoreAllHwTimestamping();
  const struct sigaction& prev =
      sig == SIGINT ? g_prev_int : (sig == SIGTERM ? g_prev_term : g_prev_hup);
  errno = saved_errno;
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction != nullptr) prev.sa_sigaction(sig, info, uctx);
    return;
  }
  if (prev.sa_handler == SIG_IGN) return;
  if (prev.sa_handler == SIG_DFL) {
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, nullptr);
    raise(sig);  // delivered when this handler returns: the process ends as it would have
    return;
  }
  prev.sa_handler(sig);
}

void AtExitRestore() { RestoreAllHwTimestamping(); }

}  // namespace

std::string HwTxTypeName(int tx_type) {
  if (tx_type >= 0 && tx_type < static_cast<int>(std::size(kTxTypeNames)))
    return kTxTypeNames[tx_type];
  return absl::StrCat("tx-type-", tx_type);
}

std::string HwRxFilterName(int rx_filter) {
  if (rx_filter >= 0 && rx_filter < static_cast<int>(std::size(kRxFilterNames)))
    return kRxFilterNames[rx_filter];
  return absl::StrCat("rx-filter-", rx_filter);
}

std::vector<std::string> HwTxTypeNames(uint32_t mask) {
  std::vector<std::string> out;
  for (int b = 0; b < 32; ++b) {
    if (mask & (1u << b)) out.push_back(HwTxTypeName(b));
  }
  return out;
}

std::vector<std::string> HwRxFilterNames(uint32_t mask) {
  std::vector<std::string> out;
  for (int b = 0; b < 32; ++b) {
    if (mask & (1u << b)) out.push_back(HwRxFilterName(b));
  }
  return out;
}

std::vector<std::string> TsCapabilityNames(TsFlags flags) {
  std::vector<std::string> out;
  for (int b = 0; b < 32; ++b) {
    TsFlags bit = 1u << b;
    if (!(flags & bit)) continue;
    std::string_view n = TsFlagEthtoolName(bit);
    out.push_back(n == "unknown" ? absl::StrCat("bit", b) : std::string(n));
  }
  return out;
}

bool TsInfo::HasHardwareRx() const {
  return (so_timestamping & kTsRxHardware) && (so_timestamping & kTsRawHardware) &&
         (rx_filters & ~(1u << kHwRxNone)) != 0;
}

bool TsInfo::HasHardwareTx() const {
  return (so_timestamping & kTsTxHardware) && (so_timestamping & kTsRawHardware) &&
         (tx_types & (1u << kHwTxOn)) != 0;
}

std::string FormatHwTstampConfig(const HwTstampConfig& c) {
  std::string s = absl::StrCat("tx=", HwTxTypeName(c.tx_type), " rx=", HwRxFilterName(c.rx_filter));
  if (c.flags != 0) absl::StrAppend(&s, absl::StrFormat(" flags=0x%x", c.flags));
  return s;
}

absl::Status HwNegotiation::RequireHardware() const {
  if (hardware) return absl::OkStatus();
  return absl::FailedPreconditionError(note);
}

// ---- HwTimestamping ----

absl::StatusOr<HwTimestamping> HwTimestamping::Open(std::string_view ifname, int fd) {
  if (ifname.empty()) return absl::InvalidArgumentError("no interface name given (-i IFACE)");
  if (ifname.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrCat("interface name '", ToAbsl(ifname),
                                                   "' is longer than ", IFNAMSIZ - 1, " bytes"));
  }
  HwTimestamping hw;
  hw.ifname_ = std::string(ifname);
  if (fd < 0) {
    // Any datagram socket reaches the device ioctls; it lives in this thread's namespace.
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) s = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return ErrnoStatus(errno, absl::StrCat(ToAbsl(ifname), ": control socket"));
    hw.owned_ = UniqueFd(s);
    fd = s;
  }
  hw.fd_ = fd;
  ifreq ifr;
  FillIfreq(ifr, ifname);
  if (ioctl(fd, SIOCGIFINDEX, &ifr) != 0) {
    int err = errno;
    if (err == ENODEV) {
      return absl::NotFoundError(absl::StrCat("no interface '", ToAbsl(ifname),
                                              "' in this network namespace (`ip link` lists "
                                              "them)"));
    }
    return ErrnoStatus(err, absl::StrCat(ToAbsl(ifname), ": SIOCGIFINDEX"));
  }
  hw.ifindex_ = ifr.ifr_ifindex;
  if (auto d = hw.GetDriverInfo(); d.ok()) hw.driver_ = d->driver;
  return hw;
}

absl::Status HwErrnoStatus(std::string_view ifname, std::string_view driver, int err,
                           std::string_view call) {
  std::string what = absl::StrCat(ToAbsl(ifname), ": ", ToAbsl(call));
  std::string drv =
      driver.empty() ? std::string("its driver") : absl::StrCat("driver ", ToAbsl(driver));
  switch (err) {
    case EOPNOTSUPP:
      return ErrnoStatus(err, what, absl::StrCat("not supported by ", drv));
    case EPERM:
    case EACCES:
      return ErrnoStatus(err, what,
                         "changing a NIC's timestamping needs CAP_NET_ADMIN: run as root, or use "
                         "software timestamps (--tstamp software)");
    case ERANGE:
      return ErrnoStatus(err, what,
                         absl::StrCat("this filter or TX type is not supported by ", drv));
    case EINVAL:
      return ErrnoStatus(err, what, absl::StrCat("the config was rejected by ", drv));
    case ENODEV:
      return ErrnoStatus(err, what, "the interface is gone from this network namespace");
    case EBUSY:
      return ErrnoStatus(err, what,
                         "the device is busy: another program (ptp4l, chrony) may be changing it");
    default:
      return ErrnoStatus(err, what);
  }
}

absl::Status HwTimestamping::ErrnoFor(int err, std::string_view call) const {
  return HwErrnoStatus(ifname_, driver_, err, call);
}

absl::StatusOr<TsInfo> HwTimestamping::GetTsInfo() const {
  ethtool_ts_info info;
  std::memset(&info, 0, sizeof(info));
  info.cmd = ETHTOOL_GET_TS_INFO;
  if (int err = IfreqIoctl(fd_, ifname_, SIOCETHTOOL, &info); err != 0) {
    return ErrnoFor(err, "ETHTOOL_GET_TS_INFO");
  }
  TsInfo out;
  out.so_timestamping = info.so_timestamping;
  out.phc_index = info.phc_index;
  out.tx_types = info.tx_types;
  out.rx_filters = info.rx_filters;
  return out;
}

absl::StatusOr<DriverInfo> HwTimestamping::GetDriverInfo() const {
  ethtool_drvinfo info;
  std::memset(&info, 0, sizeof(info));
  info.cmd = ETHTOOL_GDRVINFO;
  if (int err = IfreqIoctl(fd_, ifname_, SIOCETHTOOL, &info); err != 0) {
    return ErrnoFor(err, "ETHTOOL_GDRVINFO");
  }
  DriverInfo d;
  d.driver = CStr(info.driver, sizeof(info.driver));
  d.version = CStr(info.version, sizeof(info.version));
  d.firmware = CStr(info.fw_version, sizeof(info.fw_version));
  d.bus_info = CStr(info.bus_info, sizeof(info.bus_info));
  return d;
}

absl::StatusOr<HwTstampConfig> HwTimestamping::GetConfig() const {
  hwtstamp_config cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  if (int err = IfreqIoctl(fd_, ifname_, SIOCGHWTSTAMP, &cfg); err != 0) {
    return ErrnoFor(err, "SIOCGHWTSTAMP");
  }
  return HwTstampConfig{cfg.flags, cfg.tx_type, cfg.rx_filter};
}

absl::StatusOr<HwTstampConfig> HwTimestamping::SetConfig(const HwTstampConfig& c) const {
  hwtstamp_config cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  cfg.flags = c.flags;
  cfg.tx_type = c.tx_type;
  cfg.rx_filter = c.rx_filter;
  if (int err = IfreqIoctl(fd_, ifname_, SIOCSHWTSTAMP, &cfg); err != 0) {
    return ErrnoFor(err, absl::StrCat("SIOCSHWTSTAMP ", FormatHwTstampConfig(c)));
  }
  return HwTstampConfig{cfg.flags, cfg.tx_type, cfg.rx_filter};
}

absl::StatusOr<HwNegotiation> NegotiateHwTstamp(std::string_view ifname, std::string_view driver,
                                                const HwTstampRequest& request,
                                                const HwTstampOps& ops) {
  HwNegotiation n;
  const std::string drv =
      driver.empty() ? std::string("its driver") : absl::StrCat("driver ", ToAbsl(driver));
  const std::string software = "software timestamps will be used";
  if (request.rx_filter == kHwRxNone && !request.tx) {
    n.note = absl::StrCat(ToAbsl(ifname), ": no hardware timestamps requested; ", software);
    return n;
  }
  TsInfo caps;
  const bool caps_ok = ops.get_ts_info(caps) == 0;
  HwTstampConfig prev;
  if (int err = ops.get_config(prev); err == 0) {
    n.previous = prev;
    n.previous_known = true;
  } else if (err != EOPNOTSUPP) {
    return HwErrnoStatus(ifname, driver, err, "SIOCGHWTSTAMP");
  }

  // Candidate (tx, rx) pairs, best first; the driver's advertised masks prune them.
  const bool masks_known = caps_ok && (caps.so_timestamping & kTsRawHardware) != 0 &&
                           (caps.rx_filters != 0 || caps.tx_types != 0);
  int tx = request.tx ? kHwTxOn : kHwTxOff;
  if (tx == kHwTxOn && masks_known && !(caps.tx_types & (1u << kHwTxOn))) {
    n.attempts.push_back(absl::StrCat("tx=on: skipped, ", drv, " lists tx types ",
                                      absl::StrJoin(HwTxTypeNames(caps.tx_types), ",")));
    tx = kHwTxOff;
  }
  std::vector<HwTstampConfig> candidates;
  for (int rx : FilterChain(request.rx_filter)) {
    if (masks_known && !(caps.rx_filters & (1u << rx))) {
      n.attempts.push_back(
          absl::StrCat("rx=", HwRxFilterName(rx), ": skipped, not in ", drv, "'s rx filters"));
      continue;
    }
    candidates.push_back({0, tx, rx});
  }
  if (tx == kHwTxOn) {
    candidates.push_back({0, kHwTxOn, kHwRxNone});  // TX only
    // RX only, for a driver that refuses TX with every filter.
    for (int rx : FilterChain(request.rx_filter)) {
      if (!masks_known || (caps.rx_filters & (1u << rx))) candidates.push_back({0, kHwTxOff, rx});
    }
  }
  if (candidates.empty()) {
    n.note = absl::StrCat(ToAbsl(ifname), ": ", drv,
                          " offers none of the requested hardware stamps; ", software);
    return n;
  }

  std::optional<HwTstampConfig> written;
  for (const HwTstampConfig& c : candidates) {
    HwTstampConfig cfg = c;
    int err = ops.set_config(cfg);
    if (err == 0) {
      n.attempts.push_back(absl::StrCat(FormatHwTstampConfig(c), ": ok"));
      written = cfg;
      break;
    }
    n.attempts.push_back(absl::StrCat(FormatHwTstampConfig(c), ": ", ToAbsl(ErrnoName(err)), " (",
                                      strerror(err), ")"));
    if (err == EOPNOTSUPP) {
      n.note = absl::StrCat(ToAbsl(ifname), ": SIOCSHWTSTAMP: operation not supported by ", drv,
                            "; ", software);
      return n;
    }
    if (err == ERANGE || err == EINVAL) continue;  // this pair is refused: try the next
    return HwErrnoStatus(ifname, driver, err,
                         absl::StrCat("SIOCSHWTSTAMP ", FormatHwTstampConfig(c)));
  }
  if (!written) {
    n.note = absl::StrCat(ToAbsl(ifname), ": ", drv,
                          " refused every hardware timestamping config tried; ", software);
    return n;
  }
  // Read back what the driver really applied (it may widen the filter).
  HwTstampConfig after;
  n.applied = ops.get_config(after) == 0 ? after : *written;
  n.hardware = n.applied.tx_type == kHwTxOn || n.applied.rx_filter != kHwRxNone;
  n.changed = !n.previous_known || n.applied != n.previous;
  std::string what =
      absl::StrCat(ToAbsl(ifname), ": hardware timestamps ", n.hardware ? "on" : "off", " (",
                   FormatHwTstampConfig(n.applied), ", ", drv, ")");
  if (request.rx_filter != kHwRxNone && n.applied.rx_filter != request.rx_filter) {
    if (n.applied.rx_filter == kHwRxNone) {
      absl::StrAppend(&what, "; no hardware RX stamps: received frames get software stamps");
    } else if (n.applied.rx_filter != kHwRxAll) {
      absl::StrAppend(&what, "; asked rx=", HwRxFilterName(request.rx_filter),
                      ", so only frames matching rx=", HwRxFilterName(n.applied.rx_filter),
                      " get hardware RX stamps, others software");
    }
  }
  if (request.tx && n.applied.tx_type != kHwTxOn) {
    absl::StrAppend(&what, "; no hardware TX stamps: sent frames get software stamps");
  }
  if (n.changed) {
    absl::StrAppend(&what, "; previous config ",
                    n.previous_known ? FormatHwTstampConfig(n.previous) : "(unknown, taken as off)",
                    " is restored on exit");
  }
  n.note = std::move(what);
  return n;
}

absl::StatusOr<HwNegotiation> HwTimestamping::Negotiate(const HwTstampRequest& request) const {
  auto get_ts_info = [&](TsInfo& out) {
    ethtool_ts_info info;
    std::memset(&info, 0, sizeof(info));
    info.cmd = ETHTOOL_GET_TS_INFO;
    int err = IfreqIoctl(fd_, ifname_, SIOCETHTOOL, &info);
    if (err == 0)
      out = TsInfo{info.so_timestamping, info.phc_index, info.tx_types, info.rx_filters};
    return err;
  };
  auto get_config = [&](HwTstampConfig& out) {
    hwtstamp_config cfg;
    std::memset(&cfg, 0, sizeof(cfg));
    int err = IfreqIoctl(fd_, ifname_, SIOCGHWTSTAMP, &cfg);
    if (err == 0) out = HwTstampConfig{cfg.flags, cfg.tx_type, cfg.rx_filter};
    return err;
  };
  auto set_config = [&](HwTstampConfig& c) {
    hwtstamp_config cfg;
    std::memset(&cfg, 0, sizeof(cfg));
    cfg.flags = c.flags;
    cfg.tx_type = c.tx_type;
    cfg.rx_filter = c.rx_filter;
    int err = IfreqIoctl(fd_, ifname_, SIOCSHWTSTAMP, &cfg);
    if (err == 0)
      c = HwTstampConfig{cfg.flags, cfg.tx_type, cfg.rx_filter};  // what the driver wrote back
    return err;
  };
  // Save the config before anything can change it; keep the guard only if something changed.
  std::unique_ptr<HwTimestampingRestorer> restorer;
  if (request.rx_filter != kHwRxNone || request.tx) {
    absl::StatusOr<std::unique_ptr<HwTimestampingRestorer>> r =
        HwTimestampingRestorer::Capture(fd_, ifname_);
    if (!r.ok()) return r.status();
    restorer = std::move(*r);
  }
  absl::StatusOr<HwNegotiation> n = NegotiateHwTstamp(
      ifname_, driver_, request, HwTstampOps{get_ts_info, get_config, set_config});
  if (n.ok() && n->changed) {
    n->restorer = std::move(restorer);
  } else if (restorer) {
    restorer->Release();
  }
  return n;
}

// ---- HwTimestampingRestorer ----

absl::StatusOr<std::unique_ptr<HwTimestampingRestorer>> HwTimestampingRestorer::Capture(
    int fd, std::string_view ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrCat("bad interface name '", ToAbsl(ifname), "'"));
  }
  std::unique_ptr<HwTimestampingRestorer> r(new HwTimestampingRestorer());
  r->ifname_ = std::string(ifname);
  hwtstamp_config cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  int err = IfreqIoctl(fd, ifname, SIOCGHWTSTAMP, &cfg);
  if (err == 0) {
    r->previous_known_ = true;
  } else if (err == EOPNOTSUPP) {
    cfg.tx_type = HWTSTAMP_TX_OFF;  // drivers without SIOCGHWTSTAMP start with stamping off
    cfg.rx_filter = HWTSTAMP_FILTER_NONE;
  } else {
    return ErrnoStatus(err, absl::StrCat(ToAbsl(ifname), ": SIOCGHWTSTAMP (saving the config)"));
  }
  r->previous_ = HwTstampConfig{cfg.flags, cfg.tx_type, cfg.rx_filter};

  int slot = -1;
  for (int i = 0; i < kMaxHwRestorers && slot < 0; ++i) {
    int expected = kFree;
    if (g_slots[i].state.compare_exchange_strong(expected, kClaimed)) slot = i;
  }
  if (slot < 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat(ToAbsl(ifname), ": more than ", kMaxHwRestorers,
                     " hwtstamp configs changed at once; release some before changing another"));
  }
  int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dupfd < 0) {
    int e = errno;
    g_slots[slot].state.store(kFree);
    return ErrnoStatus(e, absl::StrCat(ToAbsl(ifname), ": dup control socket"));
  }
  RestoreSlot& s = g_slots[slot];
  s.fd = dupfd;
  FillIfreq(s.ifr, ifname);
  s.cfg = cfg;
  s.ifr.ifr_data = reinterpret_cast<char*>(&s.cfg);
  s.state.store(kArmed);
  r->slot_ = slot;
  return r;
}

absl::Status HwTimestampingRestorer::Restore() {
  if (slot_ < 0) return absl::OkStatus();
  const int i = slot_;
  slot_ = -1;
  int err = 0;
  if (!RestoreSlotIfArmed(i, &err)) WaitNotRestoring(i);  // a signal handler did or does it
  FreeSlot(i);
  if (err != 0) {
    return ErrnoStatus(
        err, absl::StrCat(ifname_, ": SIOCSHWTSTAMP restoring ", FormatHwTstampConfig(previous_)));
  }
  return absl::OkStatus();
}

void HwTimestampingRestorer::Release() {
  if (slot_ < 0) return;
  const int i = slot_;
  slot_ = -1;
  int expected = kArmed;
  if (!g_slots[i].state.compare_exchange_strong(expected, kClaimed)) WaitNotRestoring(i);
  FreeSlot(i);
}

HwTimestampingRestorer::~HwTimestampingRestorer() { (void)Restore(); }

int RestoreAllHwTimestamping() {
  int n = 0;
  for (int i = 0; i < HwTimestampingRestorer::kMaxHwRestorers; ++i) {
    if (RestoreSlotIfArmed(i, nullptr)) ++n;
  }
  return n;
}

void InstallHwTimestampingRestoreHandlers() {
  static std::atomic<bool> installed{false};
  if (installed.exchange(true)) return;
  std::atexit(AtExitRestore);
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = RestoreSignalHandler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_prev_int);
  sigaction(SIGTERM, &sa, &g_prev_term);
  sigaction(SIGHUP, &sa, &g_prev_hup);
}

}  // namespace ringstamp
