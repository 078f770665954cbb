// cmsg_parse.h — pure decoding of recvmsg control areas: timestamps and TX stamp reports.
//
// Example:
// Given: #include "ringstamp/timestamp/tx_stamp_tracker.h"
// Given: std::span<const std::byte> control; TxStampTracker& tracker; void Use(const Timestamps& rx)
//   ParsedCmsgs p = ParseCmsgs(control);                  // msg_control, msg_controllen bytes
//   if (auto event = TxStampEvent::FromCmsgs(p)) {         // TX stamp from the error queue
//     TxCompletion done;
//     tracker.OnStamp(*event, &done);
//   } else {
//     Use(p.stamps);                                       // RX stamps of a datagram
//   }
//
// What is decoded (everything else is skipped and counted in `ignored`):
//  - SOL_SOCKET/SCM_TIMESTAMPING (and _NEW, the 64-bit variant): ts[0] is the
//    software stamp, ts[2] the raw hardware stamp, ts[1] the legacy
//    driver-converted hardware stamp. An all-zero timespec means "no stamp":
//    zero is never reported as a stamp, least of all as hardware.
//  - SOL_SOCKET/SCM_TIMESTAMPING_OPT_STATS: only noted (netlink attributes).
//  - SOL_SOCKET/SCM_TIMESTAMPING_PKTINFO: ifindex and length.
//  - SOL_SOCKET/SCM_TS_OPT_ID: the explicit key of a send.
//  - sock_extended_err from SOL_PACKET/PACKET_TX_TIMESTAMP, SOL_IP/IP_RECVERR
//    and SOL_IPV6/IPV6_RECVERR: a TX stamp report when ee_errno is ENOMSG and
//    ee_origin SO_EE_ORIGIN_TIMESTAMPING (ee_info = SND/SCHED/ACK, ee_data =
//    the OPT_ID key), any other error (ICMP, zerocopy, txtime) in `error`.
//
// Safety: the walk never trusts cmsg_len. A header that promises more bytes
// than the buffer holds stops the walk (`truncated`); a cmsg whose length does
// not fit its type, or a timespec out of range, is skipped (`malformed`). No
// input can make it read outside `control`; any alignment of `control` works.
// Pure functions: any thread. Cost: tens of ns per message, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp {

// ee_info of a TX stamp (SCM_TSTAMP_*).
enum class TxStampKind : uint8_t {
  kSnd = 0,    // the driver handed the packet to the NIC (software), or the NIC sent it (hardware)
  kSched = 1,  // the packet entered the qdisc
  kAck = 2,    // TCP: the peer acknowledged the data
  kOther = 3,  // a value newer than this code knows (raw value in TxStampInfo::ee_info)
};

std::string_view TxStampKindName(TxStampKind kind);  // "snd", "sched", "ack", "other"

// The kind for an ee_info / io_uring timestamp type value.
TxStampKind TxStampKindFromInfo(uint32_t ee_info);

// The TX stamp report of one error-queue message.
struct TxStampInfo {
  uint32_t key = 0;      // ee_data: the OPT_ID key of the send
  uint32_t ee_info = 0;  // raw SCM_TSTAMP_* value
  TxStampKind kind = TxStampKind::kSnd;
  int level = 0;  // SOL_PACKET, SOL_IP or SOL_IPV6: which cmsg carried it
  friend bool operator==(const TxStampInfo&, const TxStampInfo&) = default;
};

// Any other sock_extended_err (ICMP unreachable, zerocopy, txtime, ...).
struct SockError {
  uint32_t ee_errno = 0;
  uint8_t origin = 0;
  uint8_t type = 0;
  uint8_t code = 0;
  uint32_t info = 0;
  uint32_t data = 0;
  int level = 0;
  friend bool operator==(const SockError&, const SockError&) = default;
};

struct ParsedCmsgs {
  // software_ns ← ts[0], hardware_ns ← ts[2] (kHardwareRaw) or ts[1]
  // (kHardwareSys) when ts[2] is zero. userspace_ns is never set here.
  Timestamps stamps;
  std::optional<TxStampInfo> tx;
  std::optional<SockError> error;
  std::optional<uint32_t> opt_id;           // SCM_TS_OPT_ID
  std::optional<uint32_t> pktinfo_ifindex;  // SCM_TIMESTAMPING_PKTINFO
  uint32_t pktinfo_length = 0;
  bool has_timestamping = false;  // an SCM_TIMESTAMPING cmsg was present (maybe all zero)
  bool has_opt_stats = false;
  bool truncated = false;  // the walk stopped early: a header promised bytes beyond the buffer
  uint16_t cmsgs = 0;      // headers walked
  uint16_t malformed = 0;  // known type, wrong length or out-of-range value: skipped
  uint16_t ignored = 0;    // unknown level/type, or a repeat of one already decoded

  bool ok() const { return !truncated && malformed == 0; }
};

// Walks `control` (msg_control, first msg_controllen bytes) and decodes it.
ParsedCmsgs ParseCmsgs(std::span<const std::byte> control);

// Decodes one 48-byte scm_timestamping / scm_timestamping64 payload into
// `out` (software / hardware only; other fields untouched). False, with `out`
// untouched, if the length is wrong or a timespec is out of range.
bool DecodeScmTimestamping(std::span<const std::byte> payload, Timestamps& out);

}  // namespace ringstamp
