#include "ringstamp/engine/probe/probe_session.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ringstamp {
namespace {

constexpr int64_t kMinTimeoutNs = 1'000'000'000;
constexpr size_t kMaxProbePacketSize = 65'507;  // largest UDP payload over IPv4
constexpr uint32_t kMinWindow = 1024;
constexpr uint64_t kMaxWindow = uint64_t{1} << 22;
constexpr size_t kMinHeld = 4096;
constexpr size_t kMaxHeld = 65'536;
constexpr int64_t kT3WaitMarginNs = 50'000'000;
constexpr size_t kReplyMemos = 1024;
constexpr size_t kMaxReserve = 65'536;

size_t SourceIndex(StampSource s) {
  const size_t i = static_cast<size_t>(s);
  return i < kStampSourceCount ? i : static_cast<size_t>(StampSource::kUserspace);
}

// The raw 64-bit timestamp of a reflector packet as a stamp; 0 means "not filled in".
std::optional<Stamp> ReflectorStamp(uint64_t raw, bool ptp_format, int32_t tai_utc_offset_s,
                                    StampSource source) {
  if (raw == 0) return std::nullopt;
  return Stamp{StampTimestampToUtcNs(raw, ptp_format, tai_utc_offset_s), source};
}

size_t ReserveFor(uint64_t count) {
  return count == 0 ? kMaxReserve : static_cast<size_t>(std::min<uint64_t>(count, kMaxReserve));
}

}  // namespace

// ---------------------------------------------------------------- tracker

absl::StatusOr<ProbeTracker> ProbeTracker::Create(const ProbeTrackerOptions& in) {
  ProbeTrackerOptions o = in;
  if (o.interval_ns < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("probe interval must not be negative, got ", o.interval_ns,
                     " ns; give --interval, e.g. 10ms, or 0 to send each probe when the one "
                     "before it is answered"));
  }
  if (o.timeout_ns < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("probe timeout must not be negative, got ", o.timeout_ns, " ns"));
  }
  if (o.tx_stamp_wait_ns < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("TX stamp wait must not be negative, got ", o.tx_stamp_wait_ns, " ns"));
  }
  if (o.t3_wait_ns < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("t3 wait must not be negative, got ", o.t3_wait_ns, " ns"));
  }
  if (o.timeout_ns == 0) {
    const int64_t three = o.interval_ns > std::numeric_limits<int64_t>::max() / 3
                              ? std::numeric_limits<int64_t>::max()
                              : 3 * o.interval_ns;
    o.timeout_ns = std::max(kMinTimeoutNs, three);
  }
  // Probes in flight at most: one per interval within a timeout, plus the one being sent (back
  // to back: the one in flight and the next).
  const uint64_t needed =
      o.interval_ns > 0 ? static_cast<uint64_t>(o.timeout_ns / o.interval_ns) + 2 : 2;
  uint64_t window = o.window == 0 ? std::max<uint64_t>(kMinWindow, 2 * needed) : o.window;
  window = std::bit_ceil(std::max<uint64_t>(window, 16));
  if (window > kMaxWindow) {
    return absl::InvalidArgumentError(
        absl::StrCat("a probe timeout of ", o.timeout_ns, " ns at an interval of ", o.interval_ns,
                     " ns keeps ", needed, " probes in flight, more than the ", kMaxWindow,
                     " the sender tracks; lengthen --interval or shorten the timeout"));
  }
  if (window < needed) {
    return absl::InvalidArgumentError(absl::StrCat(
        "probe window ", window, " is smaller than the ", needed,
        " probes in flight within one timeout; raise the window (or leave it 0 for automatic)"));
  }
  o.window = static_cast<uint32_t>(window);
  return ProbeTracker(o);
}

ProbeTracker::ProbeTracker(const ProbeTrackerOptions& options)
    : options_(options),
      slots_(new Slot[options.window]),
      slot_mask_(options.window - 1),
      next_seq_(options.first_seq),
      cursor_(options.first_seq),
      rtt_(options.max_exact_samples),
      user_rtt_(options.max_exact_samples),
      network_rtt_(options.max_exact_samples),
      dwell_(options.max_exact_samples),
      forward_(options.max_exact_samples),
      reverse_(options.max_exact_samples),
      offset_(options.max_exact_samples) {
  if (options.tx_stamp_wait_ns > 0 || options.t3_wait_ns > 0) {
    // Results held at once: at most one per interval within the longest wait (and never
    // more than the window), beyond which a result is reported without waiting (counted).
    const int64_t wait = std::max(options.tx_stamp_wait_ns, options.t3_wait_ns);
    // Back to back: one per round trip within the wait; bounded by the window below.
    const uint64_t in_wait = options.interval_ns > 0
                                 ? static_cast<uint64_t>(wait / options.interval_ns) + 2
                                 : options.window;
    const size_t want = static_cast<size_t>(std::min<uint64_t>(
        std::max<uint64_t>(in_wait, kMinHeld), std::min<uint64_t>(options.window, kMaxHeld)));
    held_.resize(std::bit_ceil(want));
  }
  const size_t reserve = ReserveFor(options.count);
  rtt_.Reserve(reserve);
  user_rtt_.Reserve(reserve);
  network_rtt_.Reserve(reserve);
  if (options.mode == ProbeMode::kIcmpEcho) return;  // no reflector stamps: no further figures
  dwell_.Reserve(reserve);
  if (options.clocks_synchronised) {
    forward_.Reserve(reserve);
    reverse_.Reserve(reserve);
  } else {
    offset_.Reserve(reserve);
  }
}

ProbeTracker::ProbeTracker(ProbeTracker&&) noexcept = default;
ProbeTracker& ProbeTracker::operator=(ProbeTracker&&) noexcept = default;
ProbeTracker::~ProbeTracker() = default;

bool ProbeTracker::AllSent() const {
  return stopped_ || (options_.count != 0 && counters_.sent >= options_.count);
}

void ProbeTracker::StopSending() { stopped_ = true; }

std::optional<int64_t> ProbeTracker::NextSendAt() const {
  if (AllSent()) return std::nullopt;
  return next_due_ns_;
}

std::optional<uint32_t> ProbeTracker::ReserveNext() {
  if (AllSent()) return std::nullopt;
  const Slot& slot = SlotFor(next_seq_);
  if (slot.state == SlotState::kInFlight || slot.state == SlotState::kHeld) {
    ++counters_.window_full;
    return std::nullopt;
  }
  return next_seq_;
}

void ProbeTracker::RecordSent(int64_t now_mono_ns, int64_t t1_estimate_unix_ns, uint64_t echo) {
  SlotFor(next_seq_) = Slot{.seq = next_seq_,
                            .state = SlotState::kInFlight,
                            .echo = echo,
                            .t1_estimate_ns = t1_estimate_unix_ns,
                            .send_mono_ns = now_mono_ns,
                            .deadline_ns = now_mono_ns + options_.timeout_ns};
  if (options_.interval_ns == 0) {
    // Back to back: the next one when this one is answered (OnReply brings the time forward),
    // or when it is lost.
    next_due_ns_ = now_mono_ns + options_.timeout_ns;
  } else {
    // Schedule: one interval after the due time, unless more than one interval behind.
    int64_t base = counters_.sent == 0 ? now_mono_ns : next_due_ns_;
    if (now_mono_ns - base > options_.interval_ns) {
      ++counters_.schedule_slips;
      base = now_mono_ns;
    }
    next_due_ns_ = base + options_.interval_ns;
  }
  ++next_seq_;
  ++counters_.sent;
  ++counters_.in_flight;
}

void ProbeTracker::OnSendFailed(uint32_t seq) {
  Slot& s = SlotFor(seq);
  if (s.seq != seq || s.state != SlotState::kInFlight) return;
  s.state = SlotState::kFree;
  --counters_.in_flight;
  ++counters_.send_failures;
}

Stamp ProbeTracker::BestT1(const Slot& slot) const {
  return slot.has_tx ? slot.tx : Stamp{slot.t1_estimate_ns, StampSource::kUserspace};
}

void ProbeTracker::Finish(ProbeResult& r, const Slot& slot) {
  r.t1 = BestT1(slot);
  auto basis = [&r](ProbeFigure f) -> std::optional<StampSource>& {
    return r.basis[static_cast<size_t>(f)];
  };
  if (r.t4_userspace_ns) r.user_rtt_ns = *r.t4_userspace_ns - slot.t1_estimate_ns;
  if (r.t4) {
    r.rtt_ns = r.t4->ns - r.t1->ns;
    basis(ProbeFigure::kRtt) = WeakerSource(r.t1->source, r.t4->source);
  }
  if (options_.mode == ProbeMode::kIcmpEcho) {
    r.network_rtt_ns = r.rtt_ns;  // no reflector dwell to take out
    basis(ProbeFigure::kNetworkRtt) = basis(ProbeFigure::kRtt);
  } else {
    if (r.t2 && r.t3) {
      r.dwell_ns = r.t3->ns - r.t2->ns;
      basis(ProbeFigure::kDwell) = WeakerSource(r.t2->source, r.t3->source);
    }
    if (r.rtt_ns && r.dwell_ns) {
      r.network_rtt_ns = *r.rtt_ns - *r.dwell_ns;
      basis(ProbeFigure::kNetworkRtt) =
          WeakerSource(*basis(ProbeFigure::kRtt), *basis(ProbeFigure::kDwell));
    }
    if (options_.clocks_synchronised) {
      if (r.t2) {
        r.forward_ns = r.t2->ns - r.t1->ns;
        basis(ProbeFigure::kForward) = WeakerSource(r.t1->source, r.t2->source);
      }
      if (r.t3 && r.t4) {
        r.reverse_ns = r.t4->ns - r.t3->ns;
        basis(ProbeFigure::kReverse) = WeakerSource(r.t3->source, r.t4->source);
      }
    } else if (r.t2 && r.t3 && r.t4) {
      const __int128 sum = static_cast<__int128>(r.t2->ns - r.t1->ns) + (r.t3->ns - r.t4->ns);
      r.offset_ns = static_cast<int64_t>(sum / 2);
      basis(ProbeFigure::kOffset) = WeakerSource(WeakerSource(r.t1->source, r.t2->source),
                                                 WeakerSource(r.t3->source, r.t4->source));
    }
  }
  if (r.status != ProbeStatus::kOk && r.status != ProbeStatus::kLate) return;
  if (options_.mode == ProbeMode::kStamp && r.t3) {
    // Real: a stamp the reflector took (its Follow-Up, or an in-packet t3 it says it stamped).
    const bool real =
        r.t3->source != StampSource::kEstimate && r.t3->source != StampSource::kUserspace;
    ++(real ? counters_.t3_real : counters_.t3_estimated);
  }
  for (size_t f = 0; f < kProbeFigureCount; ++f) {
    if (r.basis[f]) ++basis_[f][SourceIndex(*r.basis[f])];
  }
  if (r.rtt_ns) rtt_.Add(*r.rtt_ns);
  if (r.user_rtt_ns) user_rtt_.Add(*r.user_rtt_ns);
  if (r.dwell_ns) dwell_.Add(*r.dwell_ns);
  if (r.network_rtt_ns) network_rtt_.Add(*r.network_rtt_ns);
  if (r.forward_ns) forward_.Add(*r.forward_ns);
  if (r.reverse_ns) reverse_.Add(*r.reverse_ns);
  if (r.offset_ns) offset_.Add(*r.offset_ns);
  const std::optional<Stamp>* stamps[4] = {&r.t1, &r.t2, &r.t3, &r.t4};
  for (size_t i = 0; i < 4; ++i) {
    if (*stamps[i]) ++sources_[i][SourceIndex((*stamps[i])->source)];
  }
  if (r.reflector_sources_reported) ++reflector_sources_reported_;
  if (options_.mode == ProbeMode::kStamp) {
    if (r.reflector_synchronized) ++reflector_synchronized_;
    reflector_error_max_ns_ = std::max(reflector_error_max_ns_, r.reflector_error_ns);
  }
}

void ProbeTracker::OnSent(uint32_t seq, const Timestamps& tx_stamps, ProbeResultFn emit) {
  Slot& slot = SlotFor(seq);
  if (slot.seq != seq || slot.state == SlotState::kFree) {
    ++counters_.tx_stamps_unknown;
    return;
  }
  ++counters_.tx_stamps;
  const std::optional<Stamp> best = tx_stamps.BestSystem();
  if (best && best->source != StampSource::kUserspace) {
    slot.tx = *best;
    slot.has_tx = true;
  }
  switch (slot.state) {
    case SlotState::kHeld: {
      Held& h = held_[slot.held_pos & (held_.size() - 1)];
      if (h.open && h.seq == seq) {
        h.need_tx = false;
        if (!h.need_t3) Release(h, emit);
      }
      break;
    }
    case SlotState::kAnswered:
      ++counters_.tx_stamps_after_result;
      break;
    default:  // in flight or lost: kept for the reply
      break;
  }
}

void ProbeTracker::Release(Held& h, ProbeResultFn emit) {
  if (h.need_t3) {
    --awaiting_t3_;
    ++counters_.t3_wait_expired;
  }
  if (h.need_tx) ++counters_.tx_stamp_wait_expired;
  h.open = false;
  h.need_tx = h.need_t3 = false;
  Slot& slot = SlotFor(h.seq);
  slot.state = SlotState::kAnswered;
  Finish(h.result, slot);
  emit(h.result);
  // Released entries at the front leave the ring (Done() looks at it).
  while (held_head_ != held_tail_ && !held_[held_head_ & (held_.size() - 1)].open) ++held_head_;
}

bool ProbeTracker::OnRealT3(uint32_t seq, const Stamp& t3, ProbeResultFn emit) {
  Slot& slot = SlotFor(seq);
  if (slot.seq != seq || slot.state != SlotState::kHeld) {
    ++counters_.t3_after_result;
    return false;
  }
  Held& h = held_[slot.held_pos & (held_.size() - 1)];
  if (!h.open || h.seq != seq || !h.need_t3) {
    ++counters_.t3_after_result;
    return false;
  }
  h.result.t3 = t3;
  h.need_t3 = false;
  --awaiting_t3_;
  if (!h.need_tx) Release(h, emit);
  return true;
}

void ProbeTracker::AbandonAtStop(ProbeResultFn emit) {
  stopped_ = true;
  while (held_head_ != held_tail_) {
    Held& h = held_[held_head_ & (held_.size() - 1)];
    if (!h.open) {
      ++held_head_;
      continue;
    }
    Release(h, emit);  // moves held_head_ past it
  }
  while (cursor_ != next_seq_) {
    Slot& s = SlotFor(cursor_);
    if (s.seq == cursor_ && s.state == SlotState::kInFlight) {
      s.state = SlotState::kUnanswered;
      --counters_.in_flight;
      ++counters_.unanswered_at_stop;
      emit(NoReplyResult(s, ProbeStatus::kUnanswered));
    }
    ++cursor_;
  }
}

ProbeResult ProbeTracker::NoReplyResult(const Slot& s, ProbeStatus status) const {
  ProbeResult r;
  r.seq = s.seq;
  r.mode = options_.mode;
  r.status = status;
  r.send_mono_ns = s.send_mono_ns;
  r.t1 = BestT1(s);
  return r;
}

void ProbeTracker::AdvanceCursor() {
  while (cursor_ != next_seq_) {
    const Slot& s = SlotFor(cursor_);
    if (s.seq == cursor_ && s.state == SlotState::kInFlight) return;
    ++cursor_;
  }
}

ReplyMatch ProbeTracker::CountUnmatched() {
  ++counters_.unmatched;
  return ReplyMatch::kUnmatched;
}

ReplyMatch ProbeTracker::CountMalformed() {
  ++counters_.malformed;
  return ReplyMatch::kMalformed;
}

ReplyMatch ProbeTracker::OnReply(uint32_t seq, uint64_t echo, const ProbeResult& reply,
                                 int64_t now_mono_ns, ProbeResultFn emit) {
  return OnReply(seq, echo, reply, now_mono_ns, emit, [](ProbeResult&) {});
}

ReplyMatch ProbeTracker::OnReply(uint32_t seq, uint64_t echo, const ProbeResult& reply,
                                 int64_t now_mono_ns, ProbeResultFn emit,
                                 absl::FunctionRef<void(ProbeResult&)> on_first, bool await_t3) {
  Slot& slot = SlotFor(seq);
  if (slot.seq != seq || slot.state == SlotState::kFree || slot.echo != echo) {
    return CountUnmatched();
  }
  ProbeResult r = reply;
  r.seq = seq;
  r.mode = options_.mode;
  r.reordered = false;
  r.send_mono_ns = slot.send_mono_ns;

  if (slot.state == SlotState::kHeld || slot.state == SlotState::kAnswered) {
    ++counters_.duplicated;
    r.status = ProbeStatus::kDuplicate;
    Finish(r, slot);
    emit(r);
    return ReplyMatch::kDuplicate;
  }

  // On time or late by the reply's RX stamp (when the reply has one): a worker that got
  // to the reply late does not make it late.
  const bool late =
      r.t4 ? r.t4->ns - slot.t1_estimate_ns > options_.timeout_ns : now_mono_ns > slot.deadline_ns;
  if (slot.state == SlotState::kLost) {
    --counters_.lost;
  } else if (slot.state == SlotState::kUnanswered) {
    --counters_.unanswered_at_stop;
  } else {
    --counters_.in_flight;
  }
  r.status = late ? ProbeStatus::kLate : ProbeStatus::kOk;
  ++(late ? counters_.late : counters_.received);
  if (have_highest_ && SeqBefore(seq, highest_replied_)) {
    r.reordered = true;
    ++counters_.reordered;
  } else {
    have_highest_ = true;
    highest_replied_ = seq;
  }
  on_first(r);
  // Back to back: the answer to the latest probe makes the next one due.
  if (options_.interval_ns == 0 && seq == next_seq_ - 1) {
    next_due_ns_ = std::min(next_due_ns_, now_mono_ns);
  }

  const bool need_tx = options_.tx_stamp_wait_ns > 0 && !slot.has_tx;
  const bool need_t3 = await_t3 && options_.t3_wait_ns > 0;
  const bool hold = need_tx || need_t3;
  if (hold && held_tail_ - held_head_ < held_.size()) {
    slot.state = SlotState::kHeld;
    slot.held_pos = held_tail_;
    Held& h = held_[held_tail_ & (held_.size() - 1)];
    // One wait for every held result keeps their deadlines in order.
    const int64_t wait = std::max(options_.tx_stamp_wait_ns, options_.t3_wait_ns);
    h = Held{seq, true, need_tx, need_t3, now_mono_ns + wait, r};
    if (need_t3) ++awaiting_t3_;
    ++held_tail_;
  } else {
    if (need_tx) ++counters_.tx_stamp_wait_expired;  // no room to wait: report now
    if (need_t3) ++counters_.t3_wait_expired;
    slot.state = SlotState::kAnswered;
    Finish(r, slot);
    emit(r);
  }
  AdvanceCursor();
  return late ? ReplyMatch::kLate : ReplyMatch::kMatched;
}

size_t ProbeTracker::Expire(int64_t now_mono_ns, ProbeResultFn emit) {
  while (held_head_ != held_tail_) {
    Held& h = held_[held_head_ & (held_.size() - 1)];
    if (!h.open) {
      ++held_head_;
      continue;
    }
    if (h.deadline_ns > now_mono_ns) break;
    Release(h, emit);  // moves held_head_ past it
  }
  size_t lost = 0;
  while (cursor_ != next_seq_) {
    Slot& s = SlotFor(cursor_);
    if (s.seq == cursor_ && s.state == SlotState::kInFlight) {
      if (s.deadline_ns > now_mono_ns) break;
      s.state = SlotState::kLost;
      --counters_.in_flight;
      ++counters_.lost;
      ++lost;
      emit(NoReplyResult(s, ProbeStatus::kLost));
    }
    ++cursor_;
  }
  return lost;
}

std::optional<int64_t> ProbeTracker::NextDeadline() const {
  std::optional<int64_t> next;
  for (uint64_t pos = held_head_; pos != held_tail_; ++pos) {
    const Held& h = held_[pos & (held_.size() - 1)];
    if (h.open) {
      next = h.deadline_ns;
      break;
    }
  }
  if (cursor_ != next_seq_) {
    const Slot& s = slots_[cursor_ & slot_mask_];
    if (s.seq == cursor_ && s.state == SlotState::kInFlight) {
      next = next ? std::min(*next, s.deadline_ns) : s.deadline_ns;
    }
  }
  return next;
}

bool ProbeTracker::Done() const {
  return AllSent() && counters_.in_flight == 0 && held_head_ == held_tail_;
}

ProbeSummary ProbeTracker::Summary() const {
  ProbeSummary s;
  s.mode = options_.mode;
  s.counters = counters_;
  s.clocks_synchronised = options_.clocks_synchronised;
  s.rtt = rtt_.Summarize();
  s.user_rtt = user_rtt_.Summarize();
  s.network_rtt = network_rtt_.Summarize();
  s.dwell = dwell_.Summarize();
  s.forward = forward_.Summarize();
  s.reverse = reverse_.Summarize();
  s.offset = offset_.Summarize();
  s.sources = sources_;
  s.basis = basis_;
  s.reflector_sources_reported = reflector_sources_reported_;
  s.reflector_synchronized = reflector_synchronized_;
  s.reflector_error_max_ns = reflector_error_max_ns_;
  return s;
}

// ---------------------------------------------------------------- STAMP sender

absl::StatusOr<ProbeSender> ProbeSender::Create(const ProbeSenderOptions& in) {
  ProbeSenderOptions o = in;
  if (o.packet_size < kStampPacketSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "probe size ", o.packet_size, " bytes is below the STAMP minimum of ", kStampPacketSize,
        " bytes (RFC 8762 §4.2.1); use --size ", kStampPacketSize, " or more"));
  }
  if (o.packet_size > kMaxProbePacketSize) {
    return absl::InvalidArgumentError(absl::StrCat("probe size ", o.packet_size,
                                                   " bytes exceeds the largest UDP payload (",
                                                   kMaxProbePacketSize, "); use a smaller --size"));
  }
  if (o.t3_wait_ns < -1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "t3 wait must be -1 (automatic), 0 (never) or positive, got ", o.t3_wait_ns, " ns"));
  }
  const bool with_tlvs = o.request_reflector_info && o.packet_size >= kProbeTlvPacketSize;
  int64_t t3_wait = with_tlvs ? o.t3_wait_ns : 0;  // no TLVs asked: no Follow-Up to wait for
  if (t3_wait < 0) {
    const int64_t two = o.interval_ns > (std::numeric_limits<int64_t>::max() - kT3WaitMarginNs) / 2
                            ? std::numeric_limits<int64_t>::max()
                            : 2 * o.interval_ns + kT3WaitMarginNs;
    const int64_t timeout = o.timeout_ns > 0 ? o.timeout_ns : std::max(kMinTimeoutNs, two);
    t3_wait = std::min(two, timeout);
  }
  auto tracker = ProbeTracker::Create({.mode = ProbeMode::kStamp,
                                       .count = o.count,
                                       .interval_ns = o.interval_ns,
                                       .timeout_ns = o.timeout_ns,
                                       .clocks_synchronised = o.clocks_synchronised,
                                       .first_seq = o.first_seq,
                                       .tx_stamp_wait_ns = o.tx_stamp_wait_ns,
                                       .t3_wait_ns = t3_wait,
                                       .window = o.window,
                                       .max_exact_samples = o.max_exact_samples});
  if (!tracker.ok()) return tracker.status();
  if (with_tlvs && !ProbeTlvsFit(o.packet_size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "probe size ", o.packet_size, " bytes cannot hold the RFC 8972 TLVs (", kProbeTlvPacketSize,
        " bytes) plus an Extra Padding TLV (at least ", kStampTlvHeaderSize, " bytes); use --size ",
        kProbeTlvPacketSize, " or ", kProbeTlvPacketSize + 4,
        " and more, or 44..71 without the reflector's stamp sources"));
  }
  o.timeout_ns = tracker->options().timeout_ns;
  o.window = tracker->options().window;
  o.t3_wait_ns = t3_wait;
  return ProbeSender(o, with_tlvs, std::move(*tracker));
}

ProbeSender::ProbeSender(const ProbeSenderOptions& options, bool with_tlvs, ProbeTracker tracker)
    : options_(options),
      with_tlvs_(with_tlvs),
      tracker_(std::move(tracker)),
      memos_(kReplyMemos),
      t3_error_(options.max_exact_samples) {}

ProbeSender::ProbeSender(ProbeSender&&) noexcept = default;
ProbeSender& ProbeSender::operator=(ProbeSender&&) noexcept = default;
ProbeSender::~ProbeSender() = default;

std::optional<int64_t> ProbeSender::NextSendAt() const {
  if (!tracker_.AllSent()) return tracker_.NextSendAt();
  if (!closing_sent_ && tracker_.AwaitingT3() > 0) return tracker_.next_due_ns();
  return std::nullopt;
}

BuiltProbe ProbeSender::BuildProbe(std::span<std::byte> out, int64_t now_mono_ns,
                                   int64_t t1_estimate_unix_ns) {
  if (out.size() < options_.packet_size) return {};
  const bool closing = tracker_.AllSent();
  if (closing && (closing_sent_ || tracker_.AwaitingT3() == 0)) return {};
  const std::optional<uint32_t> seq =
      closing ? std::optional<uint32_t>(tracker_.next_seq()) : tracker_.ReserveNext();
  if (!seq) return {};
  const bool ptp = options_.error_estimate.ptp_format;
  const StampSenderPacket packet{
      .seq = *seq,
      .timestamp = UtcNsToStampTimestamp(t1_estimate_unix_ns, ptp, options_.tai_utc_offset_s),
      .error_estimate = options_.error_estimate,
      .ssid = options_.ssid};
  const size_t size = BuildStampSender(out, packet, options_.packet_size);
  if (size == 0) return {};
  if (with_tlvs_) WriteProbeRequestTlvs(out.first(size));
  if (closing) {
    closing_sent_ = true;
    closing_seq_ = *seq;
    closing_echo_ = packet.timestamp;
    ++closing_probes_;
  } else {
    tracker_.RecordSent(now_mono_ns, t1_estimate_unix_ns, packet.timestamp);
  }
  return {size, *seq};
}

void ProbeSender::TakeFollowUp(const StampFollowUp& fu, bool ptp, ProbeResultFn emit,
                               std::optional<ProbeFollowUp>* report) {
  ProbeFollowUp f;
  f.reflector_seq = fu.seq;
  f.t3_actual = Stamp{StampTimestampToUtcNs(fu.timestamp, ptp, options_.tai_utc_offset_s),
                      ReceiveSourceForMethod(fu.method)};
  ReplyMemo& m = memos_[fu.seq & (memos_.size() - 1)];
  if (m.valid && m.reflector_seq == fu.seq) {
    if (!m.closing) f.seq = m.seq;
    f.t3_error_ns = f.t3_actual.ns - m.t3_ns;
    if (!m.followed) {
      m.followed = true;
      t3_error_.Add(*f.t3_error_ns);
      // Only a stamp the reflector took (not one it estimated again) replaces the estimate.
      if (!m.closing && f.t3_actual.source != StampSource::kEstimate &&
          f.t3_actual.source != StampSource::kUserspace) {
        tracker_.OnRealT3(m.seq, f.t3_actual, emit);
      }
    }
  }
  if (report != nullptr) *report = f;
}

ReplyMatch ProbeSender::OnReply(std::span<const std::byte> payload, const Timestamps& rx_stamps,
                                uint8_t reply_ttl, int64_t now_mono_ns, ProbeResultFn emit) {
  const ParseResult<StampReflectorPacket> parsed = ParseStampReflector(payload);
  if (!parsed) return tracker_.CountMalformed();
  const StampReflectorPacket& p = *parsed;
  if (p.ssid != options_.ssid && p.ssid != 0) return tracker_.CountUnmatched();

  const ReflectorTlvs tlvs = with_tlvs_ ? ParseReflectorTlvs(payload) : ReflectorTlvs{};
  const bool ptp = p.error_estimate.ptp_format;
  // The Follow-Up (the real TX time of an earlier reply) first: it may finish that
  // reply's result before this one is matched. Its own line reports it (prev_t3_error).
  std::optional<ProbeFollowUp> follow_up;
  const bool has_follow_up = tlvs.follow_up && tlvs.follow_up->timestamp != 0;
  const bool closing_reply =
      closing_sent_ && p.sender_seq == closing_seq_ && p.sender_timestamp == closing_echo_;
  if (has_follow_up) TakeFollowUp(*tlvs.follow_up, ptp, emit, &follow_up);
  if (closing_reply) {
    ++closing_replies_;
    return ReplyMatch::kMatched;
  }

  ProbeResult r;
  r.forward_ttl = p.sender_ttl;
  r.reply_ttl = reply_ttl;
  r.reflector_seq = p.seq;
  r.reflector_synchronized = p.error_estimate.synchronized;
  r.reflector_error_ns = p.error_estimate.ToNs();
  r.reflector_sources_reported = tlvs.info.has_value();
  r.t2 = ReflectorStamp(
      p.receive_timestamp, ptp, options_.tai_utc_offset_s,
      tlvs.info ? ReceiveSourceForMethod(tlvs.info->method_in) : StampSource::kUserspace);
  r.t3 = ReflectorStamp(
      p.timestamp, ptp, options_.tai_utc_offset_s,
      tlvs.info ? TransmitSourceForMethod(tlvs.info->method_out) : StampSource::kEstimate);
  r.t3_estimate = r.t3;
  r.t4 = rx_stamps.BestSystem();
  r.t4_userspace_ns = rx_stamps.userspace_ns;
  r.follow_up = follow_up;

  // A reflector that answered the Follow-Up TLV sends this reply's real TX time in its
  // next reply: the result waits for it, unless this t3 is already a real stamp.
  const bool await_t3 =
      tlvs.follow_up.has_value() && r.t3 &&
      (r.t3->source == StampSource::kEstimate || r.t3->source == StampSource::kUserspace);
  auto remember = [&](ProbeResult& first) {
    if (first.t3) {
      memos_[p.seq & (memos_.size() - 1)] = {p.seq, first.seq, first.t3->ns, true, false, false};
    }
  };
  return tracker_.OnReply(p.sender_seq, p.sender_timestamp, r, now_mono_ns, emit, remember,
                          await_t3);
}

ProbeSummary ProbeSender::Summary() const {
  ProbeSummary s = tracker_.Summary();
  s.t3_error = t3_error_.Summarize();
  s.counters.closing_probes = closing_probes_;
  s.counters.closing_replies = closing_replies_;
  return s;
}

}  // namespace ringstamp
