// probe_output.h — what `ringstamp probe` prints: per-probe lines, summaries, JSON lines, plot
// data.
//
// Example:
// Given: #include "ringstamp/engine/probe/probe_session.h"
// Given: #include "ringstamp/common/clock.h"
// Given: ProbeSender& sender; std::span<const std::byte> payload; const Timestamps& rx; uint8_t ttl
// Given: bool clocks_synchronised; bool json; std::span<const ProbeResult> results
//   std::puts(FormatProbeLegend(clocks_synchronised).c_str());
//   sender.OnReply(payload, rx, ttl, MonotonicNs(), [&](const ProbeResult& r) {
//     std::puts(json ? ProbeResultToJson(r, clocks_synchronised).dump().c_str()
//                    : FormatProbeLine(r).c_str());
//   });
//   std::puts(FormatProbeSummary(sender.Summary(), "probe 10.0.0.2").c_str());
//   RS_RETURN_IF_ERROR(WriteProbeSvg("run.svg", MakeProbePlotData(results, sender.Summary(),
//                                                                 "ringstamp probe")));
//
// Text (one line per result):
//   seq=12 t1=1700000000.000041000(sw) t2=...(sw) t3=...(sw) t4=...(sw) t3est=...(est)
//     rtt=41.234µs dwell=5.800µs net=35.434µs offset=-1.300µs ttl=64/64 [late] [reordered]
// A figure resting on an estimate or a userspace stamp is marked: net=36.134µs(est).
// Stamps are Unix seconds.nanoseconds with their source (hw, sw, user, est);
// an absent stamp or figure is "-", never a number. Durations are µs with
// all nine digits of the ns count kept (three decimals). The legend states
// every figure's formula and sign.
//
// ICMP echo mode (ProbeResult::mode / ProbeSummary::mode kIcmpEcho) has no
// reflector stamps, and says so instead of printing absent figures:
//   seq=12 icmp_seq=12 t1=1700000000.000041000(sw) t4=...(sw) rtt=41.234µs ttl=64 [late] ...
// the legend and the summary state that RTT = network RTT with the peer's stack
// time inside, and that dwell, one-way delays and offset are not measured.
//
// JSON lines (keys stable; docs/json.md describes them, docs/json-schema.json is the schema;
// the command adds the origin keys of apps/json_line.h when it prints them):
//   per probe: {"type":"probe","seq","status":"ok"|"late"|"lost"|"duplicate"|"unanswered",
//     "t1".."t4": {"ns": <Unix ns>, "source": "hardware"|"software"|"userspace"|"estimate"} or
//     null (t3 the reflector's real TX time when it came, else its estimate),
//     "t3_estimate" (what the reflector wrote), "rests_on": {figure key: weakest source},
//     "rtt_ns" (t4 − t1), "dwell_ns" (t3 − t2), "network_rtt_ns" (rtt − dwell) or null,
//     "offset_ns" (clocks not synchronised) or "forward_ns" and "reverse_ns" (synchronised),
//     "reordered", "forward_ttl", "reply_ttl", "reflector_seq",
//     "reflector_sources": "reported"|"unknown", and "follow_up": {"reflector_seq",
//     "seq", "t3": {...}, "t3_error_ns"} when the reflector sent its previous real TX time}
//   summary: {"type":"summary","sent","received","lost","late","duplicated","reordered",
//     "in_flight","unanswered_at_stop","unmatched","malformed","clocks_synchronised",
//     "rtt_ns","user_rtt_ns","network_rtt_ns","dwell_ns", "offset_ns" or
//     "forward_ns"/"reverse_ns", "t3_error_ns": each {"count","min","p50","p90","p99","p999",
//     "max","mean","stddev","exact"} (values null when count is 0; p90/p99/p999 null below
//     10/100/1000 samples; figures add "rests_on": {source: n}), "t3": {"real","estimated",
//     "wait_expired","after_result","closing_probes","closing_replies"},
//     "sources": {"t1": {"hardware": n, "software": n,
//     "userspace": n, "estimate": n}, "t2", "t3", "t4"}, "reflector_sources_reported"}
//   ICMP echo per probe: {"type":"probe","mode":"icmp","seq","icmp_seq","status","t1","t4",
//     "rtt_ns","network_rtt_ns" (= rtt_ns),"reordered","reply_ttl"}: no t2, t3, dwell,
//     one-way, offset or forward TTL keys at all; summary: {"type":"summary","mode":"icmp",
//     the counters, "rtt_ns","network_rtt_ns" (the same distribution),"sources":{"t1","t4"}}
//   server: {"type":"server_summary","reflected","dropped":{reason: n},...,"t3_error_ns":{...}}
//
// Pure functions: any thread; they allocate the strings and JSON they return.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "apps/svg_plot.h"
#include "ringstamp/engine/probe/probe_reflector.h"
#include "ringstamp/engine/probe/probe_summary.h"
#include "ringstamp/engine/probe/probe_window.h"

namespace ringstamp::app {

// "hw", "sw", "user", "est".
std::string_view ProbeSourceAbbrev(StampSource source);

// ns as µs with three decimals and a sign when negative: 41234 → "41.234µs", -1300 → "-1.300µs".
std::string FormatDurationUs(int64_t ns);

// The legend printed above the per-probe lines (several lines, no trailing newline).
std::string FormatProbeLegend(bool clocks_synchronised, ProbeMode mode = ProbeMode::kStamp);

std::string FormatProbeLine(const ProbeResult& result);

// One reporting interval of --report-every, as a text line:
// "interval 2026-12-05T12:00:00Z +10s: received 99, lost 1 (1%), late 0, duplicated 0;
//  rtt p50 41.234µs p99 52.100µs; net p50 ... (software)"
std::string FormatProbeWindow(const ProbeWindowSummary& w, ProbeMode mode,
                              bool clocks_synchronised);
// ... and as the body of a {"type":"interval"} JSON line: start_ns, end_ns, received, late,
// lost, duplicated, unanswered, reordered, loss_pct, and the mode's figures (each a
// distribution with rests_on) plus user_rtt_ns.
nlohmann::json ProbeWindowToJson(const ProbeWindowSummary& w, ProbeMode mode,
                                 bool clocks_synchronised);

// The end-of-run summary (several lines, no trailing newline), headed
// "--- <title> summary ---", e.g. title "probe 10.0.0.2".
std::string FormatProbeSummary(const ProbeSummary& summary, std::string_view title);

nlohmann::json ProbeResultToJson(const ProbeResult& result, bool clocks_synchronised);
nlohmann::json ProbeSummaryToJson(const ProbeSummary& summary);
// {"count","min","p50","p90","p99","p999","max","mean","stddev"}; values null when empty.
nlohmann::json LatencyToJson(const LatencySummary& s);

// The server's summary, headed "--- <title> summary ---" (e.g. "reflector").
std::string FormatReflectorSummary(const ReflectorSummary& summary, std::string_view title);
nlohmann::json ReflectorSummaryToJson(const ReflectorSummary& summary);

// Plot input from the results in the order they were reported: answered
// probes as points (on-time and late), lost ones as crosses (unless a late
// reply came later), duplicates left out; time is the send time. An empty
// subtitle becomes the stamp sources used: "stamps: t1 software, t2 software, ...".
// ICMP echo runs plot RTT alone (network RTT is the same curve).
ProbePlotData MakeProbePlotData(std::span<const ProbeResult> results, const ProbeSummary& summary,
                                std::string title, std::string subtitle = {});

}  // namespace ringstamp::app
