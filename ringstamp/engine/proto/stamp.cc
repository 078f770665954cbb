#include "ringstamp/engine/proto/stamp.h"

#include <cstring>
#include <limits>

#include "ringstamp/engine/proto/byte_order.h"

namespace ringstamp {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

// RFC 8762 byte offsets (§4.2.1 session-sender, §4.3.1 session-reflector).
constexpr size_t kSeqAt = 0;
constexpr size_t kTimestampAt = 4;
constexpr size_t kErrorEstimateAt = 12;
constexpr size_t kSsidAt = 14;
constexpr size_t kSenderMbzAt = 16;  // 28 MBZ octets to the end
constexpr size_t kReceiveTimestampAt = 16;
constexpr size_t kSenderSeqAt = 24;
constexpr size_t kSenderTimestampAt = 28;
constexpr size_t kSenderErrorEstimateAt = 36;
constexpr size_t kSenderTtlAt = 40;  // then 3 MBZ octets
// Each field ends where the next begins, and both packets are 44 bytes.
static_assert(kSeqAt + 4 == kTimestampAt && kTimestampAt + 8 == kErrorEstimateAt &&
              kErrorEstimateAt + 2 == kSsidAt && kSsidAt + 2 == kSenderMbzAt &&
              kSenderMbzAt + 28 == kStampPacketSize);
static_assert(kSsidAt + 2 == kReceiveTimestampAt && kReceiveTimestampAt + 8 == kSenderSeqAt &&
              kSenderSeqAt + 4 == kSenderTimestampAt &&
              kSenderTimestampAt + 8 == kSenderErrorEstimateAt &&
              kSenderErrorEstimateAt + 2 + 2 == kSenderTtlAt &&
              kSenderTtlAt + 1 + 3 == kStampPacketSize);
constexpr uint64_t kTwo32 = uint64_t{1} << 32;

// Floor division into seconds and a remainder in [0, 1e9).
void SplitNs(int64_t ns, int64_t& seconds, uint64_t& rem) {
  seconds = ns / kNsPerSecond;
  int64_t r = ns % kNsPerSecond;
  if (r < 0) {
    r += kNsPerSecond;
    --seconds;
  }
  rem = static_cast<uint64_t>(r);
}

// Both packets begin with the same 16 bytes: seq, timestamp, error estimate, SSID.
template <typename Packet>
Packet LoadLeadingFields(const std::byte* p) {
  Packet packet;
  packet.seq = LoadBe32(p + kSeqAt);
  packet.timestamp = LoadBe64(p + kTimestampAt);
  packet.error_estimate = StampErrorEstimate::Decode(LoadBe16(p + kErrorEstimateAt));
  packet.ssid = LoadBe16(p + kSsidAt);
  return packet;
}

// Zero-fills the first `packet_size` bytes of `out` and writes the leading fields; the
// packet's start, or nullptr when packet_size is below 44 or does not fit in `out`.
template <typename Packet>
std::byte* StartPacket(std::span<std::byte> out, const Packet& packet, size_t packet_size) {
  if (packet_size < kStampPacketSize || out.size() < packet_size) return nullptr;
  std::byte* p = out.data();
  std::memset(p, 0, packet_size);
  StoreBe32(p + kSeqAt, packet.seq);
  StoreBe64(p + kTimestampAt, packet.timestamp);
  StoreBe16(p + kErrorEstimateAt, packet.error_estimate.Encode());
  StoreBe16(p + kSsidAt, packet.ssid);
  return p;
}

}  // namespace

uint64_t UnixNsToNtp(int64_t unix_ns) {
  int64_t seconds;
  uint64_t rem;
  SplitNs(unix_ns, seconds, rem);
  // rem < 1e9 < 2^30, so rem * 2^32 < 2^62.
  uint64_t fraction = ((rem << 32) + kNsPerSecond / 2) / kNsPerSecond;
  if (fraction >= kTwo32) {  // cannot happen for rem < 1e9, kept for clarity
    fraction -= kTwo32;
    ++seconds;
  }
  const uint64_t ntp_seconds = static_cast<uint64_t>(seconds + kNtpUnixOffsetSeconds) & 0xffffffffu;
  return (ntp_seconds << 32) | fraction;
}

int64_t NtpToUnixNs(uint64_t ntp) {
  int64_t seconds = static_cast<int64_t>(ntp >> 32);
  if (seconds < (int64_t{1} << 31)) seconds += int64_t{1} << 32;  // era 1 (2036-2104)
  const uint64_t fraction = ntp & 0xffffffffu;
  // fraction * 1e9 < 2^62; rounds to nearest (a fraction near 1 can carry into the next second).
  const int64_t ns = static_cast<int64_t>((fraction * kNsPerSecond + (kTwo32 >> 1)) >> 32);
  return (seconds - kNtpUnixOffsetSeconds) * kNsPerSecond + ns;
}

uint64_t UnixNsToPtpTruncated(int64_t unix_ns) {
  int64_t seconds;
  uint64_t rem;
  SplitNs(unix_ns, seconds, rem);
  return ((static_cast<uint64_t>(seconds) & 0xffffffffu) << 32) | rem;
}

int64_t PtpTruncatedToUnixNs(uint64_t ptp) {
  return static_cast<int64_t>(ptp >> 32) * kNsPerSecond + static_cast<int64_t>(ptp & 0xffffffffu);
}

StampErrorEstimate StampErrorEstimate::FromNs(uint64_t error_ns, bool synchronized,
                                              bool ptp_format) {
  StampErrorEstimate e;
  e.synchronized = synchronized;
  e.ptp_format = ptp_format;
  // error = m * 2^(scale-32) s  =>  m = ceil(error_ns * 2^32 / (1e9 * 2^scale)).
  const unsigned __int128 numerator = static_cast<unsigned __int128>(error_ns) << 32;
  for (uint8_t scale = 0; scale < 64; ++scale) {
    const unsigned __int128 denominator = static_cast<unsigned __int128>(kNsPerSecond) << scale;
    unsigned __int128 m = (numerator + denominator - 1) / denominator;
    if (m == 0) m = 1;
    if (m <= 255) {
      e.scale = scale;
      e.multiplier = static_cast<uint8_t>(m);
      return e;
    }
  }
  e.scale = 63;  // unreachable for 64-bit inputs (2^64 ns needs scale 59)
  e.multiplier = 255;
  return e;
}

uint64_t StampErrorEstimate::ToNs() const {
  const unsigned __int128 scaled = (static_cast<unsigned __int128>(multiplier) << (scale & 0x3f)) *
                                   static_cast<unsigned __int128>(kNsPerSecond);
  const unsigned __int128 ns = (scaled + (kTwo32 - 1)) >> 32;
  if (ns > std::numeric_limits<uint64_t>::max()) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(ns);
}

ParseResult<StampSenderPacket> ParseStampSender(std::span<const std::byte> payload) {
  if (payload.size() < kStampPacketSize) return ParseError::kStampTruncated;
  return LoadLeadingFields<StampSenderPacket>(payload.data());
}

ParseResult<StampReflectorPacket> ParseStampReflector(std::span<const std::byte> payload) {
  if (payload.size() < kStampPacketSize) return ParseError::kStampTruncated;
  const std::byte* p = payload.data();
  StampReflectorPacket r = LoadLeadingFields<StampReflectorPacket>(p);
  r.receive_timestamp = LoadBe64(p + kReceiveTimestampAt);
  r.sender_seq = LoadBe32(p + kSenderSeqAt);
  r.sender_timestamp = LoadBe64(p + kSenderTimestampAt);
  r.sender_error_estimate = StampErrorEstimate::Decode(LoadBe16(p + kSenderErrorEstimateAt));
  r.sender_ttl = Load8(p + kSenderTtlAt);
  return r;
}

size_t BuildStampSender(std::span<std::byte> out, const StampSenderPacket& packet,
                        size_t packet_size) {
  return StartPacket(out, packet, packet_size) != nullptr ? packet_size : 0;
}

size_t BuildStampReflector(std::span<std::byte> out, const StampReflectorPacket& packet,
                           size_t packet_size) {
  std::byte* p = StartPacket(out, packet, packet_size);
  if (p == nullptr) return 0;
  StoreBe64(p + kReceiveTimestampAt, packet.receive_timestamp);
  StoreBe32(p + kSenderSeqAt, packet.sender_seq);
  StoreBe64(p + kSenderTimestampAt, packet.sender_timestamp);
  StoreBe16(p + kSenderErrorEstimateAt, packet.sender_error_estimate.Encode());
  Store8(p + kSenderTtlAt, packet.sender_ttl);
  return packet_size;
}

StampReflectorPacket MakeStampReflection(const StampSenderPacket& received, uint8_t received_ttl,
                                         uint32_t seq, uint64_t receive_timestamp,
                                         uint64_t transmit_timestamp,
                                         StampErrorEstimate error_estimate) {
  StampReflectorPacket r;
  r.seq = seq;
  r.timestamp = transmit_timestamp;
  r.error_estimate = error_estimate;
  r.ssid = received.ssid;
  r.receive_timestamp = receive_timestamp;
  r.sender_seq = received.seq;
  r.sender_timestamp = received.timestamp;
  r.sender_error_estimate = received.error_estimate;
  r.sender_ttl = received_ttl;
  return r;
}

}  // namespace ringstamp
