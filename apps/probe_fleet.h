// probe_fleet.h — ProbeFleet: the probe client's sessions, one per target, on one EtherConn
// (one relay). Each session is a ProbeClient (STAMP) or IcmpProbeClient (ICMP echo) with its
// own sequence space, loss accounting, --report-every window and plot series, run on a thread
// of its own; a SIGHUP's new target list is applied with Reconcile, which starts the new
// targets' sessions and stops the removed ones without touching the others.
//
// Threads: Add/Reconcile/StopAll/Reap from the command's main thread only. The result
// callback runs on the session's thread with the fleet's output lock held (so lines of
// different targets never interleave, and the callback may print). A session's fields other
// than `stop` belong to its thread until Reap hands the finished session to the main thread.
// Cost: one thread and one RUDPConn (STAMP: a local port 40862 + slot) or echo identifier
// (ICMP) per target; at most kMaxProbeTargets sessions.
//
// Sketch:
//   ProbeFleet fleet(conn, options, [](FleetSession& s, const ProbeResult& r) { Print(s, r); });
//   for (const ProbeTarget& t : targets) RS_RETURN_IF_ERROR(fleet.Add(t));
//   while (fleet.Reap([](FleetSession& s) { PrintSummary(s); })) {
//     if (stop) fleet.StopAll();
//     std::this_thread::sleep_for(50ms);
//   }
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "apps/json_line.h"
#include "apps/probe_series.h"
#include "apps/probe_targets.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/probe/probe_endpoints.h"
#include "ringstamp/engine/probe/probe_icmp.h"
#include "ringstamp/engine/probe/probe_window.h"

namespace ringstamp::app {

// One target's session. `target`, `keys`, `slot` are fixed at Add; the rest is written by
// the session's thread until it finishes (see the top of this file).
struct FleetSession {
  ProbeTarget target;
  JsonTargetKeys keys;  // "target" and the target's own labels, for its JSON lines
  size_t slot = 0;
  std::unique_ptr<ProbeClient> stamp;
  std::unique_ptr<IcmpProbeClient> icmp;
  std::atomic<bool> stop{false};
  std::atomic<bool> finished{false};
  bool removed = false;  // stopped because a re-read targets file no longer has it
  std::thread thread;
  // --report-every: this session's current window and the end of it (0: no windows).
  ProbeWindow window{0};
  int64_t next_report_ns = 0;
  PlotSeries plot;
  // Set when the session's Run returns.
  absl::Status status;
  ProbeSummary summary;
  LatencySummary rx_overhead;

  // The client's counters now (any thread; cheap).
  ProbeCounters Counters() const { return stamp ? stamp->Counters() : icmp->Counters(); }
};

class ProbeFleet {
 public:
  struct Options {
    bool icmp = false;
    uint8_t tos = 0;
    ProbeSenderOptions stamp;      // count, interval, timeout, ... (STAMP)
    IcmpEchoSenderOptions echo;    // the same for ICMP (identifier chosen per session)
    int64_t deadline_mono_ns = 0;  // 0: none
    int64_t report_every_ns = 0;   // 0: no --report-every windows
    // Called on the main thread when a session starts (before its first result).
    std::function<void(FleetSession&)> on_start;
  };
  using ResultFn = std::function<void(FleetSession&, const ProbeResult&)>;
  using EndFn = std::function<void(FleetSession&)>;

  ProbeFleet(std::shared_ptr<EtherConn> conn, Options options, ResultFn on_result);
  ~ProbeFleet();  // stops and joins every session still running
  ProbeFleet(const ProbeFleet&) = delete;
  ProbeFleet& operator=(const ProbeFleet&) = delete;

  // Creates the target's client and starts its session (the relay must be started). An
  // error when the client cannot be made (no address of the target's family, no free
  // identifier, too many targets); nothing is left behind then.
  absl::Status Add(const ProbeTarget& target);
  // A re-read target list: targets no longer in it are stopped (their sessions end within
  // one timeout, then Reap hands them over with `removed` set), new ones added. Returns how
  // many were added and removed; the first Add error stops the reconcile (the targets
  // already handled stay so) and is returned.
  struct Change {
    size_t added = 0, removed = 0, kept = 0;
  };
  absl::StatusOr<Change> Reconcile(const std::vector<ProbeTarget>& targets);
  void StopAll();
  // Joins the sessions that finished, hands each to `ended` (main thread, output lock
  // held) and forgets it. True while any session runs.
  bool Reap(const EndFn& ended);
  size_t running() const { return sessions_.size(); }
  // Every session not yet reaped, on the main thread (e.g. to poll its client's counters).
  void ForEach(const std::function<void(FleetSession&)>& fn);
  // For a caller that prints from the main thread between sessions' lines.
  std::mutex& output_mutex() { return out_mu_; }

 private:
  void RunSession(FleetSession* s);

  std::shared_ptr<EtherConn> conn_;
  Options options_;
  ResultFn on_result_;
  std::mutex out_mu_;
  std::list<std::unique_ptr<FleetSession>> sessions_;  // main thread only
  std::vector<bool> slot_used_;
};

}  // namespace ringstamp::app
