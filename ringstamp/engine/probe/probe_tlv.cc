#include "ringstamp/engine/probe/probe_tlv.h"

#include <algorithm>
#include <cstring>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/stamp.h"

namespace ringstamp {
namespace {

bool AllZero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

void WriteTlvHeader(std::byte* p, uint8_t flags, uint8_t type, uint16_t length) {
  Store8(p, flags);
  Store8(p + 1, type);
  StoreBe16(p + 2, length);
}

}  // namespace

StampTimestampMethod MethodForSource(StampSource source) {
  if (IsHardware(source)) return StampTimestampMethod::kHardwareAssist;
  if (source == StampSource::kSoftware) return StampTimestampMethod::kSoftwareLocal;
  return StampTimestampMethod::kControlPlane;
}

StampSource ReceiveSourceForMethod(uint8_t method) {
  switch (static_cast<StampTimestampMethod>(method)) {
    case StampTimestampMethod::kHardwareAssist:
      return StampSource::kHardwareRaw;
    case StampTimestampMethod::kSoftwareLocal:
      return StampSource::kSoftware;
    default:
      return StampSource::kUserspace;
  }
}

StampSource TransmitSourceForMethod(uint8_t method) {
  return static_cast<StampTimestampMethod>(method) == StampTimestampMethod::kHardwareAssist
             ? StampSource::kHardwareRaw
             : StampSource::kEstimate;
}

bool ProbeTlvsFit(size_t packet_size) {
  if (packet_size == kProbeTlvPacketSize) return true;
  return packet_size >= kProbeTlvPacketSize + kStampTlvHeaderSize &&
         packet_size - kProbeTlvPacketSize - kStampTlvHeaderSize <= 0xffff;
}

bool WriteProbeRequestTlvs(std::span<std::byte> packet) {
  if (!ProbeTlvsFit(packet.size())) return false;
  std::byte* p = packet.data();
  std::memset(p + kStampPacketSize, 0, packet.size() - kStampPacketSize);
  size_t off = kStampPacketSize;
  WriteTlvHeader(p + off, kStampTlvFlagUnrecognized, kStampTlvTimestampInfo,
                 kStampTimestampInfoLength);
  off += kStampTlvHeaderSize + kStampTimestampInfoLength;
  WriteTlvHeader(p + off, kStampTlvFlagUnrecognized, kStampTlvFollowUp, kStampFollowUpLength);
  off += kStampTlvHeaderSize + kStampFollowUpLength;
  if (packet.size() > off) {
    WriteTlvHeader(p + off, kStampTlvFlagUnrecognized, kStampTlvExtraPadding,
                   static_cast<uint16_t>(packet.size() - off - kStampTlvHeaderSize));
  }
  return true;
}

ReflectorTlvs ParseReflectorTlvs(std::span<const std::byte> packet) {
  ReflectorTlvs out;
  if (packet.size() < kStampPacketSize + kStampTlvHeaderSize) return out;
  const std::span<const std::byte> tail = packet.subspan(kStampPacketSize);
  if (AllZero(tail)) return out;
  size_t off = 0;
  while (off < tail.size()) {
    if (tail.size() - off < kStampTlvHeaderSize) {
      out.malformed = true;
      break;
    }
    const std::byte* h = tail.data() + off;
    const uint8_t flags = Load8(h);
    const uint8_t type = Load8(h + 1);
    const size_t length = LoadBe16(h + 2);
    if (length > tail.size() - off - kStampTlvHeaderSize) {
      out.malformed = true;
      break;
    }
    const std::byte* v = h + kStampTlvHeaderSize;
    off += kStampTlvHeaderSize + length;
    if (flags & kStampTlvFlagMalformed) {
      out.malformed = true;
      continue;
    }
    if (flags & kStampTlvFlagUnrecognized) {
      ++out.unrecognized;
      continue;
    }
    if (type == kStampTlvTimestampInfo && length >= kStampTimestampInfoLength) {
      out.info = StampTimestampInfo{Load8(v), Load8(v + 1), Load8(v + 2), Load8(v + 3)};
    } else if (type == kStampTlvFollowUp && length >= kStampFollowUpLength) {
      out.follow_up = StampFollowUp{LoadBe32(v), LoadBe64(v + 4), Load8(v + 12)};
    }
  }
  return out;
}

TlvReflectResult ReflectTlvs(std::span<const std::byte> request_tail,
                             std::span<std::byte> reply_tail, const ReflectorTlvFill& fill) {
  TlvReflectResult r;
  const size_t n = std::min(request_tail.size(), reply_tail.size());
  if (n == 0) return r;
  std::memcpy(reply_tail.data(), request_tail.data(), n);
  if (AllZero(request_tail.first(n))) return r;
  std::byte* out = reply_tail.data();
  size_t off = 0;
  while (off < n) {
    if (n - off < kStampTlvHeaderSize) {
      // Bytes too few for a header: flag what there is (the flags byte) as malformed.
      Store8(out + off, Load8(out + off) | kStampTlvFlagMalformed);
      r.malformed = true;
      ++r.tlvs;
      break;
    }
    std::byte* h = out + off;
    const uint8_t type = Load8(h + 1);
    const size_t length = LoadBe16(h + 2);
    ++r.tlvs;
    if (length > n - off - kStampTlvHeaderSize) {
      Store8(h, Load8(h) | kStampTlvFlagMalformed);
      r.malformed = true;
      break;
    }
    std::byte* v = h + kStampTlvHeaderSize;
    uint8_t flags =
        Load8(h) & static_cast<uint8_t>(~(kStampTlvFlagUnrecognized | kStampTlvFlagMalformed |
                                          kStampTlvFlagIntegrity));
    switch (type) {
      case kStampTlvExtraPadding:
        break;
      case kStampTlvTimestampInfo:
        if (length < kStampTimestampInfoLength) {
          flags |= kStampTlvFlagMalformed;
          r.malformed = true;
          break;
        }
        Store8(v, static_cast<uint8_t>(fill.sync_source));
        Store8(v + 1, static_cast<uint8_t>(fill.t2_method));
        Store8(v + 2, static_cast<uint8_t>(fill.sync_source));
        Store8(v + 3, static_cast<uint8_t>(fill.t3_method));
        break;
      case kStampTlvFollowUp:
        if (length < kStampFollowUpLength) {
          flags |= kStampTlvFlagMalformed;
          r.malformed = true;
          break;
        }
        r.follow_up_requested = true;
        StoreBe32(v, fill.follow_up.seq);
        StoreBe64(v + 4, fill.follow_up.timestamp);
        Store8(v + 12, fill.follow_up.method);
        std::memset(v + 13, 0, 3);
        break;
      default:
        flags |= kStampTlvFlagUnrecognized;
        ++r.unrecognized;
        break;
    }
    Store8(h, flags);
    off += kStampTlvHeaderSize + length;
  }
  return r;
}

}  // namespace ringstamp
