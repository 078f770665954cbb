// probe_reflector.h — ProbeReflector: the STAMP session-reflector of `ringstamp probe server`, no
// I/O.
//
// Example:
// Given: #include "ringstamp/common/clock.h"
// Given: std::span<const std::byte> payload; const Timestamps& rx_stamps; uint8_t ip_ttl
// Given: uint64_t peer_key; std::span<std::byte> reply_payload; const Timestamps& tx_stamps
// Given: void Send(std::span<const std::byte> datagram)
//   RS_ASSIGN_OR_RETURN(ProbeReflector reflector, ProbeReflector::Create({}));
//   // for each UDP datagram to the STAMP port (the transport owns sockets and clocks);
//   // peer_key: the caller's digest of the sender's address and port
//   Reflection r = reflector.Reflect(payload, rx_stamps, ip_ttl, peer_key, RealtimeNs(),
//                                    reply_payload);
//   if (r.size) Send(reply_payload.first(r.size));     // TX stamp request keyed by r.id
//   reflector.OnSent(r.id, tx_stamps);                  // when the TX stamp arrives (or never)
//   ReflectorSummary s = reflector.Summary();
//
// Answers any STAMP session-sender in unauthenticated mode (RFC 8762 §4.3),
// including a plain 44-byte packet from a kernel UDP socket: the reply has the
// request's length, the reflector's own sequence number per session (stateful)
// or the sender's (stateless), t2 = the best receive stamp (hardware mapped to
// system time, then software, then userspace; without any, the clock read
// `t3_clock_unix_ns`, labelled userspace), t3 = an estimate (a packet cannot carry its own
// send time: read the clock as late as possible, RestampT3 right before the send): the clock
// read plus the learned TX latency (T3Offset below), the sender's
// sequence number, timestamp, error estimate and SSID copied, and the TTL /
// hop limit the request arrived with. Timestamps are NTP, or PTPv2 truncated
// when options.error_estimate has the Z bit.
//
// RFC 8972 TLVs in the request are answered (probe_tlv.h): Timestamp
// Information with the real source of this t2 and "control plane" for t3;
// Follow-Up Telemetry with the real TX stamp (given to OnSent) of this session's
// oldest reply whose stamp is known and not yet reported (the last one reported
// again when none is new); unknown TLVs returned with U set.
//
// A session is (peer_key, SSID): peer_key is the caller's digest of the
// sender's address and port. Sessions live in a table of max_sessions
// entries reserved up front; when it is full the least recently used one is
// replaced (counted). OnSent(id) finds the reply among the last `pending_tx`
// ones; the error of its t3 estimate (real TX stamp − estimate, hardware or
// software stamps only) goes into a distribution.
//
// The learned TX latency: the clock read before the send and the kernel's TX stamp are apart by
// the send system call and the kernel's path to the driver (1.5–2 µs on a VM whose system calls
// cost ~1 µs each), the same from one reply to the next. The reflector keeps the last
// kT3LatencyWindow of those latencies (real TX stamp − clock read, both on the system clock) and
// adds their median (≥ 0) to each clock read, so that the t3 a reply carries — all a sender
// without Follow-Up gets, and what any sender falls back on when the real one does not come —
// is centred on the real send time instead of always early. 0 until the first stamp, and with
// options.learn_t3_latency off. The t3 error then says how far the estimate strays (its spread),
// not how late the clock was read.
//
// Ownership: owns its tables (allocated in Create). Thread-safety: none; one
// thread drives a reflector (a worker). Cost: Reflect O(1 + TLVs), no
// allocation (a new session when the table is full scans it once, O(max_sessions));
// OnSent O(1) (while learning: a median of 64 latencies at each of the first 64 stamps, then
// at every 8th). Memory: ~56 bytes × (max_sessions + pending_tx) plus 8 bytes
// per TX stamp in the error distribution.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "ringstamp/engine/probe/latency_stats.h"
#include "ringstamp/engine/probe/probe_summary.h"
#include "ringstamp/engine/probe/probe_tlv.h"
#include "ringstamp/engine/proto/stamp.h"
#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp {

struct ProbeReflectorOptions {
  bool stateful = true;  // own sequence numbers per session (RFC 8762 §4.3.1); else the sender's
  // The reflector's error estimate in every reply (S: clock synchronised to
  // UTC; Z: PTP timestamp format). Default: not synchronised, 1 ms.
  StampErrorEstimate error_estimate = StampErrorEstimate::FromNs(1'000'000, false);
  // TAI − UTC in seconds (TaiUtcOffsetSeconds()): PTP-format timestamps are TAI.
  int32_t tai_utc_offset_s = 0;
  // Reported in the Timestamp Information TLV. A Linux system clock is
  // normally NTP-disciplined; kPtp when ptp4l/phc2sys steer it,
  // kLocalFreeRunning when nothing does.
  StampSyncSource sync_source = StampSyncSource::kNtp;
  uint32_t max_sessions = 1024;  // ≥ 1
  uint32_t pending_tx = 4096;    // replies awaiting OnSent; rounded up to a power of two, ≥ 16
  size_t max_exact_samples = LatencyStats::kDefaultMaxExactSamples;
  // t3 estimate = clock read + the learned TX latency (true), or the clock read alone (false).
  bool learn_t3_latency = true;
};

enum class ReflectorDrop : uint8_t {
  kNone = 0,
  kTruncated,       // fewer than 44 bytes: not a STAMP packet
  kOutputTooSmall,  // the reply buffer is shorter than the request
  kCount,
};

// "none", "truncated", "output_too_small".
std::string_view ReflectorDropName(ReflectorDrop drop);

struct Reflection {
  size_t size = 0;  // reply bytes written (= request length); 0 when dropped
  ReflectorDrop drop = ReflectorDrop::kNone;
  uint64_t id = 0;  // pass to OnSent with this reply's TX stamps
  uint32_t reflector_seq = 0;
  uint32_t sender_seq = 0;
};

struct ReflectorSummary {
  uint64_t reflected = 0;
  std::array<uint64_t, static_cast<size_t>(ReflectorDrop::kCount)> dropped{};  // by reason
  uint64_t rx_stamp_missing = 0;   // requests without any RX stamp (t2 = the clock read)
  uint64_t tlv_requests = 0;       // requests that carried TLVs
  uint64_t tlv_unrecognized = 0;   // TLVs returned with U set
  uint64_t tlv_malformed = 0;      // requests with a TLV flagged M
  uint64_t tx_stamps = 0;          // OnSent with a hardware or software stamp
  uint64_t tx_stamps_missing = 0;  // OnSent without one (the kernel never stamped the reply)
  uint64_t tx_stamps_unknown = 0;  // OnSent for an id no longer (or never) pending
  uint64_t tx_pending_overwritten =
      0;                            // replies whose OnSent never came before their slot was reused
  uint64_t follow_ups_dropped = 0;  // real TX stamps never reported: a session's queue was full
  uint64_t sessions = 0;            // currently known
  uint64_t sessions_evicted = 0;
  std::array<uint64_t, kStampSourceCount> t2_sources{};  // by StampSource
  std::array<uint64_t, kStampSourceCount> tx_sources{};  // real TX stamps by StampSource
  LatencySummary t3_error;                               // real TX stamp − t3 estimate, ns
  // What the t3 estimate adds to the clock read now (the learned TX latency; 0 when not
  // learning or before the first TX stamp), and from how many TX stamps it was learned.
  int64_t t3_offset_ns = 0;
  uint32_t t3_offset_samples = 0;
  bool t3_offset_learned = false;  // options.learn_t3_latency
};

class ProbeReflector {
 public:
  static absl::StatusOr<ProbeReflector> Create(const ProbeReflectorOptions& options);

  ProbeReflector(ProbeReflector&&) noexcept;
  ProbeReflector& operator=(ProbeReflector&&) noexcept;
  ~ProbeReflector();

  // Writes the reply to `request` (a UDP payload) into `out`, which must not
  // overlap `request` (the reply is zeroed before the TLVs are read). `received_ttl`:
  // TTL / hop limit of the request's IP header; `peer_key`: the caller's
  // session digest of the sender's address and port.
  // `t3_clock_unix_ns`: the system clock read now; t3 is written as it plus T3Offset().
  Reflection Reflect(std::span<const std::byte> request, const Timestamps& rx_stamps,
                     uint8_t received_ttl, uint64_t peer_key, int64_t t3_clock_unix_ns,
                     std::span<std::byte> out, uint64_t reserved_id = 0);

  // Takes an id for a reply before it is built, so that the TX stamp request can name it
  // before Reflect runs; pass it to Reflect. An id never used costs nothing.
  uint64_t ReserveId() { return next_id_++; }

  // Rewrites the t3 estimate of reply `r` in `reply` (what Reflect wrote into) from a
  // later reading of the clock (plus T3Offset()): call it as the last step before the send,
  // after everything else of the reply is written, so that the estimate is as late as it can be.
  void RestampT3(const Reflection& r, std::span<std::byte> reply, int64_t t3_clock_unix_ns);

  // What the t3 estimate adds to the clock read: the median TX latency of the last
  // kT3LatencyWindow stamped replies, ≥ 0; 0 before the first or when not learning.
  int64_t T3Offset() const { return t3_offset_ns_; }
  // The t3 a reply carries for a clock read of `t3_clock_unix_ns`: the read plus T3Offset().
  int64_t T3Estimate(int64_t t3_clock_unix_ns) const { return t3_clock_unix_ns + t3_offset_ns_; }
  static constexpr uint32_t kT3LatencyWindow = 64;

  // The TX stamps of reply `id` (Reflection::id), whenever they come.
  void OnSent(uint64_t id, const Timestamps& tx_stamps);

  ReflectorSummary Summary() const;  // O(TX stamps) for the percentiles
  // Summary without t3_error (O(1)): with a copy of t3_error_stats(), what a caller that holds
  // a lock the worker waits for takes under it, summarizing the copy after.
  ReflectorSummary Counters() const;
  // The t3 errors (as in Summary) recorded since the previous call, and a new window from now
  // on: what an interval report shows. The first call starts the windows and returns an empty
  // summary; until then no window is kept (no second copy of every sample). O(samples in the
  // window).
  LatencySummary TakeT3ErrorWindow();
  const LatencyStats& t3_error_stats() const { return t3_error_; }
  const ProbeReflectorOptions& options() const { return options_; }

 private:
  struct SessionKey {
    uint64_t peer = 0;
    uint16_t ssid = 0;
    friend bool operator==(const SessionKey&, const SessionKey&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const SessionKey& k) {
      return H::combine(std::move(h), k.peer, k.ssid);
    }
  };
  // Real TX stamps of a session's replies not yet reported in a Follow-Up TLV, oldest
  // first: each reply reports one, so that every reply's real t3 reaches the sender even
  // when a stamp comes after the next request was answered.
  static constexpr uint32_t kFollowUpQueue = 8;
  struct Session {
    uint32_t next_seq = 0;
    uint64_t last_used = 0;  // reflection id of its latest request
    bool has_follow_up = false;
    StampFollowUp follow_up;  // the last one reported (repeated while nothing is new)
    std::array<StampFollowUp, kFollowUpQueue> unreported{};
    uint32_t unreported_head = 0;
    uint32_t unreported_count = 0;
  };
  struct Pending {
    uint64_t id = 0;
    bool open = false;
    SessionKey key;
    uint32_t reflector_seq = 0;
    int64_t t3_clock_ns = 0;     // the clock read the estimate came from
    int64_t t3_estimate_ns = 0;  // the t3 the reply carries
  };

  explicit ProbeReflector(const ProbeReflectorOptions& options);
  Session& FindOrAddSession(const SessionKey& key);
  // One more TX latency (real TX stamp − clock read) into the window; the offset follows it.
  void LearnT3Latency(int64_t latency_ns);

  ProbeReflectorOptions options_;
  absl::flat_hash_map<SessionKey, Session> sessions_;
  std::vector<Pending> pending_;
  uint64_t next_id_ = 1;
  ReflectorSummary counters_;
  LatencyStats t3_error_;
  LatencyStats t3_error_window_;  // since the last TakeT3ErrorWindow, once windows are on
  bool windows_ = false;
  // The last kT3LatencyWindow TX latencies (a ring) and their median, the offset in use.
  std::array<int64_t, kT3LatencyWindow> t3_latency_{};
  uint32_t t3_latency_count_ = 0;  // in the ring, ≤ kT3LatencyWindow
  uint32_t t3_latency_next_ = 0;   // where the next goes
  uint32_t t3_latency_since_median_ = 0;
  int64_t t3_offset_ns_ = 0;
};

}  // namespace ringstamp
