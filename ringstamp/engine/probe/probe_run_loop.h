// probe_run_loop.h — a probe client's run, shared by ProbeClient (STAMP) and IcmpProbeClient
// (ICMP echo): each probe is built and sent when due on relay worker 0's own thread (a relay
// timer), while the calling thread expires the ones past their timeout, hands finished results
// to the caller and sleeps until the next of those events.
//
// Sketch:
//   return RunProbeLoop(udp_->ether().relay(), mu_, cv_, pending_, sender_, buf,
//                       [&](const BuiltProbe& p) { return udp_->Write(...); },
//                       on_result, stop, deadline_mono_ns);
//
// Why the worker sends: a frame written on a worker thread goes straight into its TX ring and
// leaves with the worker's kick; one written on the calling thread is queued and the worker
// woken for it (an eventfd write and a context switch), which put ~15 µs between a probe's
// userspace t1 and its kernel TX stamp on a 2-vCPU VM. The userspace round trip (what sockperf
// measures) pays that on every probe.
//
// `sender` is a ProbeSender or IcmpEchoSender (NextSendAt, BuildProbe, Expire,
// NextDeadline, Done, StopSending, AbandonAtStop, options().timeout_ns), guarded by `mu`; worker
// threads add results to `pending` under `mu` and notify `cv` as ProbeResultQueue::ShouldTell
// says (at most about once per kProbeTellPeriodNs while results keep coming: the calling thread
// looks again on its own within that period after it last took some). `send_timer` (under `mu`)
// names the sending timer while the run goes on: a reply that makes the next probe due (back to
// back, interval 0) wakes it (ProbeTimerToWake), so that the probe leaves within the worker's
// poll instead of at the timer's next time. `send` runs on the worker without
// the lock and must not block. Returns the first probe's send error (nothing would work after
// it), an error when the relay has no worker to send from, else OK when the sender is done. When
// `stop` is set or the deadline passes, sending stops and the probes still in flight are waited
// for, at most one timeout, then reported unanswered. Calling thread only; wakes at least every
// 50 ms. The timer is cancelled before it returns (it holds `buf`, `send` and `sender`).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/probe/latency_stats.h"
#include "ringstamp/engine/probe/probe_result_queue.h"
#include "ringstamp/engine/probe/probe_summary.h"
#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp {

// How often the sending timer looks again when no probe is due at a known time: all sent, but
// a closing probe may still be needed when a reply's t3 turns out to be pending.
inline constexpr int64_t kProbeIdleRecheckNs = 10'000'000;
// ... and when one is due but the window of probes in flight is full.
inline constexpr int64_t kProbeWindowRecheckNs = 100'000;

// Worker side, under `mu`, after a reply was given to `sender` at `now_mono_ns`: the sending
// timer to wake (PacketRelay::WakeTimer, after `mu` is released) when a probe is due now.
template <class Sender>
std::optional<PacketRelay::TimerId> ProbeTimerToWake(
    const Sender& sender, const std::optional<PacketRelay::TimerId>& send_timer,
    int64_t now_mono_ns) {
  if (!send_timer) return std::nullopt;
  const auto due = sender.NextSendAt();
  if (!due || *due > now_mono_ns) return std::nullopt;
  return send_timer;
}

// Worker side: a TX stamp report for `sender` (under `mu`); results it releases go to `pending`,
// and the calling thread is told (once `mu` is released: woken while it is held, the thread would
// only block on it, and on a CPU it shares with the worker take it from the worker twice) as
// ProbeResultQueue::ShouldTell says.
template <class Sender>
void FeedProbeTxStamp(std::mutex& mu, std::condition_variable& cv, ProbeResultQueue& pending,
                      Sender& sender, const TxStampReport& r) {
  bool tell;
  {
    std::lock_guard<std::mutex> l(mu);
    const size_t before = pending.results.size();
    sender.OnSent(static_cast<uint32_t>(r.tag), r.stamps,
                  [&pending](const ProbeResult& res) { pending.results.push_back(res); });
    tell = pending.ShouldTell(before, MonotonicNs());
  }
  if (tell) cv.notify_one();
}

// Worker side: a reply that arrived with `stamps`, given to `sender` by `feed(now_mono_ns,
// emit)` under `mu`, its RX overhead (userspace − kernel software stamp) added to `rx_overhead`.
// Results go to `pending`; the sending timer is woken when the reply made a probe due, and the
// calling thread told as ProbeResultQueue::ShouldTell says: after `mu` is released, or, when the
// timer is woken, by the timer after the next probe left, so that on a shared CPU the calling
// thread does not run between a reply and the next probe.
template <class Sender, class Feed>
void FeedProbeReply(PacketRelay& relay, std::mutex& mu, std::condition_variable& cv,
                    ProbeResultQueue& pending,
                    const std::optional<PacketRelay::TimerId>& send_timer, const Sender& sender,
                    LatencyStats& rx_overhead, const Timestamps& stamps, Feed&& feed) {
  std::optional<PacketRelay::TimerId> wake;
  bool tell;
  {
    std::lock_guard<std::mutex> l(mu);
    if (stamps.software_ns && stamps.userspace_ns) {
      rx_overhead.Add(*stamps.userspace_ns - *stamps.software_ns);
    }
    const int64_t now = MonotonicNs();
    const size_t before = pending.results.size();
    feed(now, [&pending](const ProbeResult& res) { pending.results.push_back(res); });
    wake = ProbeTimerToWake(sender, send_timer, now);
    tell = pending.ShouldTell(before, now);
    if (tell && wake) {
      pending.tell_after_send = true;
      tell = false;
    }
  }
  if (tell) cv.notify_one();
  if (wake) relay.WakeTimer(*wake);
}

template <class Sender, class Send>
absl::Status RunProbeLoop(PacketRelay& relay, std::mutex& mu, std::condition_variable& cv,
                          ProbeResultQueue& pending,
                          std::optional<PacketRelay::TimerId>& send_timer, Sender& sender,
                          std::span<std::byte> buf, Send&& send,
                          const std::function<void(const ProbeResult&)>& on_result,
                          const std::atomic<bool>* stop, int64_t deadline_mono_ns) {
  // Worker side. Under mu: whether a probe was tried, and the first one's error.
  bool tried = false;
  absl::Status first_error;
  auto send_due = [&](int64_t now) -> int64_t {
    decltype(sender.BuildProbe(buf, 0, 0)) probe{};
    std::optional<int64_t> due;
    bool tell = false;
    {
      std::lock_guard<std::mutex> l(mu);
      due = sender.NextSendAt();
      if (due && *due <= now) probe = sender.BuildProbe(buf, now, RealtimeNs());
      // Nothing to send: results a reply left for after the send are told now.
      if (probe.size == 0) tell = std::exchange(pending.tell_after_send, false);
    }
    if (probe.size == 0) {
      if (tell) cv.notify_one();
      if (!due) return now + kProbeIdleRecheckNs;
      return *due > now ? *due : now + kProbeWindowRecheckNs;
    }
    const absl::Status s = send(probe);
    std::optional<int64_t> next;
    {
      std::lock_guard<std::mutex> l(mu);
      if (!s.ok()) {
        sender.OnSendFailed(probe.seq);  // never on the wire: counted apart, never lost
        // The first probe resolves the peer: when that fails nothing will work.
        if (!tried) {
          first_error = s;
          cv.notify_all();
          return 0;  // the timer ends: the calling thread returns the error
        }
      }
      tried = true;
      tell = std::exchange(pending.tell_after_send, false);  // a reply's, left for after this send
      next = sender.NextSendAt();
    }
    if (tell) cv.notify_one();
    return next ? std::max<int64_t>(*next, 1) : now + kProbeIdleRecheckNs;
  };
  auto timer = relay.AddTimer(0, send_due);
  if (!timer.ok()) return timer.status();
  {
    std::lock_guard<std::mutex> l(mu);
    send_timer = *timer;
  }
  absl::Cleanup cancel = [&] {
    {
      std::lock_guard<std::mutex> l(mu);
      send_timer.reset();  // a reply's wake after this finds no timer (ids are not reused)
    }
    relay.CancelTimer(*timer);
  };

  auto emit = [&pending](const ProbeResult& r) { pending.results.push_back(r); };
  std::vector<ProbeResult> ready;
  ready.reserve(64);
  int64_t grace_end = 0;  // set at a stop: the last moment to wait for open probes
  // Until when to look again on our own: a worker does not wake us for results that come within
  // kProbeTellPeriodNs of its last wake (ProbeResultQueue::ShouldTell).
  int64_t look_again = 0;
  for (;;) {
    const bool stopping = (stop != nullptr && stop->load()) ||
                          (deadline_mono_ns > 0 && MonotonicNs() >= deadline_mono_ns);
    int64_t wake;
    bool done;
    absl::Status failed;
    {
      std::unique_lock<std::mutex> l(mu);
      failed = first_error;
      const int64_t now = MonotonicNs();
      if (stopping && grace_end == 0) {
        // A stop: no new probes; those still within their timeout are waited for, at most
        // one timeout (like ping at the end of -w), then reported unanswered, not lost.
        sender.StopSending();
        grace_end = now + sender.options().timeout_ns;
      }
      sender.Expire(now, emit);
      if (grace_end != 0 && now >= grace_end) sender.AbandonAtStop(emit);
      ready.swap(pending.results);
      if (!ready.empty()) look_again = now + kProbeTellPeriodNs;
      auto deadline = sender.NextDeadline();
      wake = now + 50'000'000;
      if (look_again > now) wake = std::min(wake, look_again);
      if (deadline) wake = std::min(wake, *deadline);
      if (grace_end != 0) wake = std::min(wake, grace_end);
      done = sender.Done() || (grace_end != 0 && now >= grace_end);
    }
    if (!failed.ok()) return failed;  // not under mu: the cancel waits for the worker
    for (const ProbeResult& r : ready) on_result(r);
    ready.clear();
    if (done) {
      std::lock_guard<std::mutex> l(mu);
      ready.swap(pending.results);
      if (ready.empty()) break;
      continue;
    }
    std::unique_lock<std::mutex> l(mu);
    const int64_t now = MonotonicNs();
    if (wake > now && pending.results.empty() && first_error.ok()) {
      cv.wait_for(l, std::chrono::nanoseconds(wake - now));
    }
  }
  return absl::OkStatus();
}

}  // namespace ringstamp
