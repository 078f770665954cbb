// probe_run_loop.h — the calling thread's side of a probe client, shared by ProbeClient (STAMP)
// and IcmpProbeClient (ICMP echo): send each probe when it is due, expire the ones past their
// timeout, hand finished results to the caller, sleep until the next of those events.
//
// Sketch:
//   return RunProbeLoop(mu_, cv_, pending_, sender_, buf,
//                       [&](const BuiltProbe& p) { return udp_->Write(...); },
//                       on_result, stop, deadline_mono_ns, &send_failures_);
//
// `sender` is a ProbeSender or IcmpEchoSender (NextSendAt, BuildProbe, Expire,
// NextDeadline, Done, StopSending, AbandonAtStop, options().timeout_ns), guarded by `mu`; worker
// threads add results to `pending` under `mu` and notify `cv`. `send` runs without the lock.
// Returns the first probe's send error (nothing would work after it), else OK when the sender is
// done. When `stop` is set or the deadline passes, sending stops and the probes
// still in flight are waited for, at most one timeout, then reported unanswered. Calling thread
// only; wakes at least every 50 ms.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/probe/probe_summary.h"

namespace ringstamp {

template <class Sender, class Send>
absl::Status RunProbeLoop(std::mutex& mu, std::condition_variable& cv,
                          std::vector<ProbeResult>& pending, Sender& sender,
                          std::span<std::byte> buf, Send&& send,
                          const std::function<void(const ProbeResult&)>& on_result,
                          const std::atomic<bool>* stop, int64_t deadline_mono_ns,
                          uint64_t* send_failures) {
  auto emit = [&pending](const ProbeResult& r) { pending.push_back(r); };
  std::vector<ProbeResult> ready;
  ready.reserve(64);
  bool first = true;
  int64_t grace_end = 0;  // set at a stop: the last moment to wait for open probes
  for (;;) {
    const bool stopping = (stop != nullptr && stop->load()) ||
                          (deadline_mono_ns > 0 && MonotonicNs() >= deadline_mono_ns);
    decltype(sender.BuildProbe(buf, 0, 0)) probe{};
    int64_t wake;
    bool done;
    {
      std::unique_lock<std::mutex> l(mu);
      const int64_t now = MonotonicNs();
      if (stopping && grace_end == 0) {
        // A stop: no new probes; those still within their timeout are waited for, at most
        // one timeout (like ping at the end of -w), then reported unanswered, not lost.
        sender.StopSending();
        grace_end = now + sender.options().timeout_ns;
      }
      auto due = sender.NextSendAt();
      if (due && *due <= now) probe = sender.BuildProbe(buf, now, RealtimeNs());
      sender.Expire(now, emit);
      if (grace_end != 0 && now >= grace_end) sender.AbandonAtStop(emit);
      ready.swap(pending);
      due = sender.NextSendAt();
      auto deadline = sender.NextDeadline();
      wake = now + 50'000'000;
      if (due) wake = std::min(wake, *due);
      if (deadline) wake = std::min(wake, *deadline);
      if (grace_end != 0) wake = std::min(wake, grace_end);
      done = sender.Done() || (grace_end != 0 && now >= grace_end);
    }
    if (probe.size > 0) {
      absl::Status s = send(probe);
      if (!s.ok()) {
        ++*send_failures;
        // The first probe resolves the peer: when that fails nothing will work.
        if (first) return s;
      }
      first = false;
    }
    for (const ProbeResult& r : ready) on_result(r);
    ready.clear();
    if (done) {
      std::lock_guard<std::mutex> l(mu);
      ready.swap(pending);
      if (ready.empty()) break;
      continue;
    }
    if (probe.size > 0) continue;  // maybe the next one is due already
    std::unique_lock<std::mutex> l(mu);
    const int64_t now = MonotonicNs();
    if (wake > now && pending.empty()) cv.wait_for(l, std::chrono::nanoseconds(wake - now));
  }
  return absl::OkStatus();
}

}  // namespace ringstamp
