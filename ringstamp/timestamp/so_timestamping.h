// so_timestamping.h — SO_TIMESTAMPING / PACKET_TIMESTAMP flags and the calls that set them.
//
// Example:
// Given: int fd; std::span<std::byte> control
//   TsFlags f = kTsRxSoftware | kTsTxSoftware | kTsSoftware | kTsOptId | kTsOptTsonly;
//   RS_RETURN_IF_ERROR(EnableSocketTimestamping(fd, f, "eth1"));
//   size_t n = BuildTxTimestampCmsg(control, kTsTxSoftware | kTsTxHardware);  // per send
//
// Owns nothing: thin, checked wrappers over setsockopt and cmsg building.
// Any thread (the socket is the caller's). Setup calls format a string on
// error; the cmsg builders are free (no allocation, a memcpy or two).
//
// Flag meaning (kernel Documentation/networking/timestamping.rst):
//  - generation flags say WHICH stamps the kernel takes (RX/TX software, RX/TX
//    hardware, TX_SCHED when the packet enters the qdisc);
//  - reporting flags say which of them reach userspace (SOFTWARE = ts[0],
//    RAW_HARDWARE = ts[2] of SCM_TIMESTAMPING);
//  - options: OPT_ID puts a per-socket counter (the key) in ee_data of each TX
//    stamp, OPT_TSONLY returns TX stamps without the packet payload, OPT_CMSG
//    adds IP_PKTINFO-style cmsgs to TX stamps, OPT_TX_SWHW lets one packet get
//    both a software and a hardware TX stamp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ringstamp {

using TsFlags = uint32_t;

// Generation.
inline constexpr TsFlags kTsTxHardware = 1u << 0;
inline constexpr TsFlags kTsTxSoftware = 1u << 1;
inline constexpr TsFlags kTsRxHardware = 1u << 2;
inline constexpr TsFlags kTsRxSoftware = 1u << 3;
inline constexpr TsFlags kTsTxSched = 1u << 8;
inline constexpr TsFlags kTsTxAck = 1u << 9;  // TCP only
// Reporting.
inline constexpr TsFlags kTsSoftware = 1u << 4;
inline constexpr TsFlags kTsSysHardware = 1u << 5;  // legacy, ignored by modern kernels
inline constexpr TsFlags kTsRawHardware = 1u << 6;
// Options.
inline constexpr TsFlags kTsOptId = 1u << 7;
inline constexpr TsFlags kTsOptCmsg = 1u << 10;
inline constexpr TsFlags kTsOptTsonly = 1u << 11;
inline constexpr TsFlags kTsOptStats = 1u << 12;
inline constexpr TsFlags kTsOptPktinfo = 1u << 13;
inline constexpr TsFlags kTsOptTxSwhw = 1u << 14;
inline constexpr TsFlags kTsBindPhc = 1u << 15;
inline constexpr TsFlags kTsOptIdTcp = 1u << 16;     // newer kernels only (6.2+)
inline constexpr TsFlags kTsOptRxFilter = 1u << 17;  // newer kernels only
// The flags a per-send SO_TIMESTAMPING cmsg may carry (SOF_TIMESTAMPING_TX_RECORD_MASK).
inline constexpr TsFlags kTsTxRecordMask = kTsTxHardware | kTsTxSoftware | kTsTxSched | kTsTxAck;

// Common sets.
// Software RX and TX stamps with OPT_ID keys and no payload echo: what the
// error-queue reader and the TX stamp tracker expect.
inline constexpr TsFlags kTsSoftwareRxTx =
    kTsRxSoftware | kTsTxSoftware | kTsSoftware | kTsOptId | kTsOptTsonly;
// Software and hardware, both ways (hardware needs SIOCSHWTSTAMP on the NIC first).
inline constexpr TsFlags kTsHardwareRxTx =
    kTsSoftwareRxTx | kTsRxHardware | kTsTxHardware | kTsRawHardware | kTsOptTxSwhw;

// "tx_hardware|tx_software|..." in bit order; unknown bits as "bit17". "none" for 0.
std::string TsFlagsToString(TsFlags flags);
// The name ethtool -T prints for one bit ("hardware-transmit", "software-receive", ...).
std::string_view TsFlagEthtoolName(TsFlags bit);

// Sets SO_TIMESTAMPING on `fd`. Uses SO_TIMESTAMPING_NEW with struct
// so_timestamping when the kernel has it (so stamps arrive as 64-bit
// SCM_TIMESTAMPING_NEW), else the int form of SO_TIMESTAMPING. `what` names
// the socket in messages ("eth1", "udp 10.0.0.1:9"). EINVAL is explained
// (flags the socket type rejects, kTsBindPhc without a vclock, OPT_ID_TCP on a
// kernel that lacks it), EPERM/ENOPROTOOPT likewise.
absl::Status EnableSocketTimestamping(int fd, TsFlags flags, std::string_view what = {});

// Reads the flags in force (getsockopt SO_TIMESTAMPING).
absl::StatusOr<TsFlags> GetSocketTimestamping(int fd);

// Sets PACKET_TIMESTAMP on an AF_PACKET socket: which stamp the ring writes
// into tp_sec/tp_nsec (kTsRawHardware, kTsSysHardware or kTsSoftware; 0 for
// the default software stamp). Only those three bits are accepted.
absl::Status SetPacketTimestamp(int fd, TsFlags value, std::string_view what = {});

// Per-send control messages (kernel ≥ 4.x for packet and UDP sockets).
//
// Space BuildTxTimestampCmsg needs; size your control buffer with it.
inline constexpr size_t kTxTimestampCmsgSpace = 16 + 8;  // CMSG_SPACE(sizeof(uint32_t))
// Space BuildTxTimestampCmsgWithKey needs (two cmsgs).
inline constexpr size_t kTxTimestampCmsgWithKeySpace = 2 * kTxTimestampCmsgSpace;

// Writes one SOL_SOCKET/SO_TIMESTAMPING cmsg asking for `tx_flags` on this
// send (only kTsTxRecordMask bits; others are dropped). Returns the bytes
// written (msg_controllen), or 0 if `out` is smaller than kTxTimestampCmsgSpace.
// The socket must already have the reporting flags and OPT_ID set.
size_t BuildTxTimestampCmsg(std::span<std::byte> out, TsFlags tx_flags);

// As above plus an SCM_TS_OPT_ID cmsg that sets this send's key explicitly
// (kernel ≥ 6.13; older kernels fail the send with EINVAL). Returns 0 if
// `out` is smaller than kTxTimestampCmsgWithKeySpace.
size_t BuildTxTimestampCmsgWithKey(std::span<std::byte> out, TsFlags tx_flags, uint32_t key);

}  // namespace ringstamp
