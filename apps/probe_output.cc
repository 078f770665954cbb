#include "apps/probe_output.h"

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"

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

// A figure with its basis marked when that is less than a kernel or NIC stamp:
// "36.134µs(est)", "41.234µs(user)"; plain otherwise.
std::string FigureText(const ProbeResult& r, const std::optional<int64_t>& ns, ProbeFigure f) {
  std::string text = FigureText(ns);
  const std::optional<StampSource>& b = r.basis[static_cast<size_t>(f)];
  if (ns && b && StampSourceRank(*b) >= StampSourceRank(StampSource::kUserspace)) {
    absl::StrAppend(&text, "(", ToAbsl(ProbeSourceAbbrev(*b)), ")");
  }
  return text;
}

// {"rtt_ns": "software", "network_rtt_ns": "estimate", ...}: the figures present.
nlohmann::json BasisJson(const ProbeResult& r) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t f = 0; f < kProbeFigureCount; ++f) {
    if (r.basis[f]) {
      j[std::string(ProbeFigureKey(static_cast<ProbeFigure>(f)))] =
          std::string(ProbeSourceName(*r.basis[f]));
    }
  }
  return j;
}

// A percentile is shown only when the sample count can hold it: pX needs
// n ≥ 1 / (1 − X) (p90: 10, p99: 100, p99.9: 1000); below that it would be the
// maximum under another name.
constexpr uint64_t kMinCountP90 = 10;
constexpr uint64_t kMinCountP99 = 100;
constexpr uint64_t kMinCountP999 = 1000;

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

// "network RTT software 290, estimate 10; RTT software 300; ...": what each figure of the
// summary rests on (its weakest stamp), for the figures with samples.
std::string BasisText(const ProbeSummary& s,
                      std::span<const std::pair<ProbeFigure, const char*>> figs) {
  std::string out;
  for (const auto& [f, name] : figs) {
    const auto& counts = s.basis[static_cast<size_t>(f)];
    uint64_t total = 0;
    for (uint64_t n : counts) total += n;
    if (total == 0) continue;
    absl::StrAppend(&out, out.empty() ? "" : "; ", name, " ", SourcesText(counts));
  }
  return out;
}

// The figure's distribution with what its samples rest on.
nlohmann::json FigureJson(const LatencySummary& l, const ProbeSummary& s, ProbeFigure f) {
  nlohmann::json j = LatencyToJson(l);
  j["rests_on"] = SourcesJson(s.basis[static_cast<size_t>(f)]);
  return j;
}

// Estimated or userspace-based samples of a figure: "12 of 300".
uint64_t WeakCount(const ProbeSummary& s, ProbeFigure f) {
  const auto& c = s.basis[static_cast<size_t>(f)];
  return c[static_cast<size_t>(StampSource::kUserspace)] +
         c[static_cast<size_t>(StampSource::kEstimate)];
}

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
  cell(FormatDurationUs(s.min));
  cell(FormatDurationUs(s.p50));
  cell(s.count >= kMinCountP90 ? FormatDurationUs(s.p90) : "n/a");
  cell(s.count >= kMinCountP99 ? FormatDurationUs(s.p99) : "n/a");
  cell(s.count >= kMinCountP999 ? FormatDurationUs(s.p999) : "n/a");
  cell(FormatDurationUs(s.max));
  cell(MeanText(s.mean));
  cell(MeanText(s.stddev));
  if (!s.exact) absl::StrAppend(&line, "  (percentiles ±0.2%)");
  if (s.count < kMinCountP999) {
    absl::StrAppend(&line, "  (n/a: n=", s.count, " is too few for ",
                    s.count < kMinCountP90   ? "p90, p99, p99.9"
                    : s.count < kMinCountP99 ? "p99, p99.9"
                                             : "p99.9",
                    ")");
  }
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
      "# t3 is the reflector's real TX time, sent in its next reply (RFC 8972 Follow-Up); "
      "t3est = what it wrote before sending, shown when they differ; t3(est) = no real time "
      "came\n"
      "# rtt = t4 - t1; dwell = t3 - t2 (time inside the reflector); net = rtt - dwell; "
      "ttl = TTL at the reflector / TTL of the reply here; a figure marked (est) or (user) "
      "rests on an estimate or a userspace stamp\n";
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
  if (r.status == ProbeStatus::kUnanswered) absl::StrAppend(line, " unanswered");
  if (r.reordered) absl::StrAppend(line, " reordered");
}

// The summary's title, counter lines and latency table header, both modes alike.
std::string SummaryHead(const ProbeCounters& c, std::string_view title) {
  std::string out = absl::StrCat("--- ", ToAbsl(title), " summary ---\n");
  absl::StrAppend(&out, "sent ", c.sent, ", received ", c.received, ", lost ", c.lost, ", late ",
                  c.late, ", duplicated ", c.duplicated, ", reordered ", c.reordered, "\n");
  if (c.send_failures) {
    absl::StrAppend(
        &out, "not sent ", c.send_failures, " of the ", c.sent,
        " (refused by the relay, never on the wire: neither lost nor in the figures)\n");
  }
  if (c.in_flight || c.unmatched || c.malformed || c.unanswered_at_stop) {
    absl::StrAppend(&out, "in flight ", c.in_flight, ", unanswered at stop ", c.unanswered_at_stop,
                    ", unmatched replies ", c.unmatched, ", malformed replies ", c.malformed, "\n");
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
  if (r.status == ProbeStatus::kUnanswered) {
    absl::StrAppend(&line, " unanswered (still within its timeout when the run stopped)");
    return line;
  }
  absl::StrAppend(&line, " t4=", StampText(r.t4),
                  " rtt=", FigureText(r, r.rtt_ns, ProbeFigure::kRtt),
                  " ttl=", r.reply_ttl ? absl::StrCat(*r.reply_ttl) : "-");
  AppendStatusFlags(&line, r);
  return line;
}

std::string FormatIcmpProbeSummary(const ProbeSummary& s, std::string_view title) {
  const ProbeCounters& c = s.counters;
  std::string out = SummaryHead(c, title);
  absl::StrAppend(&out, TableRow("RTT = network RTT (t4 - t1)", s.rtt), "\n");
  absl::StrAppend(&out, TableRow("userspace RTT (send-recv)", s.user_rtt), "\n");
  static constexpr std::pair<ProbeFigure, const char*> kIcmpFigs[] = {{ProbeFigure::kRtt, "RTT"}};
  if (const std::string b = BasisText(s, kIcmpFigs); !b.empty()) {
    absl::StrAppend(&out, "figures rest on (their weakest stamp): ", b, "\n");
  }
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
  return {{"sent", c.sent},
          {"received", c.received},
          {"lost", c.lost},
          {"late", c.late},
          {"duplicated", c.duplicated},
          {"reordered", c.reordered},
          {"in_flight", c.in_flight},
          {"unanswered_at_stop", c.unanswered_at_stop},
          {"unmatched", c.unmatched},
          {"malformed", c.malformed},
          {"send_failures", c.send_failures}};
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
  if (r.status == ProbeStatus::kUnanswered) {
    absl::StrAppend(&line, " unanswered (still within its timeout when the run stopped)");
    return line;
  }
  if (r.t3_estimate && r.t3 && *r.t3_estimate != *r.t3) {
    absl::StrAppend(&line, " t3est=", StampText(r.t3_estimate));
  }
  absl::StrAppend(&line, " rtt=", FigureText(r, r.rtt_ns, ProbeFigure::kRtt),
                  " dwell=", FigureText(r, r.dwell_ns, ProbeFigure::kDwell),
                  " net=", FigureText(r, r.network_rtt_ns, ProbeFigure::kNetworkRtt));
  if (r.forward_ns || r.reverse_ns) {
    absl::StrAppend(&line, " fwd=", FigureText(r, r.forward_ns, ProbeFigure::kForward),
                    " rev=", FigureText(r, r.reverse_ns, ProbeFigure::kReverse));
  } else {
    absl::StrAppend(&line, " offset=", FigureText(r, r.offset_ns, ProbeFigure::kOffset));
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
  absl::StrAppend(&out, TableRow("userspace RTT (send-recv)", s.user_rtt), "\n");
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
  static constexpr std::pair<ProbeFigure, const char*> kFigs[] = {
      {ProbeFigure::kNetworkRtt, "network RTT"},
      {ProbeFigure::kRtt, "RTT"},
      {ProbeFigure::kDwell, "dwell"},
      {ProbeFigure::kForward, "forward"},
      {ProbeFigure::kReverse, "reverse"},
      {ProbeFigure::kOffset, "offset"}};
  if (const std::string b = BasisText(s, kFigs); !b.empty()) {
    absl::StrAppend(&out, "figures rest on (their weakest stamp): ", b, "\n");
  }
  const uint64_t answered = c.received + c.late;
  absl::StrAppend(&out, "t3: the reflector's real TX time for ", c.t3_real, " of ", answered,
                  " answered probes, its estimate for ", c.t3_estimated);
  if (c.t3_estimated > 0) {
    absl::StrAppend(&out, " (", c.t3_wait_expired, " waited out, ", c.t3_after_result,
                    " real times came too late; without a Follow-Up TLV from the reflector no "
                    "real time comes)");
  }
  if (c.closing_probes > 0) {
    absl::StrAppend(&out, "; closing probe sent ", c.closing_probes, ", answered ",
                    c.closing_replies, " (not counted)");
  }
  absl::StrAppend(&out, "\nsources:");
  for (size_t i = 0; i < 4; ++i) {
    absl::StrAppend(&out, i ? ";" : "", " ", kStampNames[i], " ", SourcesText(s.sources[i]));
  }
  absl::StrAppend(&out, "\nreflector reported its stamp sources (RFC 8972) for ",
                  s.reflector_sources_reported, " of ", answered, " replies");
  if (s.reflector_sources_reported < answered) {
    absl::StrAppend(&out, "; the others' t2 is labelled userspace and t3 estimate");
  }
  if (answered > 0) {
    absl::StrAppend(&out, "\nreflector's clock (its error estimate field): synchronised (S=1) in ",
                    s.reflector_synchronized, " of ", answered, " replies, error estimate up to ",
                    FormatDurationUs(static_cast<int64_t>(
                        std::min<uint64_t>(s.reflector_error_max_ns, INT64_MAX))));
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
  j["p90"] = s.count >= kMinCountP90 ? v(s.p90) : nlohmann::json(nullptr);
  j["p99"] = s.count >= kMinCountP99 ? v(s.p99) : nlohmann::json(nullptr);
  j["p999"] = s.count >= kMinCountP999 ? v(s.p999) : nlohmann::json(nullptr);
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
            {"rests_on", BasisJson(r)},
            {"reordered", r.reordered},
            {"reply_ttl", r.reply_ttl ? nlohmann::json(*r.reply_ttl) : nlohmann::json(nullptr)}};
  }
  nlohmann::json j = {{"type", "probe"},
                      {"seq", r.seq},
                      {"status", std::string(ProbeStatusName(r.status))},
                      {"t1", StampJson(r.t1)},
                      {"t2", StampJson(r.t2)},
                      {"t3", StampJson(r.t3)},
                      {"t3_estimate", StampJson(r.t3_estimate)},
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
  j["rests_on"] = BasisJson(r);
  j["reordered"] = r.reordered;
  j["forward_ttl"] = r.forward_ttl ? nlohmann::json(*r.forward_ttl) : nlohmann::json(nullptr);
  j["reply_ttl"] = r.reply_ttl ? nlohmann::json(*r.reply_ttl) : nlohmann::json(nullptr);
  if (r.status != ProbeStatus::kLost && r.status != ProbeStatus::kUnanswered) {
    j["reflector_seq"] = r.reflector_seq;
    j["reflector_sources"] = r.reflector_sources_reported ? "reported" : "unknown";
    // The reflector's own word on its clock: S bit and error estimate of its reply.
    j["reflector_clock"] = {{"synchronized", r.reflector_synchronized},
                            {"error_ns", r.reflector_error_ns}};
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
    j["rtt_ns"] = FigureJson(s.rtt, s, ProbeFigure::kRtt);
    j["user_rtt_ns"] = LatencyToJson(s.user_rtt);
    j["network_rtt_ns"] = FigureJson(s.network_rtt, s, ProbeFigure::kNetworkRtt);
    j["sources"] = {{"t1", SourcesJson(s.sources[0])}, {"t4", SourcesJson(s.sources[3])}};
    return j;
  }
  nlohmann::json j = {{"type", "summary"},
                      {"clocks_synchronised", s.clocks_synchronised},
                      {"rtt_ns", FigureJson(s.rtt, s, ProbeFigure::kRtt)},
                      {"user_rtt_ns", LatencyToJson(s.user_rtt)},
                      {"network_rtt_ns", FigureJson(s.network_rtt, s, ProbeFigure::kNetworkRtt)},
                      {"dwell_ns", FigureJson(s.dwell, s, ProbeFigure::kDwell)}};
  j.update(CountersJson(s.counters));
  if (s.clocks_synchronised) {
    j["forward_ns"] = FigureJson(s.forward, s, ProbeFigure::kForward);
    j["reverse_ns"] = FigureJson(s.reverse, s, ProbeFigure::kReverse);
  } else {
    j["offset_ns"] = FigureJson(s.offset, s, ProbeFigure::kOffset);
  }
  const ProbeCounters& c = s.counters;
  j["t3"] = {{"real", c.t3_real},
             {"estimated", c.t3_estimated},
             {"wait_expired", c.t3_wait_expired},
             {"after_result", c.t3_after_result},
             {"closing_probes", c.closing_probes},
             {"closing_replies", c.closing_replies}};
  j["t3_error_ns"] = LatencyToJson(s.t3_error);
  nlohmann::json sources = nlohmann::json::object();
  for (size_t i = 0; i < 4; ++i) sources[kStampNames[i]] = SourcesJson(s.sources[i]);
  j["sources"] = std::move(sources);
  j["reflector_sources_reported"] = s.reflector_sources_reported;
  j["reflector_clock"] = {{"synchronized", s.reflector_synchronized},
                          {"error_max_ns", s.reflector_error_max_ns}};
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
                  s.tx_pending_overwritten, ", real t3 never sent back (Follow-Up queue full) ",
                  s.follow_ups_dropped, "\n");
  if (s.t3_offset_learned) {
    absl::StrAppend(&out, "t3 estimate: the clock read before the send + ",
                    FormatDurationUs(s.t3_offset_ns),
                    " (median clock read -> kernel TX stamp of the last ", s.t3_offset_samples,
                    " stamped replies)\n");
  } else {
    absl::StrAppend(&out, "t3 estimate: the clock read before the send (--t3-estimate clock)\n");
  }
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
          {"follow_ups_dropped", s.follow_ups_dropped},
          {"sessions", s.sessions},
          {"sessions_evicted", s.sessions_evicted},
          {"t2_sources", SourcesJson(s.t2_sources)},
          {"tx_sources", SourcesJson(s.tx_sources)},
          {"t3_error_ns", LatencyToJson(s.t3_error)},
          {"t3_estimate",
           {{"learned", s.t3_offset_learned},
            {"offset_ns", s.t3_offset_ns},
            {"samples", s.t3_offset_samples}}}};
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
  if (!icmp) {
    d.network_rtt = summary.network_rtt;
    const uint64_t weak = WeakCount(summary, ProbeFigure::kNetworkRtt);
    if (weak > 0) {
      d.network_rtt_name = absl::StrCat("network RTT (on an estimate or userspace stamp for ", weak,
                                        " of ", summary.network_rtt.count, ")");
    }
  }
  // A probe reported lost and answered late later is a point, not a cross.
  // (A reply whose RX stamp shows it came in time, reported lost first because it was
  // processed late, is a point too.)
  std::set<std::pair<uint32_t, int64_t>> late;
  for (const ProbeResult& r : results) {
    if (r.status == ProbeStatus::kLate || r.status == ProbeStatus::kOk) {
      late.insert({r.seq, r.send_mono_ns});
    }
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
      case ProbeStatus::kUnanswered:
        break;
    }
  }
  // The system-clock time of the plot's time origin (points sit at their monotonic send
  // time): from a probe whose TX time is on the system clock, shifted back to the earliest.
  if (!d.points.empty()) {
    int64_t t0 = d.points.front().time_ns;
    for (const ProbePlotPoint& p : d.points) t0 = std::min(t0, p.time_ns);
    for (const ProbeResult& r : results) {
      if (!r.t1) continue;
      d.origin_realtime_ns = r.t1->ns - (r.send_mono_ns - t0);
      break;
    }
  }
  return d;
}

namespace {

// The figures a window line shows for the mode, in this order.
std::vector<ProbeFigure> WindowFigures(ProbeMode mode, bool clocks_synchronised) {
  if (mode == ProbeMode::kIcmpEcho) return {ProbeFigure::kRtt, ProbeFigure::kNetworkRtt};
  if (clocks_synchronised) {
    return {ProbeFigure::kRtt, ProbeFigure::kNetworkRtt, ProbeFigure::kDwell, ProbeFigure::kForward,
            ProbeFigure::kReverse};
  }
  return {ProbeFigure::kRtt, ProbeFigure::kNetworkRtt, ProbeFigure::kDwell, ProbeFigure::kOffset};
}

std::string UtcSeconds(int64_t ns) {
  const time_t t = static_cast<time_t>(ns / 1'000'000'000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// "rtt", "net", "dwell", "fwd", "rev", "offset": the short names of the text line.
std::string_view WindowFigureName(ProbeFigure f) {
  switch (f) {
    case ProbeFigure::kRtt:
      return "rtt";
    case ProbeFigure::kNetworkRtt:
      return "net";
    case ProbeFigure::kDwell:
      return "dwell";
    case ProbeFigure::kForward:
      return "fwd";
    case ProbeFigure::kReverse:
      return "rev";
    case ProbeFigure::kOffset:
      break;
  }
  return "offset";
}

}  // namespace

std::string FormatProbeWindow(const ProbeWindowSummary& w, ProbeMode mode,
                              bool clocks_synchronised) {
  std::string line =
      absl::StrFormat("interval %s +%.3gs: received %d, lost %d (%.3g%%), late %d, duplicated %d",
                      UtcSeconds(w.start_ns), static_cast<double>(w.end_ns - w.start_ns) / 1e9,
                      w.ok, w.lost, w.loss_pct, w.late, w.duplicated);
  for (ProbeFigure f : WindowFigures(mode, clocks_synchronised)) {
    const LatencySummary& l = w.figures[static_cast<size_t>(f)];
    if (l.count == 0) continue;
    absl::StrAppend(&line, "; ", ToAbsl(WindowFigureName(f)), " p50 ", FormatDurationUs(l.p50));
    if (l.count >= 100) absl::StrAppend(&line, " p99 ", FormatDurationUs(l.p99));
    absl::StrAppend(&line, " max ", FormatDurationUs(l.max), " (",
                    SourcesText(w.basis[static_cast<size_t>(f)]), ")");
  }
  return line;
}

nlohmann::json ProbeWindowToJson(const ProbeWindowSummary& w, ProbeMode mode,
                                 bool clocks_synchronised) {
  nlohmann::json j = {{"start_ns", w.start_ns},
                      {"end_ns", w.end_ns},
                      {"received", w.ok},
                      {"late", w.late},
                      {"lost", w.lost},
                      {"duplicated", w.duplicated},
                      {"unanswered", w.unanswered},
                      {"reordered", w.reordered},
                      {"loss_pct", w.loss_pct},
                      {"user_rtt_ns", LatencyToJson(w.user_rtt)}};
  if (mode == ProbeMode::kIcmpEcho) j["mode"] = std::string(ProbeModeName(mode));
  for (ProbeFigure f : WindowFigures(mode, clocks_synchronised)) {
    nlohmann::json d = LatencyToJson(w.figures[static_cast<size_t>(f)]);
    d["rests_on"] = SourcesJson(w.basis[static_cast<size_t>(f)]);
    j[std::string(ProbeFigureKey(f))] = std::move(d);
  }
  return j;
}

}  // namespace ringstamp::app
