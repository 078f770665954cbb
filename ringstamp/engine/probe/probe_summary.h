// probe_summary.h — what a probe run reports: one ProbeResult per probe, and the ProbeSummary.
//
// Example:
// Given: #include "ringstamp/common/clock.h"
// Given: #include "ringstamp/engine/probe/probe_session.h"
// Given: ProbeSender& sender; std::span<const std::byte> payload; const Timestamps& rx; uint8_t ttl
// Given: void Print(uint32_t seq, int64_t rtt_ns, std::string_view t1_source)
//   sender.OnReply(payload, rx, ttl, MonotonicNs(), [&](const ProbeResult& r) {
//     if (r.rtt_ns) Print(r.seq, *r.rtt_ns, ProbeSourceName(r.t1->source));
//   });
//   ProbeSummary s = sender.Summary();   // s.counters.lost, s.network_rtt.p99, s.sources[0] ...
//
// Stamps (t1 client TX, t2 reflector RX, t3 reflector TX, t4 client RX) are
// Unix ns on the system clock (hardware ones mapped through the PHC), each
// with the source it came from; an absent stamp is nullopt, never 0. Figures
// are computed only from stamps that are present:
//   rtt = t4 − t1; dwell = t3 − t2; network_rtt = rtt − dwell;
//   clocks synchronised: forward = t2 − t1 (to the reflector), reverse = t4 − t3 (back);
//   otherwise offset = ((t2 − t1) + (t3 − t4)) / 2 (reflector clock minus ours,
//   truncated toward zero), and no one-way delays.
// t3 is the reflector's real transmit time when it came (RFC 8972 Follow-Up in a
// later reply); otherwise the estimate the reflector wrote before sending, labelled
// "estimate" (t3_estimate always holds what the reflector wrote).
// Every figure rests on its weakest stamp (FigureBasis: hardware > software >
// userspace > estimate), reported per probe and counted in the summary.
// ICMP echo mode (ProbeMode::kIcmpEcho) has no reflector stamps: t2, t3, dwell,
// one-way delays and offset stay absent, and network_rtt = rtt (the peer's own
// stack time cannot be taken out).
// Plain values: copy freely, any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ringstamp/engine/probe/latency_stats.h"
#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp {

inline constexpr size_t kStampSourceCount = 5;  // entries of StampSource

// The probe's names for stamp sources (the JSON "source" values): "hardware"
// (raw PHC mapped to system time, or driver-converted), "software", "userspace", "estimate".
std::string_view ProbeSourceName(StampSource source);

// What produced a result: a STAMP exchange (t1..t4) or an ICMP echo (t1 and t4 only).
enum class ProbeMode : uint8_t {
  kStamp,     // UDP STAMP (RFC 8762) to a reflector
  kIcmpEcho,  // ICMP / ICMPv6 echo, answered by any host's stack
};

// "stamp", "icmp" (the --mode values and the JSON "mode" key).
std::string_view ProbeModeName(ProbeMode mode);

enum class ProbeStatus : uint8_t {
  kOk,          // first reply, within the timeout
  kLate,        // first reply, after the timeout (counted late, never lost)
  kLost,        // no reply within the timeout (reported by Expire; may turn late later)
  kDuplicate,   // a further reply to a probe already answered (not in the statistics)
  kUnanswered,  // still within its timeout when the run stopped (not lost: not waited out)
};

// a precedes b in u32 serial-number order (RFC 1982): true for b = a + 1 .. a + 2^31 − 1.
constexpr bool SeqBefore(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

// "ok", "late", "lost", "duplicate", "unanswered".
std::string_view ProbeStatusName(ProbeStatus status);

// The reflector's real transmit time of one of its earlier replies (RFC 8972 Follow-Up).
struct ProbeFollowUp {
  uint32_t reflector_seq = 0;
  std::optional<uint32_t> seq;  // our probe that reply answered, when still remembered
  Stamp t3_actual;              // the reflector's real TX stamp of that reply
  // t3_actual − the t3 that reply carried: the error of the reflector's estimate.
  std::optional<int64_t> t3_error_ns;
};

// The figures of a probe, for the per-figure stamp basis.
enum class ProbeFigure : uint8_t { kRtt, kNetworkRtt, kDwell, kForward, kReverse, kOffset };
inline constexpr size_t kProbeFigureCount = 6;
// "rtt_ns", "network_rtt_ns", "dwell_ns", "forward_ns", "reverse_ns", "offset_ns" (JSON keys).
std::string_view ProbeFigureKey(ProbeFigure figure);

// How much a stamp source can be trusted: 0 hardware (either kind), 1 software,
// 2 userspace, 3 estimate.
int StampSourceRank(StampSource source);
// The less trustworthy of two sources (the basis of a figure computed from both).
StampSource WeakerSource(StampSource a, StampSource b);

struct ProbeResult {
  uint32_t seq = 0;
  ProbeStatus status = ProbeStatus::kOk;
  ProbeMode mode = ProbeMode::kStamp;
  bool reordered = false;  // arrived after a reply to a later probe
  int64_t send_mono_ns = 0;

  std::optional<Stamp> t1, t2, t3, t4;
  // What the reflector wrote as t3 before sending (absent in ICMP mode); t3 differs from
  // it when the real transmit time came in a Follow-Up TLV.
  std::optional<Stamp> t3_estimate;

  std::optional<int64_t> rtt_ns;
  // What a socket program such as sockperf measures: this program's own receive time of the
  // reply minus its own send time (t4's userspace stamp − t1's userspace estimate, both
  // CLOCK_REALTIME read by this process). Not a network figure: it holds both ends' stacks.
  std::optional<int64_t> user_rtt_ns;
  std::optional<int64_t> t4_userspace_ns;  // the reply's userspace RX stamp (input of user_rtt)
  std::optional<int64_t> dwell_ns;
  std::optional<int64_t> network_rtt_ns;
  std::optional<int64_t> forward_ns;  // clocks synchronised only
  std::optional<int64_t> reverse_ns;  // clocks synchronised only
  std::optional<int64_t> offset_ns;   // clocks not synchronised only
  // basis[f]: the weakest stamp source figure f was computed from (absent with the figure).
  std::array<std::optional<StampSource>, kProbeFigureCount> basis{};

  // Reply fields (absent for kLost).
  std::optional<uint8_t> forward_ttl;  // TTL / hop limit our probe arrived with at the reflector
  std::optional<uint8_t> reply_ttl;    // TTL / hop limit the reply arrived with here
  uint32_t reflector_seq = 0;
  bool reflector_sources_reported = false;  // it answered the Timestamp Information TLV
  bool reflector_synchronized = false;      // S bit of its error estimate
  uint64_t reflector_error_ns = 0;          // its error estimate, ns
  std::optional<ProbeFollowUp> follow_up;
};

struct ProbeCounters {
  uint64_t sent = 0;
  uint64_t received = 0;            // first replies within the timeout
  uint64_t lost = 0;                // timed out and never answered (yet)
  uint64_t late = 0;                // first replies after the timeout
  uint64_t duplicated = 0;          // further replies to an answered probe
  uint64_t reordered = 0;           // first replies that came after a reply to a later probe
  uint64_t in_flight = 0;           // sent, neither answered nor timed out
  uint64_t unanswered_at_stop = 0;  // still within their timeout when the run stopped
  uint64_t unmatched = 0;          // replies to no probe of ours (other session, too old, bad echo)
  uint64_t malformed = 0;          // replies that are not a probe reply (too short, bad contents)
  uint64_t tx_stamps = 0;          // OnSent calls matched to a probe
  uint64_t tx_stamps_unknown = 0;  // OnSent for a seq not (or no longer) in the window
  uint64_t tx_stamps_after_result = 0;  // came after the probe's result was reported
  uint64_t tx_stamp_wait_expired = 0;   // results reported without waiting longer for OnSent
  uint64_t schedule_slips = 0;          // a probe sent more than one interval behind schedule
  uint64_t window_full = 0;             // BuildProbe refused: its slot still held an open probe
  // Of `sent`, the probes the relay refused when they were handed over (never on the wire):
  // neither in flight nor lost. Loss is lost / Settled().
  uint64_t send_failures = 0;
  // t3 (STAMP): answered probes whose result used the reflector's real TX time / its estimate.
  uint64_t t3_real = 0;
  uint64_t t3_estimated = 0;
  uint64_t t3_wait_expired = 0;  // results reported before their real t3 came
  uint64_t t3_after_result = 0;  // real t3 that came after its probe's result was reported
  uint64_t closing_probes = 0;   // uncounted probes sent to fetch the last real t3
  uint64_t closing_replies = 0;  // their replies

  // Probes whose fate is known: sent, minus those in flight, still waiting at the stop, or
  // refused by the relay. The loss figure (the verdict, the report) is lost / Settled().
  uint64_t Settled() const {
    const uint64_t open = in_flight + unanswered_at_stop + send_failures;
    return sent > open ? sent - open : 0;
  }
};

struct ProbeSummary {
  ProbeMode mode = ProbeMode::kStamp;
  ProbeCounters counters;
  bool clocks_synchronised = false;
  LatencySummary rtt;
  LatencySummary user_rtt;  // userspace RTT (the figure sockperf reports as RTT)
  LatencySummary network_rtt;
  LatencySummary dwell;
  LatencySummary forward;  // clocks synchronised only
  LatencySummary reverse;
  LatencySummary offset;    // clocks not synchronised only
  LatencySummary t3_error;  // from the reflector's Follow-Up TLV: real TX − the t3 estimate
  // sources[i][s]: answered probes whose t(i+1) came from StampSource s.
  std::array<std::array<uint64_t, kStampSourceCount>, 4> sources{};
  uint64_t reflector_sources_reported = 0;  // answered probes whose t2/t3 sources were reported
  // The reflector's own word on its clock (its error estimate field, RFC 4656 §4.1.2):
  // answered probes whose reply had the S bit (clock synchronised to UTC), and the largest
  // error estimate any reply gave.
  uint64_t reflector_synchronized = 0;
  uint64_t reflector_error_max_ns = 0;
  // basis[f][s]: answered probes whose figure f rests on StampSource s (its weakest stamp).
  std::array<std::array<uint64_t, kStampSourceCount>, kProbeFigureCount> basis{};
};

}  // namespace ringstamp
