// probe_session.h — ProbeSender: the STAMP session-sender of `ringstamp probe`, without I/O; and
// ProbeTracker, the part every probe format shares (schedule, matching, loss, statistics).
//
// Example:
// Given: #include "ringstamp/common/clock.h"
// Given: std::span<std::byte> udp_payload; std::span<const std::byte> payload; uint32_t seq
// Given: const Timestamps& tx_stamps; const Timestamps& rx_stamps; uint8_t ttl
// Given: void Print(const ProbeResult& r); void Send(std::span<const std::byte> datagram)
//   RS_ASSIGN_OR_RETURN(ProbeSender sender, ProbeSender::Create({.count = 1000, .interval_ns = 1'000'000}));
//   auto print = [&](const ProbeResult& r) { Print(r); };
//   // event loop (the transport owns sockets and clocks):
//   if (auto due = sender.NextSendAt(); due && *due <= MonotonicNs()) {
//     BuiltProbe p = sender.BuildProbe(udp_payload, MonotonicNs(), RealtimeNs());
//     Send(udp_payload.first(p.size));          // TX stamp request keyed by p.seq
//   }
//   sender.OnSent(seq, tx_stamps, print);       // when the TX stamp arrives (any time, or never)
//   sender.OnReply(payload, rx_stamps, ttl, MonotonicNs(), print);
//   sender.Expire(MonotonicNs(), print);        // timeouts; poll until sender.NextDeadline()
//   ProbeSummary s = sender.Summary();
//
// The state machine of RFC 8762 §4.2 in unauthenticated mode: sequence
// numbers from options.first_seq (u32, wrapping), one probe per interval
// (monotonic clock) or, with interval 0, back to back (the next probe when the
// latest is answered or lost, as sockperf's ping-pong measures), each probe's
// transmit time t1 written into the packet as
// the userspace estimate the caller passes. Each probe occupies a slot of a
// ring (seq % window) until a later probe needs the slot, so replies are
// matched in O(1) by sender sequence number and echoed t1; a reply whose
// echo differs, whose SSID is another session's, or whose probe left the
// window is counted unmatched.
//
// Stamps of a result: t1 the best TX stamp OnSent supplied (hardware mapped to
// system time, then software), else the userspace estimate; t4 the best of the
// reply's RX stamps; t2 from the reply, labelled as probe_tlv.h says (the
// reflector's RFC 8972 Timestamp Information TLV, which the probe requests when
// packet_size is 72 or ≥ 76). t3: a reflector writes its transmit time into the
// reply before sending it, an estimate; ringstamp's reflector (and any that answers
// the Follow-Up Telemetry TLV) sends the real TX time of that reply in its next
// reply. A result whose reply answered the Follow-Up TLV is therefore held until
// the next reply brings its real t3 (or t3_wait_ns passes; then t3 stays the
// estimate, counted), and every figure is computed from the real t3. The last
// probe's real t3 comes with one closing probe that is not counted. Figures and
// what each rests on: see probe_summary.h.
//
// Loss: a probe with no reply by send time + timeout is reported lost by
// Expire (status kLost). A reply after the timeout is late (kLate): if Expire
// had already reported the probe lost, it moves from lost to late, so it is
// never counted twice; sent = received + late + lost + in_flight always.
// Further replies are duplicates (reported, not in the statistics); a first
// reply that arrives after a reply to a later probe is reordered (flagged and
// counted, in the statistics). Statistics cover every first reply, on time or late.
//
// TX stamps may arrive after the reply. With tx_stamp_wait_ns > 0, a reply
// whose probe has no TX stamp yet is held until OnSent delivers one or the
// wait passes (Expire then reports it with the userspace t1). OnSent with no
// hardware or software stamp (the stamp never came) releases it at once.
//
// Everything in the last three paragraphs (slots, schedule, matching by
// sequence number and echoed value, TX stamps, loss / late / duplicate /
// reordered, figures and statistics) is ProbeTracker's, which knows no packet
// format: ProbeSender adds the STAMP packets, IcmpEchoSender (probe_icmp_session.h)
// the ICMP echo data.
//
// Ownership: owns its slot ring and statistics (allocated in Create).
// Thread-safety: none; one thread drives a sender. Cost: BuildProbe,
// OnSent, OnReply O(1) without allocation (statistics are reserved for `count`
// probes up to 65,536; beyond that LatencyStats appends amortised); Expire
// amortised O(1) per probe. Memory: about 64 bytes × window, plus 8 bytes per
// answered probe and figure.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "ringstamp/engine/probe/latency_stats.h"
#include "ringstamp/engine/probe/probe_summary.h"
#include "ringstamp/engine/probe/probe_tlv.h"
#include "ringstamp/engine/proto/stamp.h"
#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp {

struct ProbeSenderOptions {
  uint64_t count = 0;  // probes to send; 0: until the caller stops
  // Between probes; 0: back to back, each probe when the one before it is answered (its first
  // reply) or lost (its timeout), so at most one is in flight.
  int64_t interval_ns = 1'000'000'000;
  // UDP payload bytes of each probe, ≥ 44 (kStampPacketSize). 72 or ≥ 76 (with
  // request_reflector_info) carries the RFC 8972 TLVs; padding is zero / Extra Padding.
  size_t packet_size = kProbeTlvPacketSize;
  int64_t timeout_ns = 0;  // reply deadline after sending; 0: max(1 s, 3 × interval)
  // Both hosts read one clock (two namespaces on one machine, or PTP-disciplined
  // hosts): one-way delays are reported instead of the offset estimate.
  bool clocks_synchronised = false;
  uint16_t ssid = 0;  // RFC 8972 session id; replies with another non-zero SSID are unmatched
  bool request_reflector_info = true;  // ask for the TLVs when packet_size can carry them
  // Written into every probe; its Z bit selects the PTP timestamp format for t1.
  StampErrorEstimate error_estimate = {};
  // TAI − UTC in seconds (TaiUtcOffsetSeconds()): PTP-format timestamps, ours and the
  // reflector's, are TAI on the wire.
  int32_t tai_utc_offset_s = 0;
  uint32_t first_seq = 0;
  int64_t tx_stamp_wait_ns = 0;  // how long a reply waits for its probe's OnSent; 0: not at all
  // How long a reply waits for the reflector's real t3 (the Follow-Up TLV of a later reply)
  // when the reflector sends follow-ups; 0: never wait (t3 is the estimate); -1: automatic,
  // min(timeout, 2 × interval + 50 ms).
  int64_t t3_wait_ns = -1;
  // Probe slots (rounded up to a power of two); 0: enough for 2 × timeout / interval,
  // at least 1024. Must exceed the probes sent within one timeout.
  uint32_t window = 0;
  size_t max_exact_samples = LatencyStats::kDefaultMaxExactSamples;  // per statistic
};

// The format-independent options: the same fields as ProbeSenderOptions, plus the mode
// every result and the summary are marked with.
struct ProbeTrackerOptions {
  ProbeMode mode = ProbeMode::kStamp;  // kIcmpEcho: network_rtt = rtt (no reflector dwell)
  uint64_t count = 0;
  int64_t interval_ns = 1'000'000'000;
  int64_t timeout_ns = 0;
  bool clocks_synchronised = false;
  uint32_t first_seq = 0;
  int64_t tx_stamp_wait_ns = 0;
  int64_t t3_wait_ns = 0;  // resolved: 0 never waits for a real t3
  uint32_t window = 0;
  size_t max_exact_samples = LatencyStats::kDefaultMaxExactSamples;
};

struct BuiltProbe {
  size_t size = 0;  // bytes written; 0: nothing built (all sent, buffer too small, window full)
  uint32_t seq = 0;
};

enum class ReplyMatch : uint8_t {
  kMatched,    // first reply within the timeout
  kLate,       // first reply after the timeout
  kDuplicate,  // a further reply
  kUnmatched,  // no probe of this session (counted, not reported)
  kMalformed,  // not a reply of this format (too short, bad contents)
};

using ProbeResultFn = absl::FunctionRef<void(const ProbeResult&)>;

// Schedule, slots, matching, TX stamps, loss and statistics of one probe
// session, for a format that writes and parses its own packets:
//
// Example:
// Given: #include "ringstamp/common/clock.h"
// Given: ProbeTracker& tracker; uint32_t seq_in_reply; uint64_t echo_in_reply; const Timestamps& rx
// Given: uint8_t ttl; void Write(uint32_t seq, int64_t t1); void Print(const ProbeResult& r)
//   int64_t t1 = RealtimeNs();
//   if (auto seq = tracker.ReserveNext()) {                // when NextSendAt() is due
//     Write(*seq, t1);                                     // the packet carries seq and t1
//     tracker.RecordSent(MonotonicNs(), t1, /*echo=*/t1);
//   }
//   ...
//   ProbeResult reply;  reply.t4 = rx.BestSystem();  reply.reply_ttl = ttl;
//   tracker.OnReply(seq_in_reply, echo_in_reply, reply, MonotonicNs(),
//                   [](const ProbeResult& r) { Print(r); });
//
// Contract and cost as the file banner says for ProbeSender.
class ProbeTracker {
 public:
  // Checks interval, timeout, TX stamp wait and window; resolves timeout_ns and window.
  static absl::StatusOr<ProbeTracker> Create(const ProbeTrackerOptions& options);

  ProbeTracker(ProbeTracker&&) noexcept;
  ProbeTracker& operator=(ProbeTracker&&) noexcept;
  ~ProbeTracker();

  const ProbeTrackerOptions& options() const { return options_; }

  // Monotonic ns at which the next probe is due (≤ now before the first one);
  // nullopt once `count` probes were sent. Back to back (interval 0): the latest
  // probe's deadline while it is in flight, brought forward to the moment its first
  // reply comes (OnReply).
  std::optional<int64_t> NextSendAt() const;
  bool AllSent() const;

  // The sequence number the next probe carries, or nullopt when all `count`
  // were sent or its slot still holds an open probe (counted window_full; call
  // Expire, then retry). Changes nothing else: RecordSent makes it sent.
  std::optional<uint32_t> ReserveNext();
  // Records the probe ReserveNext() named as sent at `now_mono_ns` with the
  // userspace TX estimate `t1_estimate_unix_ns`; a reply must carry back
  // `echo` (what the probe holds of t1) to match. Advances the schedule one
  // interval from when the probe was due, or from now when more than one
  // interval behind (a slip; no catch-up bursts); back to back, to the probe's
  // deadline (see NextSendAt).
  void RecordSent(int64_t now_mono_ns, int64_t t1_estimate_unix_ns, uint64_t echo);

  // As ProbeSender::OnSent.
  void OnSent(uint32_t seq, const Timestamps& tx_stamps, ProbeResultFn emit);
  // Probe `seq` (recorded sent) was refused by the relay: it never left, so it is counted in
  // send_failures and taken out of flight; it will never be lost, and a reply naming it is
  // unmatched. Still counted in `sent` (the counter never goes back; `count` counts attempts).
  void OnSendFailed(uint32_t seq);

  // A reply naming probe `seq` and echoing `echo`. `reply` holds what the reply
  // itself says (t2, t3, t4, TTLs, reflector fields); the tracker fills in seq,
  // mode, status, reordered, send time, t1 and the figures. `on_first` runs for
  // a first reply (on time or late) before its result is reported or held. With
  // `await_t3` (the reflector sends its real TX times in later replies) a first reply's
  // result is held until OnRealT3 gives its t3 or the t3 wait passes.
  // Late or on time is judged from the reply's RX stamp (t4 − the probe's t1 estimate,
  // both CLOCK_REALTIME) when it has one, not from when the reply was processed: a probe
  // Expire already reported lost whose reply arrived in time becomes received.
  ReplyMatch OnReply(uint32_t seq, uint64_t echo, const ProbeResult& reply, int64_t now_mono_ns,
                     ProbeResultFn emit, absl::FunctionRef<void(ProbeResult&)> on_first,
                     bool await_t3 = false);
  ReplyMatch OnReply(uint32_t seq, uint64_t echo, const ProbeResult& reply, int64_t now_mono_ns,
                     ProbeResultFn emit);
  // The reflector's real transmit time of its reply to probe `seq`: becomes the held
  // result's t3 (the figures are computed from it) and releases the result unless it still
  // waits for its TX stamp. False (counted) when the result was already reported.
  bool OnRealT3(uint32_t seq, const Stamp& t3, ProbeResultFn emit);
  // Held results that still wait for their real t3.
  size_t AwaitingT3() const { return awaiting_t3_; }

  // Ends sending (a stop or the end of --duration): AllSent() becomes true. Results in
  // flight keep their deadlines; AbandonAtStop reports what is still open.
  void StopSending();
  // Reports every probe still in flight as kUnanswered (counted unanswered_at_stop, not
  // lost) and releases every held result as it is. Nothing stays open afterwards.
  void AbandonAtStop(ProbeResultFn emit);
  // The moment the next probe was or is due (the schedule, also after AllSent).
  int64_t next_due_ns() const { return next_due_ns_; }
  // The sequence number the next probe would carry.
  uint32_t next_seq() const { return next_seq_; }

  // Replies the format rejected before matching.
  ReplyMatch CountUnmatched();
  ReplyMatch CountMalformed();

  size_t Expire(int64_t now_mono_ns, ProbeResultFn emit);
  std::optional<int64_t> NextDeadline() const;
  bool Done() const;

  const ProbeCounters& counters() const { return counters_; }
  ProbeSummary Summary() const;

  const LatencyStats& rtt_stats() const { return rtt_; }
  const LatencyStats& network_rtt_stats() const { return network_rtt_; }
  const LatencyStats& dwell_stats() const { return dwell_; }

 private:
  enum class SlotState : uint8_t { kFree, kInFlight, kHeld, kAnswered, kLost, kUnanswered };
  struct Slot {
    uint32_t seq = 0;
    SlotState state = SlotState::kFree;
    bool has_tx = false;
    uint64_t echo = 0;  // what a reply must carry back (t1 as written into the probe)
    int64_t t1_estimate_ns = 0;
    int64_t send_mono_ns = 0;
    int64_t deadline_ns = 0;
    Stamp tx;               // valid when has_tx
    uint64_t held_pos = 0;  // position in held_ while kHeld
  };
  struct Held {
    uint32_t seq = 0;
    bool open = false;
    bool need_tx = false;  // waits for OnSent
    bool need_t3 = false;  // waits for OnRealT3
    int64_t deadline_ns = 0;
    ProbeResult result;
  };

  explicit ProbeTracker(const ProbeTrackerOptions& options);

  Slot& SlotFor(uint32_t seq) { return slots_[seq & slot_mask_]; }
  Stamp BestT1(const Slot& slot) const;
  void Finish(ProbeResult& r, const Slot& slot);  // t1, figures, statistics
  void Release(Held& h, ProbeResultFn emit);      // reports a held result
  // The result of a probe without a reply (lost, or unanswered at a stop).
  ProbeResult NoReplyResult(const Slot& s, ProbeStatus status) const;
  void AdvanceCursor();

  ProbeTrackerOptions options_;
  std::unique_ptr<Slot[]> slots_;
  uint32_t slot_mask_ = 0;
  std::vector<Held> held_;  // ring; empty when tx_stamp_wait_ns is 0
  uint64_t held_head_ = 0;  // oldest position
  uint64_t held_tail_ = 0;  // next free position

  uint32_t next_seq_ = 0;
  uint32_t cursor_ = 0;  // oldest seq that may still be in flight
  int64_t next_due_ns_ = 0;
  bool have_highest_ = false;
  uint32_t highest_replied_ = 0;
  bool stopped_ = false;
  size_t awaiting_t3_ = 0;

  ProbeCounters counters_;
  LatencyStats rtt_, user_rtt_, network_rtt_, dwell_, forward_, reverse_, offset_;
  std::array<std::array<uint64_t, kStampSourceCount>, 4> sources_{};
  std::array<std::array<uint64_t, kStampSourceCount>, kProbeFigureCount> basis_{};
  uint64_t reflector_sources_reported_ = 0;
  uint64_t reflector_synchronized_ = 0;
  uint64_t reflector_error_max_ns_ = 0;
};

class ProbeSender {
 public:
  // Checks the options: a message naming the option and the way out when they are unusable.
  static absl::StatusOr<ProbeSender> Create(const ProbeSenderOptions& options);

  ProbeSender(ProbeSender&&) noexcept;
  ProbeSender& operator=(ProbeSender&&) noexcept;
  ~ProbeSender();

  // The options in force, timeout_ns and window resolved.
  const ProbeSenderOptions& options() const { return options_; }
  // True when the probes carry the RFC 8972 TLV request.
  bool requests_reflector_info() const { return with_tlvs_; }

  // Monotonic ns at which the next probe is due (≤ now before the first one);
  // nullopt once `count` probes were sent, except for one closing probe: when the
  // results of the last probes still wait for their real t3, one more probe (not
  // counted, no result of its own) is due one interval later, so that its reply brings
  // the Follow-Up with the last real t3.
  std::optional<int64_t> NextSendAt() const;

  // Writes the next probe (options.packet_size bytes) at the start of `out`
  // and records it as sent at `now_mono_ns` with the userspace TX estimate
  // `t1_estimate_unix_ns` (written into the packet as its timestamp). The
  // schedule advances one interval from when the probe was due, or from now
  // when it is more than one interval behind (a slip; no catch-up bursts).
  // Returns size 0 when all probes were sent, `out` is too small, or the
  // probe's slot still holds an open probe (call Expire, then retry).
  BuiltProbe BuildProbe(std::span<std::byte> out, int64_t now_mono_ns, int64_t t1_estimate_unix_ns);
  // Whether `seq` is the closing probe (its TX stamp and reply feed no result).
  bool IsClosingProbe(uint32_t seq) const { return closing_sent_ && seq == closing_seq_; }

  // The TX stamps of probe `seq`, whenever they come. The best system-clock
  // hardware or software stamp becomes t1; without either (the stamp never
  // came) the userspace estimate stays. May report a held result via `emit`.
  void OnSent(uint32_t seq, const Timestamps& tx_stamps, ProbeResultFn emit) {
    if (IsClosingProbe(seq)) return;
    tracker_.OnSent(seq, tx_stamps, emit);
  }
  // The relay refused probe `seq` (BuildProbe built it; the send failed): see
  // ProbeTracker::OnSendFailed. A refused closing probe is not built again (a relay that
  // refuses it would be asked again at once, in a loop): the results it would have brought
  // real t3s for are released with their estimates when the t3 wait passes, as when its
  // reply is lost.
  void OnSendFailed(uint32_t seq) {
    if (IsClosingProbe(seq)) return;
    tracker_.OnSendFailed(seq);
  }

  // A reflector packet (UDP payload) that arrived with `rx_stamps` and
  // TTL / hop limit `reply_ttl`, at `now_mono_ns`. Reports the probe's result
  // through `emit` (at once, or later when held for its TX stamp).
  ReplyMatch OnReply(std::span<const std::byte> payload, const Timestamps& rx_stamps,
                     uint8_t reply_ttl, int64_t now_mono_ns, ProbeResultFn emit);

  // Reports probes whose deadline is ≤ now_mono_ns as lost, and held results
  // whose TX-stamp or t3 wait has passed. Returns the number of probes newly lost.
  // Expire(INT64_MAX, ...) ends a run: nothing stays in flight.
  size_t Expire(int64_t now_mono_ns, ProbeResultFn emit) {
    return tracker_.Expire(now_mono_ns, emit);
  }
  // A stop (SIGINT, the end of --duration): no more probes, except the closing one. The
  // caller keeps calling Expire until Done() or its grace period ends, then AbandonAtStop.
  void StopSending() { tracker_.StopSending(); }
  void AbandonAtStop(ProbeResultFn emit) { tracker_.AbandonAtStop(emit); }

  // The earliest moment Expire has something to do; nullopt when nothing is open.
  std::optional<int64_t> NextDeadline() const { return tracker_.NextDeadline(); }

  // All `count` probes sent and none in flight or held (never true for count 0).
  bool Done() const { return tracker_.Done(); }

  const ProbeCounters& counters() const { return tracker_.counters(); }
  ProbeSummary Summary() const;  // O(answered probes): percentiles are computed here

  const LatencyStats& rtt_stats() const { return tracker_.rtt_stats(); }
  const LatencyStats& network_rtt_stats() const { return tracker_.network_rtt_stats(); }
  const LatencyStats& dwell_stats() const { return tracker_.dwell_stats(); }

 private:
  struct ReplyMemo {  // reflector seq -> our probe and the t3 its reply carried
    uint32_t reflector_seq = 0;
    uint32_t seq = 0;
    int64_t t3_ns = 0;
    bool valid = false;
    bool followed = false;  // its Follow-Up error is already in t3_error_
    bool closing = false;   // the reply to the closing probe (no result)
  };
  // A reply's Follow-Up TLV: the real t3 of an earlier reply, given to its probe's result.
  void TakeFollowUp(const StampFollowUp& fu, bool ptp, ProbeResultFn emit,
                    std::optional<ProbeFollowUp>* report);

  ProbeSender(const ProbeSenderOptions& options, bool with_tlvs, ProbeTracker tracker);

  ProbeSenderOptions options_;
  bool with_tlvs_ = false;
  ProbeTracker tracker_;
  std::vector<ReplyMemo> memos_;
  LatencyStats t3_error_;
  bool closing_sent_ = false;
  uint32_t closing_seq_ = 0;
  uint64_t closing_echo_ = 0;
  uint64_t closing_probes_ = 0;
  uint64_t closing_replies_ = 0;
};

}  // namespace ringstamp
