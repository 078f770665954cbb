#include "apps/probe_output.h"

#include <optional>
#include <set>
#include <span>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/absl_compat.h"

namespace ringstamp::app {
namespace {

constexpr const char* kStampNames[4] = {"t1", "t2", "t3", "t4"};
// The JSON source names, in output order; hardware counts both hardware kinds.
constexpr StampSource kJsonSources[] = {StampSource::kHardwareRaw, StampSource::kSoftware,
                                        StampSource::kUserspace, StampSource::kEstimate};

std::string StampText(const std::optional<Stamp>& s) {
  if (!s) return "-";
  return absl::StrCat(FormatStampNs(s->ns), "(", ToAbsl(ProbeSourceAbbrev(s->source)), ")");
}

std::string FigureText(const std::optional<int64_t>& ns) {
  return ns ? FormatDurationUs(*ns) : "-";
}

nlohmann::json StampJson(const std::optional<Stamp>& s) {
  if (!s) return nullptr;
  return {{"ns", s->ns}, {"source", std::string(ProbeSourceName(s->source))}};
}

nlohmann::json OptJson(const std::optional<int64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// Counts per source with both hardware kinds merged.
uint64_t SourceCount(const std::array<uint64_t, kStampSourceCount>& counts, StampSource s) {
  if (IsHardware(s)) {
    return counts[static_cast<size_t>(StampSource::kHardwareRaw)] +
           counts[static_cast<size_t>(StampSource::kHardwareSys)];
  }
  return counts[static_cast<size_t>(s)];
}

nlohmann::json SourcesJson(const std::array<uint64_t, kStampSourceCount>& counts) {
  nlohmann::json j = nlohmann::json::object();
  for (StampSource s : kJsonSources) j[std::string(ProbeSourceName(s))] = SourceCount(counts, s);
  return j;
}

// "software 998, userspace 2" (sources with a zero count left out; "none" when all are).
std::string SourcesText(const std::array<uint64_t, kStampSourceCount>& counts) {
  std::string out;
  for (StampSource s : kJsonSources) {
    const uint64_t n = SourceCount(counts, s);
    if (n == 0) continue;
    absl::StrAppend(&out, out.empty() ? "" : ", ", ToAbsl(ProbeSourceName(s)), " ", n);
  }
  return out.empty() ? "none" : out;
}

// "software+userspace" (the sources seen, in output order; "none" when there were none).
std::string SourceNamesText(const std::array<uint64_t, kStampSourceCount>& counts) {
  std::string names;
  for (StampSource s : kJsonSources) {
    if (SourceCount(counts, s) == 0) continue;
    absl::StrAppend(&names, names.empty() ? "" : "+", ToAbsl(ProbeSourceName(s)));
  }
  return names.empty() ? "none" : names;
}

std::string MeanText(double ns) { return absl::StrFormat("%.3fµs", ns / 1000.0); }

constexpr int kLabelWidth = 28;
constexpr int kColumnWidth = 13;

std::string TableHeader() {
  std::string line = absl::StrFormat("%-*s%8s", kLabelWidth, "", "count");
  for (const char* c : {"min", "p50", "p90", "p99", "p99.9", "max", "mean", "stddev"}) {
    absl::StrAppend(&line, absl::StrFormat("%*s", kColumnWidth, c));
  }
  return line;
}

std::string TableRow(std::string_view label, const LatencySummary& s) {
  std::string line = absl::StrFormat("%-*s%8d", kLabelWidth, ToAbsl(label), s.count);
  auto cell = [&](const std::string& v) {
    absl::StrAppend(&line, absl::StrFormat("%*s", kColumnWidth, v));
  };
  if (s.count == 0) {
    for (int i = 0; i < 8; ++i) cell("-");
    return line;
  }
  for (int64_t v : {s.min, s.p50, s.p90, s.p99, s.p999, s.max}) cell(FormatDurationUs(v));
  cell(MeanText(s.mean));
  cell(MeanText(s.stddev));
  if (!s.exact) absl::StrAppend(&line, "  (percentiles ±0.2%)");
  return line;
}

}  // namespace

std::string_view ProbeSourceAbbrev(StampSource source) { return StampSourceAbbrev(source); }

std::string FormatDurationUs(int64_t ns) {
  const bool neg = ns < 0;
  const uint64_t mag = neg ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  return absl::StrFormat("%s%d.%03dµs", neg ? "-" : "", mag / 1000, mag % 1000);
}

std::string FormatProbeLegend(bool clocks_synchronised, ProbeMode mode) {
  if (mode == ProbeMode::kIcmpEcho) {
    return "# ICMP echo: the target's own stack answers. t1 our TX of the request, t4 our RX of "
           "the reply: Unix seconds, source in parentheses (hw hardware, sw kernel software, user "
           "userspace); \"-\" = absent\n"
           "# rtt = t4 - t1 = network RTT, the peer's stack time included: no reflector stamps "
           "(t2, t3), so no dwell, no one-way delays, no clock offset; ttl = TTL / hop limit of "
           "the reply here";
  }
  std::string out =
      "# t1 our TX, t2 reflector RX, t3 reflector TX, t4 our RX: Unix seconds, source in "
      "parentheses (hw hardware, sw kernel software, user userspace, est written by the "
      "reflector before sending); \"-\" = absent\n"
      "# rtt = t4 - t1; dwell = t3 - t2 (time inside the reflector); net = rtt - dwell; "
      "ttl = TTL at the reflector / TTL of the reply here\n";
  if (clocks_synchronised) {
    absl::StrAppend(&out,
                    "# clocks synchronised: fwd = t2 - t1 (one-way delay to the reflector), "
                    "rev = t4 - t3 (one-way delay back); negative means a clock error");
  } else {
    absl::StrAppend(
        &out,
        "# clocks not synchronised: no one-way delays; offset = ((t2 - t1) + (t3 - t4)) "
        "/ 2 = reflector clock minus ours (positive: the reflector's clock is ahead)");
  }
  return out;
}

namespace {

// " late", " duplicate", " reordered": the flags that end a probe line.
void AppendStatusFlags(std::string* line, const ProbeResult& r) {
  if (r.status == ProbeStatus::kLate) absl::StrAppend(line, " late");
  if (r.status == ProbeStatus::kDuplicate) absl::StrAppend(line, " duplicate");
  if (r.reordered) absl::StrAppend(line, " reordered");
}

// The summary's title, counter lines and latency table header, both modes alike.
std::string SummaryHead(const ProbeCounters& c, std::string_view title) {
  std::string out = absl::StrCat("--- ", ToAbsl(title), " summary ---\n");
  absl::StrAppend(&out, "sent ", c.sent, ", received ", c.received, ", lost ", c.lost, ", late ",
                  c.late, ", duplicated ", c.duplicated, ", reordered ", c.reordered, "\n");
  if (c.in_flight || c.unmatched || c.malformed) {
    absl::StrAppend(&out, "in flight ", c.in_flight, ", unmatched replies ", c.unmatched,
                    ", malformed replies ", c.malformed, "\n");
  }
  absl::StrAppend(&out, TableHeader(), "\n");
  return out;
}

// The summary's last line, present only when the sender had to cut a corner.
void AppendSenderNotes(std::string* out, const ProbeCounters& c) {
  if (c.tx_stamp_wait_expired || c.schedule_slips || c.window_full) {
    absl::StrAppend(out, "\nresults without waiting longer for a TX stamp ",
                    c.tx_stamp_wait_expired, ", schedule slips ", c.schedule_slips,
                    ", window full ", c.window_full);
  }
}

// seq=12 icmp_seq=12 t1=...(sw) t4=...(sw) rtt=41.234µs ttl=64 [late] [duplicate] [reordered]
std::string FormatIcmpProbeLine(const ProbeResult& r) {
  std::string line = absl::StrCat("seq=", r.seq, " icmp_seq=", static_cast<uint16_t>(r.seq),
                                  " t1=", StampText(r.t1));
  if (r.status == ProbeStatus::kLost) {
    absl::StrAppend(&line, " lost (no reply within the timeout)");
    return line;
  }
  absl::StrAppend(&line, " t4=", StampText(r.t4), " rtt=", FigureText(r.rtt_ns),
                  " ttl=", r.reply_ttl ? absl::StrCat(*r.reply_ttl) : "-");
  AppendStatusFlags(&line, r);
  return line;
}

std::string FormatIcmpProbeSummary(const ProbeSummary& s, std::string_view title) {
  const ProbeCounters& c = s.counters;
  std::string out = SummaryHead(c, title);
  absl::StrAppend(&out, TableRow("RTT = network RTT (t4 - t1)", s.rtt), "\n");
  absl::StrAppend(
      &out,
      "ICMP echo: no reflector stamps, so no dwell (the peer's stack time is inside the "
      "RTT), no one-way delays, no clock offset\n");
  absl::StrAppend(&out, "sources: t1 ", SourcesText(s.sources[0]), "; t4 ",
                  SourcesText(s.sources[3]));
  AppendSenderNotes(&out, c);
  return out;
}

nlohmann::json CountersJson(const ProbeCounters& c) {
  return {{"sent", c.sent},           {"received", c.received},     {"lost", c.lost},
          {"late", c.late},           {"duplicated", c.duplicated}, {"reordered", c.reordered},
          {"in_flight", c.in_flight}, {"unmatched", c.unmatched},   {"malformed", c.malformed}};
}

}  // namespace

std::string FormatProbeLine(const ProbeResult& r) {
  if (r.mode == ProbeMode::kIcmpEcho) return FormatIcmpProbeLine(r);
  std::string line = absl::StrCat("seq=", r.seq);
  const std::optional<Stamp>* stamps[4] = {&r.t1, &r.t2, &r.t3, &r.t4};
  for (size_t i = 0; i < 4; ++i) {
    absl::StrAppend(&line, " ", kStampNames[i], "=", StampText(*stamps[i]));
  }
  if (r.status == ProbeStatus::kLost) {
    absl::StrAppend(&line, " lost (no reply within the timeout)");
    return line;
  }
  absl::StrAppend(&line, " rtt=", FigureText(r.rtt_ns), " dwell=", FigureText(r.dwell_ns),
                  " net=", FigureText(r.network_rtt_ns));
  if (r.forward_ns || r.reverse_ns) {
    absl::StrAppend(&line, " fwd=", FigureText(r.forward_ns), " rev=", FigureText(r.reverse_ns));
  } else {
    absl::StrAppend(&line, " offset=", FigureText(r.offset_ns));
  }
  absl::StrAppend(&line, " ttl=", r.forward_ttl ? absl::StrCat(*r.forward_ttl) : "-", "/",
                  r.reply_ttl ? absl::StrCat(*r.reply_ttl) : "-");
  if (r.follow_up && r.follow_up->t3_error_ns) {
    absl::StrAppend(&line, " prev_t3_error=", FormatDurationUs(*r.follow_up->t3_error_ns));
    if (r.follow_up->seq) absl::StrAppend(&line, "(seq=", *r.follow_up->seq, ")");
  }
  AppendStatusFlags(&line, r);
  return line;
}

std::string FormatProbeSummary(const ProbeSummary& s, std::string_view title) {
  if (s.mode == ProbeMode::kIcmpEcho) return FormatIcmpProbeSummary(s, title);
  const ProbeCounters& c = s.counters;
  std::string out = SummaryHead(c, title);
  absl::StrAppend(&out, TableRow("network RTT (rtt - dwell)", s.network_rtt), "\n");
  absl::StrAppend(&out, TableRow("RTT (t4 - t1)", s.rtt), "\n");
  absl::StrAppend(&out, TableRow("dwell (t3 - t2)", s.dwell), "\n");
  if (s.clocks_synchronised) {
    absl::StrAppend(&out, TableRow("forward (t2 - t1)", s.forward), "\n");
    absl::StrAppend(&out, TableRow("reverse (t4 - t3)", s.reverse), "\n");
  } else {
    absl::StrAppend(&out, TableRow("offset (reflector - ours)", s.offset), "\n");
  }
  if (s.t3_error.count > 0) {
    absl::StrAppend(&out, TableRow("t3 error (real TX - t3)", s.t3_error), "\n");
  }
  absl::StrAppend(&out, "sources:");
  for (size_t i = 0; i < 4; ++i) {
    absl::StrAppend(&out, i ? ";" : "", " ", kStampNames[i], " ", SourcesText(s.sources[i]));
  }
  const uint64_t answered = c.received + c.late;
  absl::StrAppend(&out, "\nreflector reported its stamp sources (RFC 8972) for ",
                  s.reflector_sources_reported, " of ", answered, " replies");
  if (s.reflector_sources_reported < answered) {
    absl::StrAppend(&out, "; the others' t2 is labelled userspace and t3 estimate");
  }
  AppendSenderNotes(&out, c);
  return out;
}

nlohmann::json LatencyToJson(const LatencySummary& s) {
  nlohmann::json j = {{"count", s.count}};
  const bool empty = s.count == 0;
  auto v = [&](int64_t x) { return empty ? nlohmann::json(nullptr) : nlohmann::json(x); };
  j["min"] = v(s.min);
  j["p50"] = v(s.p50);
  j["p90"] = v(s.p90);
  j["p99"] = v(s.p99);
  j["p999"] = v(s.p999);
  j["max"] = v(s.max);
  j["mean"] = empty ? nlohmann::json(nullptr) : nlohmann::json(s.mean);
  j["stddev"] = empty ? nlohmann::json(nullptr) : nlohmann::json(s.stddev);
  j["exact"] = s.exact;
  return j;
}

nlohmann::json ProbeResultToJson(const ProbeResult& r, bool clocks_synchronised) {
  if (r.mode == ProbeMode::kIcmpEcho) {
    // No reflector: no t2, t3, dwell, one-way delays, offset or forward TTL keys at all.
    return {{"type", "probe"},
            {"mode", std::string(ProbeModeName(r.mode))},
            {"seq", r.seq},
            {"icmp_seq", static_cast<uint16_t>(r.seq)},
            {"status", std::string(ProbeStatusName(r.status))},
            {"t1", StampJson(r.t1)},
            {"t4", StampJson(r.t4)},
            {"rtt_ns", OptJson(r.rtt_ns)},
            {"network_rtt_ns", OptJson(r.network_rtt_ns)},
            {"reordered", r.reordered},
            {"reply_ttl", r.reply_ttl ? nlohmann::json(*r.reply_ttl) : nlohmann::json(nullptr)}};
  }
  nlohmann::json j = {{"type", "probe"},
                      {"seq", r.seq},
                      {"status", std::string(ProbeStatusName(r.status))},
                      {"t1", StampJson(r.t1)},
                      {"t2", StampJson(r.t2)},
                      {"t3", StampJson(r.t3)},
                      {"t4", StampJson(r.t4)},
                      {"rtt_ns", OptJson(r.rtt_ns)},
                      {"dwell_ns", OptJson(r.dwell_ns)},
                      {"network_rtt_ns", OptJson(r.network_rtt_ns)}};
  if (clocks_synchronised) {
    j["forward_ns"] = OptJson(r.forward_ns);
    j["reverse_ns"] = OptJson(r.reverse_ns);
  } else {
    j["offset_ns"] = OptJson(r.offset_ns);
  }
  j["reordered"] = r.reordered;
  j["forward_ttl"] = r.forward_ttl ? nlohmann::json(*r.forward_ttl) : nlohmann::json(nullptr);
  j["reply_ttl"] = r.reply_ttl ? nlohmann::json(*r.reply_ttl) : nlohmann::json(nullptr);
  if (r.status != ProbeStatus::kLost) {
    j["reflector_seq"] = r.reflector_seq;
    j["reflector_sources"] = r.reflector_sources_reported ? "reported" : "unknown";
  }
  if (r.follow_up) {
    const ProbeFollowUp& f = *r.follow_up;
    j["follow_up"] = {{"reflector_seq", f.reflector_seq},
                      {"seq", f.seq ? nlohmann::json(*f.seq) : nlohmann::json(nullptr)},
                      {"t3", StampJson(f.t3_actual)},
                      {"t3_error_ns", OptJson(f.t3_error_ns)}};
  }
  return j;
}

nlohmann::json ProbeSummaryToJson(const ProbeSummary& s) {
  if (s.mode == ProbeMode::kIcmpEcho) {
    nlohmann::json j = {{"type", "summary"}, {"mode", std::string(ProbeModeName(s.mode))}};
    j.update(CountersJson(s.counters));
    j["rtt_ns"] = LatencyToJson(s.rtt);
    j["network_rtt_ns"] = LatencyToJson(s.network_rtt);
    j["sources"] = {{"t1", SourcesJson(s.sources[0])}, {"t4", SourcesJson(s.sources[3])}};
    return j;
  }
  nlohmann::json j = {{"type", "summary"},
                      {"clocks_synchronised", s.clocks_synchronised},
                      {"rtt_ns", LatencyToJson(s.rtt)},
                      {"network_rtt_ns", LatencyToJson(s.network_rtt)},
                      {"dwell_ns", LatencyToJson(s.dwell)}};
  j.update(CountersJson(s.counters));
  if (s.clocks_synchronised) {
    j["forward_ns"] = LatencyToJson(s.forward);
    j["reverse_ns"] = LatencyToJson(s.reverse);
  } else {
    j["offset_ns"] = LatencyToJson(s.offset);
  }
  j["t3_error_ns"] = LatencyToJson(s.t3_error);
  nlohmann::json sources = nlohmann::json::object();
  for (size_t i = 0; i < 4; ++i) sources[kStampNames[i]] = SourcesJson(s.sources[i]);
  j["sources"] = std::move(sources);
  j["reflector_sources_reported"] = s.reflector_sources_reported;
  return j;
}

std::string FormatReflectorSummary(const ReflectorSummary& s, std::string_view title) {
  std::string out = absl::StrCat("--- ", ToAbsl(title), " summary ---\n");
  uint64_t dropped = 0;
  std::string reasons;
  for (size_t i = 1; i < s.dropped.size(); ++i) {
    dropped += s.dropped[i];
    absl::StrAppend(&reasons, reasons.empty() ? "" : ", ",
                    ToAbsl(ReflectorDropName(static_cast<ReflectorDrop>(i))), " ", s.dropped[i]);
  }
  absl::StrAppend(&out, "reflected ", s.reflected, ", dropped ", dropped, " (", reasons,
                  "), sessions ", s.sessions, " (evicted ", s.sessions_evicted, ")\n");
  absl::StrAppend(&out, "t2 sources: ", SourcesText(s.t2_sources), "; without RX stamp ",
                  s.rx_stamp_missing, "\n");
  absl::StrAppend(&out, "TLV requests ", s.tlv_requests, ", unrecognized TLVs ", s.tlv_unrecognized,
                  ", malformed ", s.tlv_malformed, "\n");
  absl::StrAppend(&out, "TX stamps ", s.tx_stamps, " (", SourcesText(s.tx_sources), "), missing ",
                  s.tx_stamps_missing, ", unknown ", s.tx_stamps_unknown, ", never reported ",
                  s.tx_pending_overwritten, "\n");
  absl::StrAppend(&out, TableHeader(), "\n");
  absl::StrAppend(&out, TableRow("t3 error (real TX - t3)", s.t3_error));
  return out;
}

nlohmann::json ReflectorSummaryToJson(const ReflectorSummary& s) {
  nlohmann::json dropped = nlohmann::json::object();
  for (size_t i = 1; i < s.dropped.size(); ++i) {
    dropped[std::string(ReflectorDropName(static_cast<ReflectorDrop>(i)))] = s.dropped[i];
  }
  return {{"type", "server_summary"},
          {"reflected", s.reflected},
          {"dropped", std::move(dropped)},
          {"rx_stamp_missing", s.rx_stamp_missing},
          {"tlv_requests", s.tlv_requests},
          {"tlv_unrecognized", s.tlv_unrecognized},
          {"tlv_malformed", s.tlv_malformed},
          {"tx_stamps", s.tx_stamps},
          {"tx_stamps_missing", s.tx_stamps_missing},
          {"tx_stamps_unknown", s.tx_stamps_unknown},
          {"tx_pending_overwritten", s.tx_pending_overwritten},
          {"sessions", s.sessions},
          {"sessions_evicted", s.sessions_evicted},
          {"t2_sources", SourcesJson(s.t2_sources)},
          {"tx_sources", SourcesJson(s.tx_sources)},
          {"t3_error_ns", LatencyToJson(s.t3_error)}};
}

ProbePlotData MakeProbePlotData(std::span<const ProbeResult> results, const ProbeSummary& summary,
                                std::string title, std::string subtitle) {
  ProbePlotData d;
  d.title = std::move(title);
  d.subtitle = std::move(subtitle);
  const bool icmp = summary.mode == ProbeMode::kIcmpEcho;
  if (d.subtitle.empty()) {
    // ICMP echo: "ICMP echo (RTT includes the peer's stack), stamps: t1 software, t4 software";
    // STAMP: "stamps: t1 software, t2 software, t3 estimate, t4 software" (mixed:
    // "software+userspace").
    static constexpr size_t kIcmpStamps[] = {0, 3};
    static constexpr size_t kAllStamps[] = {0, 1, 2, 3};
    d.subtitle = icmp ? "ICMP echo (RTT includes the peer's stack), stamps:" : "stamps:";
    for (size_t i : icmp ? std::span<const size_t>(kIcmpStamps) : kAllStamps) {
      absl::StrAppend(&d.subtitle, i ? ", " : " ", kStampNames[i], " ",
                      SourceNamesText(summary.sources[i]));
    }
  }
  d.rtt = summary.rtt;
  // ICMP echo: network RTT is RTT itself; one curve, not two on top of each other.
  if (!icmp) d.network_rtt = summary.network_rtt;
  // A probe reported lost and answered late later is a point, not a cross.
  std::set<std::pair<uint32_t, int64_t>> late;
  for (const ProbeResult& r : results) {
    if (r.status == ProbeStatus::kLate) late.insert({r.seq, r.send_mono_ns});
  }
  d.points.reserve(results.size());
  for (const ProbeResult& r : results) {
    switch (r.status) {
      case ProbeStatus::kOk:
      case ProbeStatus::kLate:
        if (!r.rtt_ns) break;
        d.points.push_back({.time_ns = r.send_mono_ns,
                            .rtt_ns = *r.rtt_ns,
                            .network_rtt_ns = icmp ? std::nullopt : r.network_rtt_ns,
                            .lost = false});
        break;
      case ProbeStatus::kLost:
        if (late.contains({r.seq, r.send_mono_ns})) break;
        d.points.push_back({.time_ns = r.send_mono_ns, .lost = true});
        break;
      case ProbeStatus::kDuplicate:
        break;
    }
  }
  return d;
}

}  // namespace ringstamp::app
