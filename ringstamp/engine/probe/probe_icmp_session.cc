#include "ringstamp/engine/probe/probe_icmp_session.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ringstamp/engine/proto/byte_order.h"

namespace ringstamp {
namespace {

std::byte FillByte(size_t k) { return static_cast<std::byte>(k & 0xff); }

}  // namespace

absl::StatusOr<IcmpEchoSender> IcmpEchoSender::Create(const IcmpEchoSenderOptions& in) {
  IcmpEchoSenderOptions o = in;
  if (o.data_size < kIcmpProbeHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ICMP probe data of ", o.data_size, " bytes cannot hold the ", kIcmpProbeHeaderSize,
        " bytes of sequence number and t1; use --size ", kIcmpProbeHeaderSize, " or more"));
  }
  if (o.data_size > kIcmpProbeMaxSize) {
    return absl::InvalidArgumentError(absl::StrCat("ICMP probe data of ", o.data_size,
                                                   " bytes exceeds the largest echo (",
                                                   kIcmpProbeMaxSize, "); use a smaller --size"));
  }
  auto tracker = ProbeTracker::Create({.mode = ProbeMode::kIcmpEcho,
                                       .count = o.count,
                                       .interval_ns = o.interval_ns,
                                       .timeout_ns = o.timeout_ns,
                                       .first_seq = o.first_seq,
                                       .tx_stamp_wait_ns = o.tx_stamp_wait_ns,
                                       .window = o.window,
                                       .max_exact_samples = o.max_exact_samples});
  if (!tracker.ok()) return tracker.status();
  o.timeout_ns = tracker->options().timeout_ns;
  o.window = tracker->options().window;
  return IcmpEchoSender(o, std::move(*tracker));
}

BuiltEcho IcmpEchoSender::BuildProbe(std::span<std::byte> data, int64_t now_mono_ns,
                                     int64_t t1_estimate_unix_ns) {
  if (tracker_.AllSent() || data.size() < options_.data_size) return {};
  const std::optional<uint32_t> seq = tracker_.ReserveNext();
  if (!seq) return {};
  std::byte* p = data.data();
  StoreBe32(p, kIcmpProbeMagic);
  StoreBe32(p + 4, *seq);
  StoreBe64(p + 8, static_cast<uint64_t>(t1_estimate_unix_ns));
  for (size_t k = kIcmpProbeHeaderSize; k < options_.data_size; ++k) p[k] = FillByte(k);
  tracker_.RecordSent(now_mono_ns, t1_estimate_unix_ns, static_cast<uint64_t>(t1_estimate_unix_ns));
  return {options_.data_size, *seq, static_cast<uint16_t>(*seq)};
}

ReplyMatch IcmpEchoSender::OnReply(uint16_t identifier, uint16_t icmp_seq,
                                   std::span<const std::byte> data, const Timestamps& rx_stamps,
                                   uint8_t reply_ttl, int64_t now_mono_ns, ProbeResultFn emit) {
  if (identifier != options_.identifier) return tracker_.CountUnmatched();
  if (data.size() < kIcmpProbeHeaderSize || LoadBe32(data.data()) != kIcmpProbeMagic) {
    return tracker_.CountMalformed();
  }
  if (data.size() != options_.data_size) return tracker_.CountMalformed();
  for (size_t k = kIcmpProbeHeaderSize; k < data.size(); ++k) {
    if (data[k] != FillByte(k)) return tracker_.CountMalformed();
  }
  const uint32_t seq = LoadBe32(data.data() + 4);
  const uint64_t t1 = LoadBe64(data.data() + 8);
  if (static_cast<uint16_t>(seq) != icmp_seq) return tracker_.CountUnmatched();
  ProbeResult reply;
  reply.t4 = rx_stamps.BestSystem();
  reply.t4_userspace_ns = rx_stamps.userspace_ns;
  reply.reply_ttl = reply_ttl;
  return tracker_.OnReply(seq, t1, reply, now_mono_ns, emit);
}

}  // namespace ringstamp
