// probe_icmp_session.h — IcmpEchoSender: the ICMP echo mode of `ringstamp probe`, without I/O.
//
// Example:
// Given: #include "ringstamp/common/clock.h"
// Given: std::span<std::byte> data; const Timestamps& tx_stamps; const Timestamps& rx_stamps
// Given: uint16_t reply_id; uint16_t reply_seq; std::span<const std::byte> reply_data; uint8_t ttl
// Given: void Print(const ProbeResult& r)
// Given: void Send(uint16_t id, uint16_t icmp_seq, std::span<const std::byte> data, uint32_t tag)
//   RS_ASSIGN_OR_RETURN(IcmpEchoSender sender, IcmpEchoSender::Create({.count = 100,
//                                     .interval_ns = 10'000'000, .identifier = 0x5253}));
//   auto print = [&](const ProbeResult& r) { Print(r); };
//   // when NextSendAt() is due:
//   BuiltEcho e = sender.BuildProbe(data, MonotonicNs(), RealtimeNs());
//   Send(0x5253, e.icmp_seq, data.first(e.size), /*tx_stamp_tag=*/e.seq);  // an echo request
//   sender.OnSent(e.seq, tx_stamps, print);
//   sender.OnReply(reply_id, reply_seq, reply_data, rx_stamps, ttl, MonotonicNs(), print);
//   sender.Expire(MonotonicNs(), print);
//
// Any host's stack answers an echo request, so this measures the peer's own
// stack: there is no reflector, hence no t2/t3. Each result carries t1 (best
// TX stamp, else the userspace estimate) and t4 (best RX stamp of the reply),
// rtt = t4 − t1 and network_rtt = rtt; dwell, one-way delays and offset stay
// absent (ProbeMode::kIcmpEcho).
//
// Echo data (data_size bytes, after the 8-byte ICMP header):
//   0..3   magic "rsEc"
//   4..7   the sender's 32-bit sequence number (big-endian)
//   8..15  t1, the userspace TX estimate in Unix ns (big-endian, signed)
//   16..   byte k holds k & 0xff
// The ICMP sequence field holds the low 16 bits of the sequence number, the
// identifier field the session's identifier.
//
// Matching: a reply with another identifier is counted unmatched (another
// session's; the EtherConn hands us only ours, so this is a second check). A
// reply shorter than 16 bytes, without the magic, of another length than the
// probe, or whose fill pattern differs is counted malformed: an echo reply
// returns the data unchanged (RFC 792, RFC 4443 §4.2). A reply whose ICMP
// sequence, sequence number or t1 does not name a probe of this session in the
// window is counted unmatched. Everything after that — loss, late,
// duplicates, reordering, TX stamps arriving after the reply, statistics — is
// ProbeTracker's (probe_session.h), exactly as in the STAMP mode.
//
// Ownership: owns its ProbeTracker. Thread-safety: none; one thread drives a
// sender. Cost: BuildProbe O(data_size) for the fill, OnReply O(reply size)
// for the check, both without allocation; memory as ProbeTracker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "absl/status/statusor.h"
#include "ringstamp/engine/probe/latency_stats.h"
#include "ringstamp/engine/probe/probe_session.h"
#include "ringstamp/engine/probe/probe_summary.h"
#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp {

inline constexpr size_t kIcmpProbeHeaderSize = 16;       // magic, sequence number, t1
inline constexpr size_t kIcmpProbeDefaultSize = 56;      // ping's default data size
inline constexpr size_t kIcmpProbeMaxSize = 65'507;      // largest echo data over IPv4
inline constexpr uint32_t kIcmpProbeMagic = 0x72734563;  // "rsEc"

struct IcmpEchoSenderOptions {
  uint64_t count = 0;                        // probes to send; 0: until the caller stops
  int64_t interval_ns = 1'000'000'000;       // between probes; 0: back to back (as STAMP's)
  size_t data_size = kIcmpProbeDefaultSize;  // echo data bytes, 16..65507
  int64_t timeout_ns = 0;   // reply deadline after sending; 0: max(1 s, 3 × interval)
  uint16_t identifier = 0;  // ICMP identifier of this session
  uint32_t first_seq = 0;
  int64_t tx_stamp_wait_ns = 0;  // how long a reply waits for its probe's OnSent; 0: not at all
  uint32_t window = 0;           // probe slots; 0: automatic (see ProbeSenderOptions)
  size_t max_exact_samples = LatencyStats::kDefaultMaxExactSamples;
};

struct BuiltEcho {
  size_t size =
      0;  // data bytes written; 0: nothing built (all sent, buffer too small, window full)
  uint32_t seq = 0;       // the sender's sequence number (TX stamp tag)
  uint16_t icmp_seq = 0;  // what goes into the ICMP sequence field
};

class IcmpEchoSender {
 public:
  // Checks the options: a message naming the option and the way out when unusable.
  static absl::StatusOr<IcmpEchoSender> Create(const IcmpEchoSenderOptions& options);

  // The options in force, timeout_ns and window resolved.
  const IcmpEchoSenderOptions& options() const { return options_; }

  std::optional<int64_t> NextSendAt() const { return tracker_.NextSendAt(); }

  // Writes the next probe's echo data (options.data_size bytes) at the start
  // of `data` and records it as sent (see ProbeSender::BuildProbe).
  BuiltEcho BuildProbe(std::span<std::byte> data, int64_t now_mono_ns, int64_t t1_estimate_unix_ns);

  void OnSent(uint32_t seq, const Timestamps& tx_stamps, ProbeResultFn emit) {
    tracker_.OnSent(seq, tx_stamps, emit);
  }
  // The relay refused echo `seq`: see ProbeTracker::OnSendFailed.
  void OnSendFailed(uint32_t seq) { tracker_.OnSendFailed(seq); }

  // An echo reply with ICMP `identifier` and `icmp_seq` carrying `data` (after
  // the ICMP header), received with `rx_stamps` and TTL / hop limit `reply_ttl`.
  ReplyMatch OnReply(uint16_t identifier, uint16_t icmp_seq, std::span<const std::byte> data,
                     const Timestamps& rx_stamps, uint8_t reply_ttl, int64_t now_mono_ns,
                     ProbeResultFn emit);

  size_t Expire(int64_t now_mono_ns, ProbeResultFn emit) {
    return tracker_.Expire(now_mono_ns, emit);
  }
  std::optional<int64_t> NextDeadline() const { return tracker_.NextDeadline(); }
  bool Done() const { return tracker_.Done(); }
  // As ProbeSender's: a stop ends sending; AbandonAtStop reports what is still open.
  void StopSending() { tracker_.StopSending(); }
  void AbandonAtStop(ProbeResultFn emit) { tracker_.AbandonAtStop(emit); }

  const ProbeCounters& counters() const { return tracker_.counters(); }
  ProbeSummary Summary() const { return tracker_.Summary(); }

 private:
  IcmpEchoSender(const IcmpEchoSenderOptions& options, ProbeTracker tracker)
      : options_(options), tracker_(std::move(tracker)) {}

  IcmpEchoSenderOptions options_;
  ProbeTracker tracker_;
};

}  // namespace ringstamp
