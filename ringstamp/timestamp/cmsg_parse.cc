#include "ringstamp/timestamp/cmsg_parse.h"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "ringstamp/common/clock.h"
#include "ringstamp/timestamp/kernel_compat.h"

namespace ringstamp {
namespace {

// The layouts this walk relies on (x86-64 / LP64).
static_assert(sizeof(cmsghdr) == 16, "cmsghdr: size_t len, int level, int type");
static_assert(offsetof(cmsghdr, cmsg_len) == 0 && offsetof(cmsghdr, cmsg_level) == 8 &&
              offsetof(cmsghdr, cmsg_type) == 12);
static_assert(CMSG_ALIGN(1) == 8, "cmsg alignment is sizeof(size_t)");
static_assert(sizeof(scm_timestamping) == 48 && sizeof(scm_timestamping64) == 48,
              "old and new scm_timestamping agree on 64-bit");
static_assert(sizeof(sock_extended_err) == 16);
static_assert(sizeof(scm_ts_pktinfo) == 16);

constexpr size_t kHdrSize = sizeof(cmsghdr);
constexpr size_t kAlign = sizeof(size_t);
constexpr size_t kScmSize = 48;
constexpr size_t kEeSize = sizeof(sock_extended_err);
constexpr int64_t kMaxSec = int64_t{1} << 33;  // year 2242: beyond is garbage, not a clock

template <typename T>
T Load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// One timespec of the 64-bit layout: {int64 sec, int64 nsec}.
// Returns: 0 = absent (all zero), 1 = valid, -1 = out of range.
int LoadTimespec(const std::byte* p, int64_t& ns) {
  int64_t sec = Load<int64_t>(p);
  int64_t nsec = Load<int64_t>(p + 8);
  if (sec == 0 && nsec == 0) return 0;
  if (sec < 0 || sec >= kMaxSec || nsec < 0 || nsec >= kNsPerSec) return -1;
  ns = sec * kNsPerSec + nsec;
  return 1;
}

bool IsRecvErr(int level, int type) {
  return (level == SOL_PACKET && type == PACKET_TX_TIMESTAMP) ||
         (level == SOL_IP && type == IP_RECVERR) || (level == SOL_IPV6 && type == IPV6_RECVERR);
}

// Decodes one cmsg payload into `out`.
void DecodeOne(int level, int type, const std::byte* data, size_t len, ParsedCmsgs& out) {
  if (level == SOL_SOCKET) {
    switch (type) {
      case SO_TIMESTAMPING_OLD:  // SCM_TIMESTAMPING
      case SO_TIMESTAMPING_NEW:  // SCM_TIMESTAMPING_NEW
        if (out.has_timestamping) {
          ++out.ignored;
        } else if (DecodeScmTimestamping(std::span(data, len), out.stamps)) {
          out.has_timestamping = true;
        } else {
          ++out.malformed;
        }
        return;
      case SCM_TIMESTAMPING_OPT_STATS:
        out.has_opt_stats = true;  // netlink attributes of TCP stats: not ours to read
        return;
      case SCM_TIMESTAMPING_PKTINFO:
        if (len != sizeof(scm_ts_pktinfo)) {
          ++out.malformed;
        } else {
          out.pktinfo_ifindex = Load<uint32_t>(data);
          out.pktinfo_length = Load<uint32_t>(data + 4);
        }
        return;
      case SCM_TS_OPT_ID:
        if (len != sizeof(uint32_t)) {
          ++out.malformed;
        } else {
          out.opt_id = Load<uint32_t>(data);
        }
        return;
      default:
        ++out.ignored;
        return;
    }
  }
  if (IsRecvErr(level, type)) {
    // IP(V6)_RECVERR append the offender address after the struct: allow more, not less.
    if (len < kEeSize) {
      ++out.malformed;
      return;
    }
    sock_extended_err ee;
    std::memcpy(&ee, data, kEeSize);
    if (ee.ee_errno == ENOMSG && ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING) {
      if (out.tx) {
        ++out.ignored;
        return;
      }
      TxStampInfo tx;
      tx.key = ee.ee_data;
      tx.ee_info = ee.ee_info;
      tx.kind = TxStampKindFromInfo(ee.ee_info);
      tx.level = level;
      out.tx = tx;
    } else {
      if (out.error) {
        ++out.ignored;
        return;
      }
      SockError e;
      e.ee_errno = ee.ee_errno;
      e.origin = ee.ee_origin;
      e.type = ee.ee_type;
      e.code = ee.ee_code;
      e.info = ee.ee_info;
      e.data = ee.ee_data;
      e.level = level;
      out.error = e;
    }
    return;
  }
  ++out.ignored;
}

}  // namespace

TxStampKind TxStampKindFromInfo(uint32_t ee_info) {
  switch (ee_info) {
    case SCM_TSTAMP_SND:
      return TxStampKind::kSnd;
    case SCM_TSTAMP_SCHED:
      return TxStampKind::kSched;
    case SCM_TSTAMP_ACK:
      return TxStampKind::kAck;
    default:
      return TxStampKind::kOther;
  }
}

std::string_view TxStampKindName(TxStampKind kind) {
  switch (kind) {
    case TxStampKind::kSnd:
      return "snd";
    case TxStampKind::kSched:
      return "sched";
    case TxStampKind::kAck:
      return "ack";
    case TxStampKind::kOther:
      return "other";
  }
  return "other";
}

bool DecodeScmTimestamping(std::span<const std::byte> payload, Timestamps& out) {
  if (payload.size() != kScmSize) return false;
  int64_t sw = 0, legacy = 0, raw = 0;
  int r0 = LoadTimespec(payload.data(), sw);
  int r1 = LoadTimespec(payload.data() + 16, legacy);
  int r2 = LoadTimespec(payload.data() + 32, raw);
  if (r0 < 0 || r1 < 0 || r2 < 0) return false;
  if (r0 > 0) out.software_ns = sw;
  if (r2 > 0) {
    out.hardware_ns = raw;
    out.hardware_source = StampSource::kHardwareRaw;
  } else if (r1 > 0) {
    out.hardware_ns = legacy;
    out.hardware_source = StampSource::kHardwareSys;
  }
  return true;
}

ParsedCmsgs ParseCmsgs(std::span<const std::byte> control) {
  ParsedCmsgs out;
  const std::byte* base = control.data();
  const size_t size = control.size();
  size_t pos = 0;
  // Each step advances pos by at least kHdrSize, so the loop ends within size/16 steps.
  while (size - pos >= kHdrSize) {
    const size_t cmsg_len = Load<size_t>(base + pos);
    const int level = Load<int>(base + pos + 8);
    const int type = Load<int>(base + pos + 12);
    if (cmsg_len < kHdrSize) {  // the kernel never writes this: the rest cannot be framed
      ++out.malformed;
      return out;
    }
    if (cmsg_len > size - pos) {  // promised more than there is (MSG_CTRUNC, or garbage)
      out.truncated = true;
      return out;
    }
    if (out.cmsgs < UINT16_MAX) ++out.cmsgs;
    DecodeOne(level, type, base + pos + kHdrSize, cmsg_len - kHdrSize, out);
    // CMSG_NXTHDR: the next header starts at the aligned end; the final
    // padding may be missing from the buffer, which ends the walk.
    const size_t aligned = (cmsg_len + kAlign - 1) & ~(kAlign - 1);
    if (aligned > size - pos) break;
    pos += aligned;
  }
  return out;
}

}  // namespace ringstamp
