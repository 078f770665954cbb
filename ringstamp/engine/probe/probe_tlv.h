// probe_tlv.h — the RFC 8972 STAMP TLVs the probe uses to learn how the reflector stamped.
//
// Example:
// Given: std::span<std::byte> packet; std::span<const std::byte> request; std::span<std::byte> reply
// Given: const ReflectorTlvFill& fill
//   WriteProbeRequestTlvs(packet);                       // sender: bytes 44.. of a ≥ 72-byte packet
//   ReflectTlvs(request.subspan(44), reply.subspan(44), fill);   // reflector: answer them
//   ReflectorTlvs r = ParseReflectorTlvs(reply);         // sender: r.info->t2_method ...
//
// STAMP (RFC 8762) has no field that says whether t2 and t3 are hardware,
// kernel or program stamps, nor a way to carry a reflector's real transmit
// time. RFC 8972 adds both as TLVs after the 44-byte base packet, and the probe
// uses exactly those instead of a private convention in MBZ bytes:
//
//   TLV header (§4): flags(1: U 0x80, M 0x40, I 0x20) | type(1) | length(2, value bytes)
//   Timestamp Information, type 3 (§4.3), value 4 bytes:
//     Sync Src In | Timestamp In (how t2 was taken) | Sync Src Out | Timestamp Out (t3)
//     methods: 1 HW assist, 2 SW local, 3 control plane; sources: 1 NTP, 2 PTP,
//     3 SSU/BITS, 4 GNSS, 5 local free-running
//   Follow-Up Telemetry, type 7 (§4.7), value 16 bytes: the reflector's
//     sequence number of its previous reply in this session | that reply's real
//     transmit time (8, format of the packet's Z bit) | Timestamp Mode (1) | 3 reserved
//   Extra Padding, type 1 (§4.1): fills the packet to the chosen size.
//
// The sender's request (a probe of kProbeTlvPacketSize = 72 bytes or more):
//   44: Timestamp Information (U=1, zero value)   52: Follow-Up Telemetry (U=1, zero value)
//   72: Extra Padding (U=1, zeros) filling the rest; 73..75 bytes cannot hold one.
// A reflector that understands a TLV fills it and clears U; one that does not
// returns it with U set (or answers with 44 bytes). The sender trusts a TLV
// only with U and M clear. Our reflector maps its stamp sources to methods:
// hardware → HW assist, software (kernel) → SW local, userspace → control
// plane; its t3 is always written before sending, so Timestamp Out is control
// plane, and the real transmit time follows one reply later in Follow-Up.
//
// How the sender labels the reflector's stamps (ProbeResult t2, t3):
//   t2: Timestamp In 1 → hardware, 2 → software, 3 → userspace; no TLV (a
//       foreign reflector) or another value → userspace, the weakest claim
//       for an observed clock read (a stamp is never promoted on a guess).
//   t3: Timestamp Out 1 (a NIC that writes t3 as the packet leaves) → hardware;
//       anything else → estimate (a packet cannot carry its own send time).
//
// A request whose bytes after 44 are all zero is plain RFC 8762 padding: it is
// copied, not parsed as TLVs. Pure functions on byte spans: any thread, no
// allocation; the caller checks that spans have equal length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp {

inline constexpr uint8_t kStampTlvFlagUnrecognized = 0x80;  // U
inline constexpr uint8_t kStampTlvFlagMalformed = 0x40;     // M
inline constexpr uint8_t kStampTlvFlagIntegrity = 0x20;     // I
inline constexpr size_t kStampTlvHeaderSize = 4;

inline constexpr uint8_t kStampTlvExtraPadding = 1;
inline constexpr uint8_t kStampTlvTimestampInfo = 3;
inline constexpr uint8_t kStampTlvFollowUp = 7;
inline constexpr size_t kStampTimestampInfoLength = 4;
inline constexpr size_t kStampFollowUpLength = 16;

// The smallest probe that carries both TLVs: 44 + (4 + 4) + (4 + 16).
inline constexpr size_t kProbeTlvPacketSize = 72;

enum class StampSyncSource : uint8_t {
  kReserved = 0,
  kNtp = 1,
  kPtp = 2,
  kSsuBits = 3,
  kGnss = 4,
  kLocalFreeRunning = 5,
};

enum class StampTimestampMethod : uint8_t {
  kReserved = 0,
  kHardwareAssist = 1,
  kSoftwareLocal = 2,
  kControlPlane = 3,
};

// hardware → HW assist, software → SW local, userspace and estimate → control plane.
StampTimestampMethod MethodForSource(StampSource source);
// Labels per the table above. `method` is the raw byte of the TLV.
StampSource ReceiveSourceForMethod(uint8_t method);   // t2, and Follow-Up's stamp
StampSource TransmitSourceForMethod(uint8_t method);  // t3

// True when a sender packet of `packet_size` bytes can carry the request TLVs
// (72, or ≥ 76 so that an Extra Padding TLV fills the rest).
bool ProbeTlvsFit(size_t packet_size);

// Writes the request TLVs into packet[44, size). Returns false (and writes
// nothing) when !ProbeTlvsFit(packet.size()).
bool WriteProbeRequestTlvs(std::span<std::byte> packet);

struct StampTimestampInfo {
  uint8_t sync_in = 0;
  uint8_t method_in = 0;  // how t2 was taken
  uint8_t sync_out = 0;
  uint8_t method_out = 0;  // how t3 was taken
  friend bool operator==(const StampTimestampInfo&, const StampTimestampInfo&) = default;
};

struct StampFollowUp {
  uint32_t seq = 0;        // the reflector's sequence number of its previous reply
  uint64_t timestamp = 0;  // its real transmit time, raw (0: none known)
  uint8_t method = 0;      // how that time was taken
  friend bool operator==(const StampFollowUp&, const StampFollowUp&) = default;
};

// What a reply's TLVs say; only TLVs with U and M clear count.
struct ReflectorTlvs {
  std::optional<StampTimestampInfo> info;
  std::optional<StampFollowUp> follow_up;
  uint16_t unrecognized = 0;  // TLVs returned with U set
  bool malformed = false;     // a TLV ran past the packet, or was flagged M
};

// Parses the TLVs of a reflector packet (bytes from 44 on). Fewer than 48
// bytes, or an all-zero tail, give an empty result.
ReflectorTlvs ParseReflectorTlvs(std::span<const std::byte> packet);

// What the reflector writes into the TLVs it understands.
struct ReflectorTlvFill {
  StampSyncSource sync_source = StampSyncSource::kNtp;
  StampTimestampMethod t2_method = StampTimestampMethod::kSoftwareLocal;
  StampTimestampMethod t3_method = StampTimestampMethod::kControlPlane;
  StampFollowUp follow_up;  // all zero when no previous transmit time is known
};

struct TlvReflectResult {
  uint16_t tlvs = 0;          // TLVs seen (0 for plain padding)
  uint16_t unrecognized = 0;  // returned with U set
  bool malformed = false;     // one was flagged M (the rest copied verbatim)
  bool follow_up_requested = false;
};

// Answers the TLVs in `request_tail` (request bytes from 44 on) into
// `reply_tail` (same length): known TLVs filled with U cleared, padding
// copied, unknown ones copied with U set, a TLV that runs past the end or is
// too short for its type copied with M set (and nothing after it parsed).
// An all-zero tail is copied as padding.
TlvReflectResult ReflectTlvs(std::span<const std::byte> request_tail,
                             std::span<std::byte> reply_tail, const ReflectorTlvFill& fill);

}  // namespace ringstamp
