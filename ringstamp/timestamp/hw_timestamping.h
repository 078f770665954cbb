// hw_timestamping.h — a NIC's timestamping: capabilities, hwtstamp config, negotiation, restore.
//
// Example:
// Given: void Log(std::string_view line)
//   RS_ASSIGN_OR_RETURN(HwTimestamping hw, HwTimestamping::Open("eth1"));   // this netns
//   RS_ASSIGN_OR_RETURN(TsInfo caps, hw.GetTsInfo());        // what `ethtool -T` shows
//   RS_ASSIGN_OR_RETURN(HwNegotiation n, hw.Negotiate({.rx_filter = kHwRxAll}));
//   if (!n.hardware) Log(n.note);   // "veth0: SIOCSHWTSTAMP: ... software timestamps will be used"
//   // n.restorer puts the previous config back when it goes out of scope, and
//   // InstallHwTimestampingRestoreHandlers() does it on exit, SIGINT and SIGTERM.
//
// The hwtstamp config is global to the NIC, shared by every program on the
// machine: Negotiate changes it only when asked and hands back a restorer.
// Negotiation follows linuxptp and chrony: ask for the RX filter wanted, fall
// back through narrower filters the driver lists (ALL → PTP v2 event → v1 →
// NTP), then TX-only, read back what the driver really applied, and say so.
//
// Network namespaces: the ioctls act on the interface named in the namespace
// of the control socket. HwTimestamping::Open makes an AF_INET datagram socket
// in the calling thread's namespace unless given one.
//
// Ownership: HwTimestamping owns its control socket (or borrows the given fd).
// Thread-safety: one thread per object; the restore registry is process-wide
// and safe from signal handlers. Cost: each call is one ioctl and a string on
// error (setup paths only).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringstamp/common/fd.h"
#include "ringstamp/timestamp/so_timestamping.h"

namespace ringstamp {

// hwtstamp_config.tx_type values.
inline constexpr int kHwTxOff = 0;
inline constexpr int kHwTxOn = 1;
inline constexpr int kHwTxOnestepSync = 2;
inline constexpr int kHwTxOnestepP2p = 3;
// hwtstamp_config.rx_filter values (the ones negotiation uses; all have names).
inline constexpr int kHwRxNone = 0;
inline constexpr int kHwRxAll = 1;
inline constexpr int kHwRxSome = 2;
inline constexpr int kHwRxPtpV1L4Event = 3;
inline constexpr int kHwRxPtpV2L4Event = 6;
inline constexpr int kHwRxPtpV2L2Event = 9;
inline constexpr int kHwRxPtpV2Event = 12;
inline constexpr int kHwRxNtpAll = 15;

// "off", "on", "onestep-sync", "onestep-p2p" (ethtool's names); "tx-type-N" beyond.
std::string HwTxTypeName(int tx_type);
// "none", "all", "some", "ptpv1-l4-event", ..., "ntp-all"; "rx-filter-N" beyond.
std::string HwRxFilterName(int rx_filter);
// Names of the set bits of a tx_types / rx_filters mask (bit n = value n).
std::vector<std::string> HwTxTypeNames(uint32_t mask);
std::vector<std::string> HwRxFilterNames(uint32_t mask);
// ethtool's names of the set SOF_TIMESTAMPING bits ("hardware-transmit", ...).
std::vector<std::string> TsCapabilityNames(TsFlags flags);

// ETHTOOL_GET_TS_INFO.
struct TsInfo {
  TsFlags so_timestamping = 0;  // which SO_TIMESTAMPING flags the device supports
  int phc_index = -1;           // /dev/ptpN, or -1: no PTP hardware clock
  uint32_t tx_types = 0;        // bit n: tx_type n accepted
  uint32_t rx_filters = 0;      // bit n: rx_filter n accepted

  bool HasHardwareRx() const;  // RX_HARDWARE + RAW_HARDWARE and some filter beyond none
  bool HasHardwareTx() const;  // TX_HARDWARE + RAW_HARDWARE and tx type "on"
  bool HasSoftwareRx() const { return (so_timestamping & kTsRxSoftware) != 0; }
  bool HasSoftwareTx() const { return (so_timestamping & kTsTxSoftware) != 0; }
};

// ETHTOOL_GDRVINFO (the parts we print).
struct DriverInfo {
  std::string driver;  // "veth", "e1000e", "mlx5_core", ...
  std::string version;
  std::string firmware;
  std::string bus_info;
};

struct HwTstampConfig {
  int flags = 0;
  int tx_type = kHwTxOff;
  int rx_filter = kHwRxNone;
  friend bool operator==(const HwTstampConfig&, const HwTstampConfig&) = default;
};
// "tx=on rx=all" (+ " flags=0x1" when set).
std::string FormatHwTstampConfig(const HwTstampConfig& c);

struct HwTstampRequest {
  int rx_filter = kHwRxAll;  // the RX filter wanted; kHwRxNone for TX only
  bool tx = true;            // hardware TX stamps (tx_type on)
};

class HwTimestampingRestorer;

struct HwNegotiation {
  bool hardware = false;              // some hardware stamping is now on (see applied)
  HwTstampConfig applied;             // read back from the driver after the change
  HwTstampConfig previous;            // what was there before
  bool previous_known = false;        // SIOCGHWTSTAMP worked before the change
  bool changed = false;               // the config differs from before
  std::vector<std::string> attempts;  // one line per SIOCSHWTSTAMP tried, with the answer
  std::string note;                   // one line for a person: what happened, what it means
  std::unique_ptr<HwTimestampingRestorer> restorer;  // set when changed: restores on destruction

  bool hardware_rx() const { return hardware && applied.rx_filter != kHwRxNone; }
  bool hardware_rx_all() const { return hardware && applied.rx_filter == kHwRxAll; }
  bool hardware_tx() const { return hardware && applied.tx_type == kHwTxOn; }
  // FailedPrecondition with `note` when hardware stamps did not come on.
  absl::Status RequireHardware() const;
};

// The three ioctls negotiation needs, each returning 0 or an errno; HwTimestamping
// binds them to its socket, tests to a fake driver.
struct HwTstampOps {
  absl::FunctionRef<int(TsInfo&)> get_ts_info;         // ETHTOOL_GET_TS_INFO
  absl::FunctionRef<int(HwTstampConfig&)> get_config;  // SIOCGHWTSTAMP
  absl::FunctionRef<int(HwTstampConfig&)> set_config;  // SIOCSHWTSTAMP: in/out
};

// The negotiation itself (see HwTimestamping::Negotiate), without the restore
// guard: `restorer` stays null. `driver` names the driver in messages.
absl::StatusOr<HwNegotiation> NegotiateHwTstamp(std::string_view ifname, std::string_view driver,
                                                const HwTstampRequest& request,
                                                const HwTstampOps& ops);

// errno → Status naming the interface, the call and the way out (EOPNOTSUPP →
// "not supported by driver X", EPERM → CAP_NET_ADMIN, ...).
absl::Status HwErrnoStatus(std::string_view ifname, std::string_view driver, int err,
                           std::string_view call);

class HwTimestamping {
 public:
  // Checks that `ifname` exists in the namespace of `fd` (or of a fresh
  // AF_INET datagram socket made here when fd < 0), and learns its driver.
  static absl::StatusOr<HwTimestamping> Open(std::string_view ifname, int fd = -1);

  HwTimestamping(HwTimestamping&&) noexcept = default;
  HwTimestamping& operator=(HwTimestamping&&) noexcept = default;

  const std::string& ifname() const { return ifname_; }
  const std::string& driver() const { return driver_; }  // "" if GDRVINFO failed
  int ifindex() const { return ifindex_; }
  int fd() const { return fd_; }

  absl::StatusOr<TsInfo> GetTsInfo() const;
  absl::StatusOr<DriverInfo> GetDriverInfo() const;
  // SIOCGHWTSTAMP. EOPNOTSUPP becomes Unimplemented("...not supported by driver X").
  absl::StatusOr<HwTstampConfig> GetConfig() const;
  // One raw SIOCSHWTSTAMP; returns the config the driver wrote back.
  absl::StatusOr<HwTstampConfig> SetConfig(const HwTstampConfig& c) const;

  // Negotiates as described above. Errors only for what a person must fix
  // (EPERM, interface gone, ...); a driver without hardware stamping is an OK
  // result with hardware == false and a note ending "software timestamps will
  // be used". Changes nothing when the driver refuses everything.
  absl::StatusOr<HwNegotiation> Negotiate(const HwTstampRequest& request) const;

 private:
  HwTimestamping() = default;
  absl::Status ErrnoFor(int err, std::string_view call) const;

  UniqueFd owned_;
  int fd_ = -1;
  int ifindex_ = 0;
  std::string ifname_;
  std::string driver_;
};

// Puts a NIC's previous hwtstamp config back: on Restore(), on destruction,
// and — through the process-wide registry — from RestoreAllHwTimestamping()
// (exit, SIGINT, SIGTERM). Holds its own dup of the control socket and a
// pre-filled ifreq, so the signal path is one ioctl with no allocation.
// At most kMaxHwRestorers exist at a time. Move-free: keep it in a unique_ptr.
class HwTimestampingRestorer {
 public:
  static constexpr int kMaxHwRestorers = 32;

  // Reads the current config of `ifname` (through `fd`'s namespace) and
  // registers it for restore. If the driver cannot report its config
  // (SIOCGHWTSTAMP unsupported), the previous config is taken as off/none.
  static absl::StatusOr<std::unique_ptr<HwTimestampingRestorer>> Capture(int fd,
                                                                         std::string_view ifname);
  ~HwTimestampingRestorer();
  HwTimestampingRestorer(const HwTimestampingRestorer&) = delete;
  HwTimestampingRestorer& operator=(const HwTimestampingRestorer&) = delete;

  const HwTstampConfig& previous() const { return previous_; }
  bool previous_known() const { return previous_known_; }
  // Restores now (once); later calls and the destructor do nothing.
  absl::Status Restore();
  // Keeps the current config: nothing is restored.
  void Release();

 private:
  HwTimestampingRestorer() = default;
  int slot_ = -1;
  std::string ifname_;
  HwTstampConfig previous_;
  bool previous_known_ = false;
};

// Restores every config still registered. Async-signal-safe (ioctl and atomics
// only); returns how many were restored.
int RestoreAllHwTimestamping();

// Once per process: atexit(RestoreAllHwTimestamping) and SIGINT/SIGTERM/SIGHUP
// handlers that restore, then chain to the handler that was installed before
// (or, if that was the default, re-raise so the process ends as it would have).
// Call it from main (apps/) before the first config is changed (PlanTimestamping), so a
// signal during setup restores. Once the program installs its own clean-stop handlers
// (InstallStopSignals), those replace these: the clean stop restores after the last stamp
// was read (restorers, atexit), and a second signal restores and exits.
void InstallHwTimestampingRestoreHandlers();

}  // namespace ringstamp
