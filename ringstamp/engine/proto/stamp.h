// stamp.h — STAMP (RFC 8762) unauthenticated test packets, NTP timestamps, error estimates.
//
// Example:
// Given: #include "ringstamp/common/clock.h"
// Given: uint32_t n; std::span<std::byte> udp_payload; std::span<const std::byte> reply_payload
//   StampSenderPacket s{.seq = n, .timestamp = UnixNsToNtp(RealtimeNs()),
//                       .error_estimate = StampErrorEstimate::FromNs(1000, /*synchronized=*/true)};
//   size_t len = BuildStampSender(udp_payload, s);              // 44 bytes
//   auto r = ParseStampReflector(reply_payload);                // on the client
//   int64_t t2 = NtpToUnixNs(r->receive_timestamp);
//
// Byte layout (offsets in the UDP payload, big-endian):
//   session-sender (§4.2.1): 0 seq(4) | 4 timestamp(8) | 12 error estimate(2)
//     | 14 SSID(2, RFC 8972; MBZ in RFC 8762) | 16 MBZ(28)                   = 44
//   session-reflector (§4.3.1): 0 seq(4) | 4 timestamp(8) | 12 error
//     estimate(2) | 14 SSID/MBZ(2) | 16 receive timestamp(8) | 24 sender
//     seq(4) | 28 sender timestamp(8) | 36 sender error estimate(2) | 38 MBZ(2)
//     | 40 sender TTL(1) | 41 MBZ(3)                                        = 44
// A longer packet (padding to a chosen test size) is accepted; bytes past
// 44 are left to the caller (MBZ padding or RFC 8972 TLVs). MBZ fields are
// written as zero and ignored on receipt. Timestamps are kept raw (64 bits):
// NTP format when the error estimate's Z bit is 0, PTPv2 truncated when 1;
// convert with the functions below. Any thread, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/parse_error.h"

namespace ringstamp {

inline constexpr uint16_t kStampDefaultPort = 862;
inline constexpr size_t kStampPacketSize = 44;  // both unauthenticated packets
// Where the packet's own timestamp (t1 of a sender, t3 of a reflector) sits: after the
// 4-byte sequence number, in both packets.
inline constexpr size_t kStampTimestampOffset = 4;
// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
inline constexpr int64_t kNtpUnixOffsetSeconds = 2'208'988'800;

// Unix time in ns -> NTP 64-bit timestamp (32.32 fixed point seconds since
// 1900), the fraction rounded to nearest. Exact for every ns in the range
// NtpToUnixNs can return: NtpToUnixNs(UnixNsToNtp(t)) == t.
uint64_t UnixNsToNtp(int64_t unix_ns);
// NTP 64-bit timestamp -> Unix ns, rounded to nearest. Seconds values with
// the top bit clear are read as NTP era 1 (RFC 4330 §3), so the range is
// 1968-01-20T03:14:08Z to 2104-02-26T09:42:23Z (plus the last second's fraction).
// Half-way fractions round up.
int64_t NtpToUnixNs(uint64_t ntp);

// PTPv2 truncated format (RFC 8186 §2.3: 32-bit seconds, 32-bit ns since
// 1970). A format conversion only: PTP seconds are TAI; applying the
// TAI-UTC offset is the caller's decision (the functions below apply it).
uint64_t UnixNsToPtpTruncated(int64_t unix_ns);
int64_t PtpTruncatedToUnixNs(uint64_t ptp);

// A packet's raw timestamp ↔ UTC ns (CLOCK_REALTIME), in the format its
// error estimate's Z bit says. PTP format (Z=1) counts TAI seconds, so
// `tai_utc_offset_s` (TAI − UTC: 37 s since 2017; read it with
// TaiUtcOffsetSeconds() of ringstamp/timestamp/clock_state.h, no syscall here) is added
// when encoding and subtracted when decoding. NTP format (Z=0) is UTC: the
// offset is not used.
inline int64_t StampTimestampToUtcNs(uint64_t raw, bool ptp_format, int32_t tai_utc_offset_s) {
  return ptp_format ? PtpTruncatedToUnixNs(raw) - int64_t{tai_utc_offset_s} * 1'000'000'000
                    : NtpToUnixNs(raw);
}
inline uint64_t UtcNsToStampTimestamp(int64_t utc_ns, bool ptp_format, int32_t tai_utc_offset_s) {
  return ptp_format ? UnixNsToPtpTruncated(utc_ns + int64_t{tai_utc_offset_s} * 1'000'000'000)
                    : UnixNsToNtp(utc_ns);
}

// Error estimate (RFC 4656 §4.1.2, Z bit RFC 8186): S | Z | scale(6) |
// multiplier(8); the error is multiplier * 2^(scale - 32) seconds.
struct StampErrorEstimate {
  bool synchronized = false;  // S: clock synchronised to UTC by an external source
  bool ptp_format = false;    // Z: timestamps in PTPv2 truncated format
  uint8_t scale = 0;          // 6 bits
  uint8_t multiplier = 1;     // must not be 0 (RFC 4656)

  constexpr uint16_t Encode() const {
    return static_cast<uint16_t>((synchronized ? 0x8000 : 0) | (ptp_format ? 0x4000 : 0) |
                                 ((scale & 0x3f) << 8) | multiplier);
  }
  static constexpr StampErrorEstimate Decode(uint16_t field) {
    return {(field & 0x8000) != 0, (field & 0x4000) != 0, static_cast<uint8_t>((field >> 8) & 0x3f),
            static_cast<uint8_t>(field)};
  }
  // The smallest representable estimate that is >= `error_ns` (an estimate
  // must not understate the error); 0 ns gives the smallest, 2^-32 s.
  static StampErrorEstimate FromNs(uint64_t error_ns, bool synchronized, bool ptp_format = false);
  // The estimate in ns, rounded up; saturates at UINT64_MAX.
  uint64_t ToNs() const;
  constexpr bool valid() const { return multiplier != 0; }

  friend constexpr bool operator==(const StampErrorEstimate&, const StampErrorEstimate&) = default;
};

struct StampSenderPacket {
  uint32_t seq = 0;
  uint64_t timestamp = 0;  // raw; see error_estimate.ptp_format
  StampErrorEstimate error_estimate{};
  uint16_t ssid = 0;  // RFC 8972 session id; 0 (MBZ) for plain RFC 8762

  friend bool operator==(const StampSenderPacket&, const StampSenderPacket&) = default;
};

struct StampReflectorPacket {
  uint32_t seq = 0;
  uint64_t timestamp = 0;  // t3: when this reply leaves the reflector
  StampErrorEstimate error_estimate{};
  uint16_t ssid = 0;
  uint64_t receive_timestamp = 0;  // t2: when the sender's packet arrived
  uint32_t sender_seq = 0;
  uint64_t sender_timestamp = 0;  // t1, copied
  StampErrorEstimate sender_error_estimate{};
  uint8_t sender_ttl = 0;  // TTL / hop limit of the sender's packet on arrival

  friend bool operator==(const StampReflectorPacket&, const StampReflectorPacket&) = default;
};

// `payload` is the UDP payload; kStampTruncated below 44 bytes.
ParseResult<StampSenderPacket> ParseStampSender(std::span<const std::byte> payload);
ParseResult<StampReflectorPacket> ParseStampReflector(std::span<const std::byte> payload);

// Write the packet at the start of `out`, zero-filled up to `packet_size`
// (>= 44). Return `packet_size`, or 0 when it is below 44 or does not fit.
size_t BuildStampSender(std::span<std::byte> out, const StampSenderPacket& packet,
                        size_t packet_size = kStampPacketSize);
size_t BuildStampReflector(std::span<std::byte> out, const StampReflectorPacket& packet,
                           size_t packet_size = kStampPacketSize);

// The reflector's answer to `received` (RFC 8762 §4.3): its own `seq`
// (stateful) or received.seq (stateless), receive time t2 and transmit time
// t3 (raw, in the format of `error_estimate`), the sender's fields copied
// and the TTL / hop limit the packet arrived with.
StampReflectorPacket MakeStampReflection(const StampSenderPacket& received, uint8_t received_ttl,
                                         uint32_t seq, uint64_t receive_timestamp,
                                         uint64_t transmit_timestamp,
                                         StampErrorEstimate error_estimate);

}  // namespace ringstamp
