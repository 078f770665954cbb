#include "apps/probe_metrics.h"

#include <algorithm>

namespace ringstamp::app {

namespace {

// base, then extra; a name in both takes extra's value (where base had it).
MetricLabels Merge(const MetricLabels& base, const MetricLabels& extra) {
  MetricLabels out = base;
  for (const auto& [k, v] : extra) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == k; });
    if (it != out.end()) {
      it->second = v;
    } else {
      out.emplace_back(k, v);
    }
  }
  return out;
}

MetricLabels With(MetricLabels labels, std::string name, std::string value) {
  labels.emplace_back(std::move(name), std::move(value));
  return labels;
}

struct FigureFamily {
  ProbeFigure figure;
  const char* name;
  const char* label;  // the figure label of the basis family
  const char* help;
  bool always;  // written from the start, before any result
};

constexpr FigureFamily kFigureFamilies[] = {
    {ProbeFigure::kRtt, "ringstamp_probe_rtt_seconds", "rtt",
     "Round trip t4 - t1 of answered probes: our RX stamp of the reply minus our TX stamp of "
     "the probe (ringstamp_probe_figure_basis_total says what stamps it rests on).",
     true},
    {ProbeFigure::kNetworkRtt, "ringstamp_probe_network_rtt_seconds", "network_rtt",
     "Network round trip: RTT minus the reflector's dwell t3 - t2 (ICMP echo: the RTT, the "
     "peer's stack time included).",
     true},
    {ProbeFigure::kDwell, "ringstamp_probe_dwell_seconds", "dwell",
     "The reflector's dwell t3 - t2, on the reflector's clock alone.", false},
    {ProbeFigure::kForward, "ringstamp_probe_forward_delay_seconds", "forward",
     "One-way delay t2 - t1 (only with --clocks-synchronised: both hosts share one clock).", false},
    {ProbeFigure::kReverse, "ringstamp_probe_reverse_delay_seconds", "reverse",
     "One-way delay t4 - t3 (only with --clocks-synchronised: both hosts share one clock).", false},
};

struct CounterField {
  const char* name;
  const char* help;
  uint64_t ProbeCounters::*field;
  MetricType type;
};

constexpr CounterField kCounterFields[] = {
    {"ringstamp_probe_sent", "Probes sent.", &ProbeCounters::sent, MetricType::kCounter},
    {"ringstamp_probe_received", "First replies within the timeout.", &ProbeCounters::received,
     MetricType::kCounter},
    {"ringstamp_probe_late", "First replies after the timeout (never counted lost).",
     &ProbeCounters::late, MetricType::kCounter},
    {"ringstamp_probe_duplicated", "Further replies to an answered probe.",
     &ProbeCounters::duplicated, MetricType::kCounter},
    {"ringstamp_probe_reordered", "First replies that came after a reply to a later probe.",
     &ProbeCounters::reordered, MetricType::kCounter},
    {"ringstamp_probe_unanswered", "Probes still within their timeout when a run stopped.",
     &ProbeCounters::unanswered_at_stop, MetricType::kCounter},
    {"ringstamp_probe_unmatched", "Replies to no probe of this session.", &ProbeCounters::unmatched,
     MetricType::kCounter},
    {"ringstamp_probe_malformed", "Replies that are no probe reply (too short, bad contents).",
     &ProbeCounters::malformed, MetricType::kCounter},
    {"ringstamp_probe_lost",
     "Probes timed out and not answered (yet): a gauge, as a late reply takes a probe out "
     "again. Loss ratio: lost / (sent - send_failures - in_flight).",
     &ProbeCounters::lost, MetricType::kGauge},
    {"ringstamp_probe_in_flight", "Probes sent, neither answered nor timed out.",
     &ProbeCounters::in_flight, MetricType::kGauge},
    {"ringstamp_probe_send_failures",
     "Probes counted in sent that the relay refused (never on the wire; never lost).",
     &ProbeCounters::send_failures, MetricType::kCounter},
};

// The quantiles a count of samples holds (nearest rank: at least 1 / (1 - q) samples).
std::vector<std::pair<double, double>> Quantiles(const LatencySummary& s) {
  std::vector<std::pair<double, double>> out;
  const std::pair<double, int64_t> qs[] = {
      {0.5, s.p50}, {0.9, s.p90}, {0.99, s.p99}, {0.999, s.p999}};
  for (const auto& [q, v] : qs) {
    if (static_cast<double>(s.count) * (1 - q) >= 1 - 1e-9) {
      out.emplace_back(q, static_cast<double>(v) / 1e9);
    }
  }
  return out;
}

}  // namespace

ProbeMetrics::ProbeMetrics(MetricLabels base, std::string version)
    : base_(std::move(base)), version_(std::move(version)) {}

void ProbeMetrics::AddTarget(const std::string& key, const MetricLabels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  auto [it, inserted] = targets_.try_emplace(key);
  it->second = Target{};
  it->second.labels = Merge(base_, labels);
  if (inserted) order_.push_back(key);
}

void ProbeMetrics::RemoveTarget(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  targets_.erase(key);
  order_.erase(std::remove(order_.begin(), order_.end(), key), order_.end());
}

void ProbeMetrics::Observe(const std::string& key, const ProbeResult& r) {
  if (r.status != ProbeStatus::kOk && r.status != ProbeStatus::kLate) return;
  std::lock_guard<std::mutex> l(mu_);
  auto it = targets_.find(key);
  if (it == targets_.end()) return;
  Target& t = it->second;
  t.mode = r.mode;
  t.seen_result = true;
  const std::optional<int64_t>* values[kProbeFigureCount] = {
      &r.rtt_ns, &r.network_rtt_ns, &r.dwell_ns, &r.forward_ns, &r.reverse_ns, &r.offset_ns};
  for (size_t f = 0; f < kProbeFigureCount; ++f) {
    if (!*values[f]) continue;
    if (static_cast<ProbeFigure>(f) == ProbeFigure::kOffset) {
      t.offset_seconds = static_cast<double>(**values[f]) / 1e9;
    } else {
      t.figures[f].Add(**values[f]);
    }
    if (r.basis[f]) {
      const size_t s = static_cast<size_t>(*r.basis[f]);
      if (s < kStampSourceCount) ++t.basis[f][s];
    }
  }
}

void ProbeMetrics::SetCounters(const std::string& key, const ProbeCounters& counters) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = targets_.find(key);
  if (it != targets_.end()) it->second.counters = counters;
}

void ProbeMetrics::SetReflector(const ReflectorSummary& summary, const EtherConnStats& conn,
                                uint64_t send_failures) {
  std::lock_guard<std::mutex> l(mu_);
  reflector_ = Reflector{summary, conn, send_failures};
}

void ProbeMetrics::SetPhc(std::optional<PhcMetrics> phc) {
  std::lock_guard<std::mutex> l(mu_);
  phc_ = phc;
}

void ProbeMetrics::RenderTargets(MetricsText& t, const std::vector<Target>& targets) {
  if (targets.empty()) return;
  for (const FigureFamily& ff : kFigureFamilies) {
    const size_t f = static_cast<size_t>(ff.figure);
    const bool any = std::any_of(targets.begin(), targets.end(),
                                 [&](const Target& x) { return x.figures[f].count() > 0; });
    if (!ff.always && !any) continue;
    t.Family(ff.name, MetricType::kHistogram, ff.help, "seconds");
    for (const Target& x : targets) t.Histogram(x.labels, x.figures[f]);
  }
  t.Family("ringstamp_probe_figure_basis", MetricType::kCounter,
           "Answered probes by figure and the weakest stamp source it was computed from "
           "(hardware, software, userspace, estimate).");
  for (const Target& x : targets) {
    for (const FigureFamily& ff : kFigureFamilies) {
      const size_t f = static_cast<size_t>(ff.figure);
      for (size_t s = 0; s < kStampSourceCount; ++s) {
        if (x.basis[f][s] == 0) continue;
        t.Value(With(With(x.labels, "figure", ff.label), "source",
                     std::string(StampSourceName(static_cast<StampSource>(s)))),
                static_cast<double>(x.basis[f][s]));
      }
    }
  }
  for (const CounterField& c : kCounterFields) {
    t.Family(c.name, c.type, c.help);
    for (const Target& x : targets) t.Value(x.labels, static_cast<double>(x.counters.*c.field));
  }
  const bool any_offset = std::any_of(targets.begin(), targets.end(),
                                      [](const Target& x) { return x.offset_seconds.has_value(); });
  if (any_offset) {
    t.Family("ringstamp_probe_clock_offset_seconds", MetricType::kGauge,
             "The last clock offset estimate ((t2 - t1) + (t3 - t4)) / 2: the reflector's clock "
             "minus ours (clocks not synchronised).",
             "seconds");
    for (const Target& x : targets) {
      if (x.offset_seconds) t.Value(x.labels, *x.offset_seconds);
    }
  }
}

void ProbeMetrics::RenderReflector(MetricsText& t, const MetricLabels& base, const Reflector& r) {
  const ReflectorSummary& s = r.summary;
  const struct {
    const char* name;
    const char* help;
    uint64_t value;
    MetricType type;
  } simple[] = {
      {"ringstamp_reflector_reflected", "STAMP requests answered.", s.reflected,
       MetricType::kCounter},
      {"ringstamp_reflector_sessions", "STAMP sessions the reflector knows now.", s.sessions,
       MetricType::kGauge},
      {"ringstamp_reflector_sessions_evicted", "Sessions dropped to make room for new ones.",
       s.sessions_evicted, MetricType::kCounter},
      {"ringstamp_reflector_rx_stamp_missing",
       "Requests without any RX stamp (their t2 is the t3 estimate).", s.rx_stamp_missing,
       MetricType::kCounter},
      {"ringstamp_reflector_tx_stamps_missing", "Replies the kernel never stamped.",
       s.tx_stamps_missing, MetricType::kCounter},
      {"ringstamp_reflector_follow_ups_dropped",
       "Real TX stamps never sent back: a session's Follow-Up queue was full.",
       s.follow_ups_dropped, MetricType::kCounter},
      {"ringstamp_reflector_tlv_malformed", "Requests with a malformed TLV.", s.tlv_malformed,
       MetricType::kCounter},
      {"ringstamp_reflector_malformed",
       "Frames to the reflector's endpoint whose IP/ARP/ICMP/UDP headers did not parse.",
       r.conn.malformed, MetricType::kCounter},
      {"ringstamp_reflector_send_failures", "Replies that could not be sent.", r.send_failures,
       MetricType::kCounter},
  };
  for (const auto& c : simple) {
    t.Family(c.name, c.type, c.help);
    t.Value(base, static_cast<double>(c.value));
  }
  t.Family("ringstamp_reflector_dropped", MetricType::kCounter,
           "Requests not answered, by reason.");
  for (size_t i = 1; i < s.dropped.size(); ++i) {
    t.Value(With(base, "reason", std::string(ReflectorDropName(static_cast<ReflectorDrop>(i)))),
            static_cast<double>(s.dropped[i]));
  }
  const struct {
    const char* name;
    const char* help;
    const std::array<uint64_t, kStampSourceCount>* counts;
  } sources[] = {
      {"ringstamp_reflector_t2_source", "Requests by the source of their RX stamp t2.",
       &s.t2_sources},
      {"ringstamp_reflector_tx_source", "Real TX stamps of replies by source.", &s.tx_sources},
  };
  for (const auto& src : sources) {
    t.Family(src.name, MetricType::kCounter, src.help);
    for (size_t i = 0; i < kStampSourceCount; ++i) {
      if ((*src.counts)[i] == 0) continue;
      t.Value(With(base, "source", std::string(StampSourceName(static_cast<StampSource>(i)))),
              static_cast<double>((*src.counts)[i]));
    }
  }
  // The error is signed (the estimate adds the learned latency, so it falls on both sides of
  // the real t3), and an OpenMetrics summary may not carry a negative quantile: one gauge per
  // percentile instead ("quantile" is a summary's label alone, promtool says).
  t.Family("ringstamp_reflector_t3_error_seconds", MetricType::kGauge,
           "Real TX stamp minus the t3 estimate written into the reply (the error a sender "
           "relying on the estimate would see), signed: one series per percentile the count holds.",
           "seconds");
  for (const auto& [q, v] : Quantiles(s.t3_error)) {
    t.Value(With(base, "percentile", MetricNumber(q * 100)), v);
  }
  t.Family("ringstamp_reflector_t3_error_samples", MetricType::kCounter,
           "TX stamps the t3 error quantiles are taken from.");
  t.Value(base, static_cast<double>(s.t3_error.count));
  t.Family("ringstamp_reflector_t3_offset_seconds", MetricType::kGauge,
           "What the t3 estimate adds to the clock read before the send: the median latency "
           "from that read to the kernel's TX stamp over the last 64 replies (0 with "
           "--t3-estimate clock).",
           "seconds");
  t.Value(base, static_cast<double>(s.t3_offset_ns) / 1e9);
}

std::string ProbeMetrics::Render(MetricsFormat format) const {
  std::vector<Target> targets;
  std::optional<Reflector> reflector;
  std::optional<PhcMetrics> phc;
  {
    std::lock_guard<std::mutex> l(mu_);
    targets.reserve(order_.size());
    for (const std::string& k : order_) targets.push_back(targets_.at(k));
    reflector = reflector_;
    phc = phc_;
  }
  MetricsText t(format);
  t.Family("ringstamp_build_info", MetricType::kGauge, "ringstamp's version (always 1).");
  t.Value(With(base_, "version", version_), 1);
  RenderTargets(t, targets);
  if (reflector) RenderReflector(t, base_, *reflector);
  if (phc) {
    t.Family("ringstamp_phc_mapping_uncertainty_seconds", MetricType::kGauge,
             "How far a hardware stamp mapped from the NIC clock to the system clock may be off.",
             "seconds");
    t.Value(base_, phc->uncertainty_seconds);
    t.Family("ringstamp_phc_mapping_updates", MetricType::kCounter,
             "PHC-to-system clock mapping updates.");
    t.Value(base_, static_cast<double>(phc->updates));
    t.Family("ringstamp_phc_mapping_failures", MetricType::kCounter, "PHC readings that failed.");
    t.Value(base_, static_cast<double>(phc->failures));
  }
  return t.Finish();
}

}  // namespace ringstamp::app
