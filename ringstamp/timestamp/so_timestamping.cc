#include "ringstamp/timestamp/so_timestamping.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/errno_status.h"
#include "ringstamp/timestamp/kernel_compat.h"

namespace ringstamp {
namespace {

static_assert(kTsTxHardware == SOF_TIMESTAMPING_TX_HARDWARE);
static_assert(kTsTxSoftware == SOF_TIMESTAMPING_TX_SOFTWARE);
static_assert(kTsRxHardware == SOF_TIMESTAMPING_RX_HARDWARE);
static_assert(kTsRxSoftware == SOF_TIMESTAMPING_RX_SOFTWARE);
static_assert(kTsSoftware == SOF_TIMESTAMPING_SOFTWARE);
static_assert(kTsSysHardware == SOF_TIMESTAMPING_SYS_HARDWARE);
static_assert(kTsRawHardware == SOF_TIMESTAMPING_RAW_HARDWARE);
static_assert(kTsOptId == SOF_TIMESTAMPING_OPT_ID);
static_assert(kTsTxSched == SOF_TIMESTAMPING_TX_SCHED);
static_assert(kTsTxAck == SOF_TIMESTAMPING_TX_ACK);
static_assert(kTsOptCmsg == SOF_TIMESTAMPING_OPT_CMSG);
static_assert(kTsOptTsonly == SOF_TIMESTAMPING_OPT_TSONLY);
static_assert(kTsOptStats == SOF_TIMESTAMPING_OPT_STATS);
static_assert(kTsOptPktinfo == SOF_TIMESTAMPING_OPT_PKTINFO);
static_assert(kTsOptTxSwhw == SOF_TIMESTAMPING_OPT_TX_SWHW);
static_assert(kTsBindPhc == SOF_TIMESTAMPING_BIND_PHC);
static_assert(kTsTxRecordMask == SOF_TIMESTAMPING_TX_RECORD_MASK);
static_assert(kTxTimestampCmsgSpace == CMSG_SPACE(sizeof(uint32_t)));

struct FlagName {
  TsFlags bit;
  const char* short_name;
  const char* ethtool_name;
};

constexpr FlagName kFlagNames[] = {
    {kTsTxHardware, "tx_hardware", "hardware-transmit"},
    {kTsTxSoftware, "tx_software", "software-transmit"},
    {kTsRxHardware, "rx_hardware", "hardware-receive"},
    {kTsRxSoftware, "rx_software", "software-receive"},
    {kTsSoftware, "software", "software-system-clock"},
    {kTsSysHardware, "sys_hardware", "hardware-legacy-clock"},
    {kTsRawHardware, "raw_hardware", "hardware-raw-clock"},
    {kTsOptId, "opt_id", "option-id"},
    {kTsTxSched, "tx_sched", "sched-transmit"},
    {kTsTxAck, "tx_ack", "ack-transmit"},
    {kTsOptCmsg, "opt_cmsg", "option-cmsg"},
    {kTsOptTsonly, "opt_tsonly", "option-tsonly"},
    {kTsOptStats, "opt_stats", "option-stats"},
    {kTsOptPktinfo, "opt_pktinfo", "option-pktinfo"},
    {kTsOptTxSwhw, "opt_tx_swhw", "option-tx-swhw"},
    {kTsBindPhc, "bind_phc", "bind-phc"},
    {kTsOptIdTcp, "opt_id_tcp", "option-id-tcp"},
    {kTsOptRxFilter, "opt_rx_filter", "option-rx-filter"},
};

std::string Prefix(std::string_view what) {
  return what.empty() ? std::string() : absl::StrCat(ToAbsl(what), ": ");
}

std::string EinvalHint(TsFlags flags) {
  std::string hint = "the kernel rejected these flags";
  if (flags & kTsBindPhc) absl::StrAppend(&hint, "; bind_phc needs a PTP virtual clock");
  if (flags & ~static_cast<TsFlags>(SOF_TIMESTAMPING_MASK)) {
    absl::StrAppend(&hint, "; flags above ", TsFlagsToString(kTsBindPhc),
                    " need a newer kernel than these headers know");
  }
  if ((flags & kTsOptIdTcp) && !(flags & kTsOptId)) {
    absl::StrAppend(&hint, "; opt_id_tcp needs opt_id");
  }
  absl::StrAppend(&hint, "; try a smaller set (kTsSoftwareRxTx)");
  return hint;
}

}  // namespace

std::string TsFlagsToString(TsFlags flags) {
  if (flags == 0) return "none";
  std::string out;
  for (int bit = 0; bit < 32; ++bit) {
    TsFlags b = 1u << bit;
    if (!(flags & b)) continue;
    if (!out.empty()) out += '|';
    const char* name = nullptr;
    for (const FlagName& f : kFlagNames) {
      if (f.bit == b) name = f.short_name;
    }
    if (name != nullptr) {
      out += name;
    } else {
      absl::StrAppend(&out, "bit", bit);
    }
  }
  return out;
}

std::string_view TsFlagEthtoolName(TsFlags bit) {
  for (const FlagName& f : kFlagNames) {
    if (f.bit == bit) return f.ethtool_name;
  }
  return "unknown";
}

absl::Status EnableSocketTimestamping(int fd, TsFlags flags, std::string_view what) {
  struct so_timestamping ts;
  std::memset(&ts, 0, sizeof(ts));
  ts.flags = static_cast<int>(flags);
  ts.bind_phc = 0;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING_NEW, &ts, sizeof(ts)) == 0) {
    return absl::OkStatus();
  }
  int err = errno;
  if (err == ENOPROTOOPT) {
    // Kernel < 5.1: no SO_TIMESTAMPING_NEW; the int form reports the same layout on 64-bit.
    int v = static_cast<int>(flags);
    if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING_OLD, &v, sizeof(v)) == 0) {
      return absl::OkStatus();
    }
    err = errno;
  }
  std::string call =
      absl::StrCat(Prefix(what), "setsockopt SO_TIMESTAMPING ", TsFlagsToString(flags));
  switch (err) {
    case EINVAL:
      return ErrnoStatus(err, call, EinvalHint(flags));
    case EPERM:
    case EACCES:
      return ErrnoStatus(err, call, "run as root or with CAP_NET_ADMIN");
    case ENOPROTOOPT:
      return ErrnoStatus(err, call, "this socket type does not support SO_TIMESTAMPING");
    case EBADF:
    case ENOTSOCK:
      return ErrnoStatus(err, call, "not an open socket");
    default:
      return ErrnoStatus(err, call);
  }
}

absl::StatusOr<TsFlags> GetSocketTimestamping(int fd) {
  struct so_timestamping ts;
  std::memset(&ts, 0, sizeof(ts));
  socklen_t len = sizeof(ts);
  if (getsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING_NEW, &ts, &len) == 0) {
    return static_cast<TsFlags>(ts.flags);
  }
  int err = errno;
  int v = 0;
  len = sizeof(v);
  if (getsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING_OLD, &v, &len) == 0) {
    return static_cast<TsFlags>(v);
  }
  if (err == ENOPROTOOPT) err = errno;
  return ErrnoStatus(err, "getsockopt SO_TIMESTAMPING");
}

absl::Status SetPacketTimestamp(int fd, TsFlags value, std::string_view what) {
  constexpr TsFlags kAllowed = kTsRawHardware | kTsSysHardware | kTsSoftware;
  if (value & ~kAllowed) {
    return absl::InvalidArgumentError(absl::StrCat(
        Prefix(what), "PACKET_TIMESTAMP takes only software, sys_hardware or raw_hardware, not ",
        TsFlagsToString(value & ~kAllowed)));
  }
  int v = static_cast<int>(value);
  if (setsockopt(fd, SOL_PACKET, PACKET_TIMESTAMP, &v, sizeof(v)) != 0) {
    int err = errno;
    return ErrnoStatus(
        err, absl::StrCat(Prefix(what), "setsockopt PACKET_TIMESTAMP ", TsFlagsToString(value)),
        err == ENOPROTOOPT ? "not an AF_PACKET socket" : "");
  }
  return absl::OkStatus();
}

namespace {

// Writes one cmsg carrying a u32 at `out` (which has CMSG_SPACE(4) bytes).
void WriteU32Cmsg(std::byte* out, int level, int type, uint32_t value) {
  std::memset(out, 0, kTxTimestampCmsgSpace);
  cmsghdr hdr;
  std::memset(&hdr, 0, sizeof(hdr));
  hdr.cmsg_len = CMSG_LEN(sizeof(uint32_t));
  hdr.cmsg_level = level;
  hdr.cmsg_type = type;
  std::memcpy(out, &hdr, sizeof(hdr));
  std::memcpy(out + CMSG_ALIGN(sizeof(cmsghdr)), &value, sizeof(value));
}

}  // namespace

size_t BuildTxTimestampCmsg(std::span<std::byte> out, TsFlags tx_flags) {
  if (out.size() < kTxTimestampCmsgSpace) return 0;
  WriteU32Cmsg(out.data(), SOL_SOCKET, SO_TIMESTAMPING_OLD, tx_flags & kTsTxRecordMask);
  return kTxTimestampCmsgSpace;
}

size_t BuildTxTimestampCmsgWithKey(std::span<std::byte> out, TsFlags tx_flags, uint32_t key) {
  if (out.size() < kTxTimestampCmsgWithKeySpace) return 0;
  WriteU32Cmsg(out.data(), SOL_SOCKET, SO_TIMESTAMPING_OLD, tx_flags & kTsTxRecordMask);
  WriteU32Cmsg(out.data() + kTxTimestampCmsgSpace, SOL_SOCKET, SCM_TS_OPT_ID, key);
  return kTxTimestampCmsgWithKeySpace;
}

}  // namespace ringstamp
