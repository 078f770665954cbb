// probe_metrics.h — ProbeMetrics: what `probe client` and `probe server` serve on /metrics
// (docs/metrics.md lists every family). The client's sessions feed each target's results and
// counters in; the reflector's loop feeds its summary in; the HTTP thread renders a copy.
//
// Threads: every method may be called from any thread; one mutex guards the state, held only
// to update a few numbers or to copy the state out (Render formats the copy without it). The
// relay's workers never call in: results reach it on the session threads, counters and the
// reflector's summary from the command's main thread. Cost: Observe is a hash lookup and a
// few bucket searches per result; memory ~2 KiB per target.
//
// Sketch:
//   ProbeMetrics metrics({{"interface", "eth1"}}, "0.9.0");
//   metrics.AddTarget("10.0.0.2:862", {{"target", "10.0.0.2:862"}, {"rack", "r12"}});
//   metrics.Observe("10.0.0.2:862", result);              // a session thread, per result
//   metrics.SetCounters("10.0.0.2:862", client->Counters());  // the main thread, now and then
//   std::string body = metrics.Render(MetricsFormat::kOpenMetrics);  // the HTTP thread
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "apps/metrics_text.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/probe/probe_reflector.h"
#include "ringstamp/engine/probe/probe_summary.h"
#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp::app {

// The PHC mapping's state, when stamps go through one (hardware stamps on a NIC clock).
struct PhcMetrics {
  double uncertainty_seconds = 0;
  uint64_t updates = 0;
  uint64_t failures = 0;
};

class ProbeMetrics {
 public:
  // `base`: labels on every series (interface, --label pairs); `version`: ringstamp's.
  ProbeMetrics(MetricLabels base, std::string version);

  // Client. A target's series carry `base`, then `labels` (its target and the labels of its
  // line in the targets file; a name in both takes the target's value).
  void AddTarget(const std::string& key, const MetricLabels& labels);
  void RemoveTarget(const std::string& key);  // its series go from the next scrape on
  void Observe(const std::string& key, const ProbeResult& result);
  void SetCounters(const std::string& key, const ProbeCounters& counters);

  // Server.
  void SetReflector(const ReflectorSummary& summary, const EtherConnStats& conn,
                    uint64_t send_failures);

  void SetPhc(std::optional<PhcMetrics> phc);

  std::string Render(MetricsFormat format) const;

 private:
  struct Target {
    MetricLabels labels;
    ProbeCounters counters;
    // Indexed by ProbeFigure (offset unused: it is no latency, see offset_seconds).
    std::array<LatencyHistogram, kProbeFigureCount> figures;
    std::array<std::array<uint64_t, kStampSourceCount>, kProbeFigureCount> basis{};
    std::optional<double> offset_seconds;  // the last offset estimate (clocks not synchronised)
    ProbeMode mode = ProbeMode::kStamp;
    bool seen_result = false;
  };
  struct Reflector {
    ReflectorSummary summary;
    EtherConnStats conn;
    uint64_t send_failures = 0;
  };

  static void RenderTargets(MetricsText& t, const std::vector<Target>& targets);
  static void RenderReflector(MetricsText& t, const MetricLabels& base, const Reflector& r);

  MetricLabels base_;
  std::string version_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, Target> targets_;  // under mu_
  std::vector<std::string> order_;                    // keys in the order added, under mu_
  std::optional<Reflector> reflector_;                // under mu_
  std::optional<PhcMetrics> phc_;                     // under mu_
};

}  // namespace ringstamp::app
