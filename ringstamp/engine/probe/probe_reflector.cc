#include "ringstamp/engine/probe/probe_reflector.h"

#include <algorithm>
#include <bit>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ringstamp/engine/proto/byte_order.h"

namespace ringstamp {
namespace {

size_t SourceIndex(StampSource s) {
  const size_t i = static_cast<size_t>(s);
  return i < kStampSourceCount ? i : static_cast<size_t>(StampSource::kUserspace);
}

}  // namespace

std::string_view ReflectorDropName(ReflectorDrop drop) {
  switch (drop) {
    case ReflectorDrop::kNone:
      return "none";
    case ReflectorDrop::kTruncated:
      return "truncated";
    case ReflectorDrop::kOutputTooSmall:
      return "output_too_small";
    case ReflectorDrop::kCount:
      break;
  }
  return "unknown";
}

absl::StatusOr<ProbeReflector> ProbeReflector::Create(const ProbeReflectorOptions& in) {
  ProbeReflectorOptions o = in;
  if (o.max_sessions == 0) {
    return absl::InvalidArgumentError(
        "probe reflector: max_sessions must be at least 1 (one per sender address, port and SSID)");
  }
  if (!o.error_estimate.valid()) {
    return absl::InvalidArgumentError(
        "probe reflector: the error estimate multiplier must not be 0 (RFC 4656 §4.1.2)");
  }
  if (o.pending_tx > (uint32_t{1} << 24)) {
    return absl::InvalidArgumentError(absl::StrCat("probe reflector: pending_tx ", o.pending_tx,
                                                   " is above the limit of ", uint32_t{1} << 24));
  }
  o.pending_tx = std::bit_ceil(std::max<uint32_t>(o.pending_tx, 16));
  return ProbeReflector(o);
}

ProbeReflector::ProbeReflector(const ProbeReflectorOptions& options)
    : options_(options),
      pending_(options.pending_tx),
      t3_error_(options.max_exact_samples),
      t3_error_window_(options.max_exact_samples) {
  sessions_.reserve(options.max_sessions);
}

ProbeReflector::ProbeReflector(ProbeReflector&&) noexcept = default;
ProbeReflector& ProbeReflector::operator=(ProbeReflector&&) noexcept = default;
ProbeReflector::~ProbeReflector() = default;

ProbeReflector::Session& ProbeReflector::FindOrAddSession(const SessionKey& key) {
  auto it = sessions_.find(key);
  if (it != sessions_.end()) return it->second;
  if (sessions_.size() >= options_.max_sessions) {
    auto oldest = sessions_.begin();
    for (auto i = sessions_.begin(); i != sessions_.end(); ++i) {
      if (i->second.last_used < oldest->second.last_used) oldest = i;
    }
    sessions_.erase(oldest);
    ++counters_.sessions_evicted;
  }
  return sessions_[key];
}

Reflection ProbeReflector::Reflect(std::span<const std::byte> request, const Timestamps& rx_stamps,
                                   uint8_t received_ttl, uint64_t peer_key,
                                   int64_t t3_clock_unix_ns, std::span<std::byte> out,
                                   uint64_t reserved_id) {
  Reflection result;
  const ParseResult<StampSenderPacket> parsed = ParseStampSender(request);
  if (!parsed) {
    result.drop = ReflectorDrop::kTruncated;
  } else if (out.size() < request.size()) {
    result.drop = ReflectorDrop::kOutputTooSmall;
  }
  if (result.drop != ReflectorDrop::kNone) {
    ++counters_.dropped[static_cast<size_t>(result.drop)];
    return result;
  }
  const StampSenderPacket& sender = *parsed;
  const SessionKey key{peer_key, sender.ssid};
  const uint64_t id = reserved_id != 0 ? reserved_id : next_id_++;
  Session& session = FindOrAddSession(key);
  session.last_used = id;
  const uint32_t reflector_seq = options_.stateful ? session.next_seq++ : sender.seq;

  Stamp t2{t3_clock_unix_ns, StampSource::kUserspace};
  if (const std::optional<Stamp> best = rx_stamps.BestSystem()) {
    t2 = *best;
  } else {
    ++counters_.rx_stamp_missing;
  }
  ++counters_.t2_sources[SourceIndex(t2.source)];

  const bool ptp = options_.error_estimate.ptp_format;
  const int64_t t3_estimate_ns = T3Estimate(t3_clock_unix_ns);
  const StampReflectorPacket reply =
      MakeStampReflection(sender, received_ttl, reflector_seq,
                          UtcNsToStampTimestamp(t2.ns, ptp, options_.tai_utc_offset_s),
                          UtcNsToStampTimestamp(t3_estimate_ns, ptp, options_.tai_utc_offset_s),
                          options_.error_estimate);
  const size_t size = BuildStampReflector(out, reply, request.size());
  if (request.size() > kStampPacketSize) {
    ReflectorTlvFill fill{.sync_source = options_.sync_source,
                          .t2_method = MethodForSource(t2.source),
                          .t3_method = StampTimestampMethod::kControlPlane};
    if (session.unreported_count > 0) {
      session.follow_up = session.unreported[session.unreported_head];
      session.unreported_head = (session.unreported_head + 1) % kFollowUpQueue;
      --session.unreported_count;
      session.has_follow_up = true;
    }
    if (session.has_follow_up) fill.follow_up = session.follow_up;
    const TlvReflectResult tlv =
        ReflectTlvs(request.subspan(kStampPacketSize),
                    out.subspan(kStampPacketSize, size - kStampPacketSize), fill);
    if (tlv.tlvs != 0) ++counters_.tlv_requests;
    counters_.tlv_unrecognized += tlv.unrecognized;
    if (tlv.malformed) ++counters_.tlv_malformed;
  }

  Pending& p = pending_[id & (pending_.size() - 1)];
  if (p.open) ++counters_.tx_pending_overwritten;
  p = Pending{id, true, key, reflector_seq, t3_clock_unix_ns, t3_estimate_ns};
  ++counters_.reflected;
  result.size = size;
  result.id = id;
  result.reflector_seq = reflector_seq;
  result.sender_seq = sender.seq;
  return result;
}

void ProbeReflector::RestampT3(const Reflection& r, std::span<std::byte> reply,
                               int64_t t3_clock_unix_ns) {
  if (r.size == 0 || reply.size() < kStampTimestampOffset + 8) return;
  const int64_t t3_estimate_ns = T3Estimate(t3_clock_unix_ns);
  StoreBe64(reply.data() + kStampTimestampOffset,
            UtcNsToStampTimestamp(t3_estimate_ns, options_.error_estimate.ptp_format,
                                  options_.tai_utc_offset_s));
  Pending& p = pending_[r.id & (pending_.size() - 1)];
  if (p.open && p.id == r.id) {
    p.t3_clock_ns = t3_clock_unix_ns;
    p.t3_estimate_ns = t3_estimate_ns;
  }
}

void ProbeReflector::LearnT3Latency(int64_t latency_ns) {
  t3_latency_[t3_latency_next_] = latency_ns;
  t3_latency_next_ = (t3_latency_next_ + 1) % kT3LatencyWindow;
  if (t3_latency_count_ < kT3LatencyWindow) {
    ++t3_latency_count_;
  } else if (++t3_latency_since_median_ < 8) {
    return;  // a full window moves slowly: its median every 8th stamp
  }
  t3_latency_since_median_ = 0;
  std::array<int64_t, kT3LatencyWindow> v;
  const auto end = std::copy_n(t3_latency_.begin(), t3_latency_count_, v.begin());
  const auto mid = v.begin() + t3_latency_count_ / 2;
  std::nth_element(v.begin(), mid, end);
  // Never before the clock read: a stamp earlier than the read it follows is a clock step.
  t3_offset_ns_ = std::max<int64_t>(0, *mid);
}

void ProbeReflector::OnSent(uint64_t id, const Timestamps& tx_stamps) {
  Pending& p = pending_[id & (pending_.size() - 1)];
  if (!p.open || p.id != id) {
    ++counters_.tx_stamps_unknown;
    return;
  }
  p.open = false;
  const std::optional<Stamp> best = tx_stamps.BestSystem();
  if (!best || best->source == StampSource::kUserspace) {
    ++counters_.tx_stamps_missing;
    return;
  }
  ++counters_.tx_stamps;
  ++counters_.tx_sources[SourceIndex(best->source)];
  t3_error_.Add(best->ns - p.t3_estimate_ns);
  if (windows_) t3_error_window_.Add(best->ns - p.t3_estimate_ns);
  if (options_.learn_t3_latency) LearnT3Latency(best->ns - p.t3_clock_ns);
  auto it = sessions_.find(p.key);
  if (it == sessions_.end()) return;
  Session& s = it->second;
  if (s.unreported_count == kFollowUpQueue) {  // the sender stopped asking: drop the oldest
    s.unreported_head = (s.unreported_head + 1) % kFollowUpQueue;
    --s.unreported_count;
    ++counters_.follow_ups_dropped;
  }
  s.unreported[(s.unreported_head + s.unreported_count) % kFollowUpQueue] =
      StampFollowUp{.seq = p.reflector_seq,
                    .timestamp = UtcNsToStampTimestamp(best->ns, options_.error_estimate.ptp_format,
                                                       options_.tai_utc_offset_s),
                    .method = static_cast<uint8_t>(MethodForSource(best->source))};
  ++s.unreported_count;
}

ReflectorSummary ProbeReflector::Counters() const {
  ReflectorSummary s = counters_;
  s.sessions = sessions_.size();
  s.t3_offset_ns = t3_offset_ns_;
  s.t3_offset_samples = t3_latency_count_;
  s.t3_offset_learned = options_.learn_t3_latency;
  return s;
}

ReflectorSummary ProbeReflector::Summary() const {
  ReflectorSummary s = Counters();
  s.t3_error = t3_error_.Summarize();
  return s;
}

LatencySummary ProbeReflector::TakeT3ErrorWindow() {
  windows_ = true;
  const LatencySummary s = t3_error_window_.Summarize();
  t3_error_window_.Clear();
  return s;
}

}  // namespace ringstamp
