// ringstamp probe server / probe client: the two-host STAMP latency probe over a PacketRelay, and
// the client's ICMP echo mode (--mode icmp) against any host's stack.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "apps/cli_parse.h"
#include "apps/command.h"
#include "apps/common_flags.h"
#include "apps/html_report.h"
#include "apps/input_checks.h"
#include "apps/json_line.h"
#include "apps/link_watch.h"
#include "apps/metrics_server.h"
#include "apps/phc_mapping_output.h"
#include "apps/probe_fleet.h"
#include "apps/probe_metrics.h"
#include "apps/probe_output.h"
#include "apps/probe_series.h"
#include "apps/probe_targets.h"
#include "apps/probe_verdict.h"
#include "apps/svg_plot.h"
#include "apps/tap_setup.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/engine.h"
#include "ringstamp/engine/probe/clock_error.h"
#include "ringstamp/engine/probe/probe_endpoints.h"
#include "ringstamp/engine/probe/probe_icmp.h"
#include "ringstamp/engine/timestamping_plan.h"
#include "ringstamp/ring/packet_socket.h"
#include "ringstamp/timestamp/clock_state.h"

ABSL_FLAG(std::vector<std::string>, ip, {},
          "this endpoint's address, ADDR or ADDR/PREFIX (default prefix /24, /64); repeat for "
          "IPv4 and IPv6");
ABSL_FLAG(std::string, mac, "", "this endpoint's MAC (default: the interface's)");
ABSL_FLAG(int32_t, port, 862, "STAMP UDP port of the reflector");
ABSL_FLAG(std::vector<std::string>, server, {},
          "the target: the reflector's address, ADDR or ADDR:PORT ([V6]:PORT for IPv6; PORT "
          "defaults to --port), or with --mode icmp any host's address; repeat for several "
          "targets, one session each");
ABSL_FLAG(std::string, targets, "",
          "a file of targets, one a line: ADDR[:PORT] [key=value ...] ('#' comments); "
          "SIGHUP re-reads it (new targets start, removed ones stop with their summary, the "
          "others go on)");
ABSL_FLAG(std::string, gateway, "", "next hop for a reflector off this endpoint's subnet");
ABSL_FLAG(std::string, interval, "100ms",
          "time between probes (e.g. 10ms, 250us); 0: back to back, each probe as soon as the one "
          "before it is answered or lost (sockperf's ping-pong)");
ABSL_FLAG(int32_t, tos, 0, "IPv4 TOS / IPv6 traffic class of the probes");
ABSL_FLAG(std::string, plot, "", "write an SVG plot of the run to this file");
ABSL_FLAG(std::string, report, "",
          "write a self-contained HTML report of the run to this file (summary, stamp sources, "
          "what each figure rests on, RTT, tail, histogram, loss and clock pictures)");
ABSL_FLAG(std::string, timeout, "",
          "how long a reply may take before the probe counts as lost "
          "(default: max(1s, 3 × interval))");
ABSL_FLAG(
    bool, clocks_synchronised, false,
    "both hosts share one clock (two namespaces on one machine, or PTP): report one-way delays");
ABSL_FLAG(bool, busy_poll, false,
          "workers spin instead of sleeping (lowest latency, a full core each)");
ABSL_FLAG(int32_t, cpu, -1, "pin the worker to this CPU (default: the first allowed)");
ABSL_FLAG(std::string, tx_stamps_via, "auto",
          "how TX stamps come back: auto (io_uring completions where the kernel has them, Linux "
          ">= 6.15, else the error queue), io_uring, or errqueue");
ABSL_FLAG(std::string, t3_estimate, "learned",
          "the t3 a reply carries: learned (the clock read before the send plus the median "
          "latency from that read to the kernel's TX stamp over the last 64 replies) or clock "
          "(the clock read alone, always early by that latency); the real t3 follows in the next "
          "reply either way");
ABSL_FLAG(std::string, report_every, "",
          "print a summary of each interval this long (e.g. 10s; JSON: an interval line), for "
          "runs that go on until stopped");
ABSL_FLAG(std::string, max_loss, "100",
          "exit 1 when more than this percentage of the probes is lost (with or without '%'), "
          "or could not be sent (the relay refused them); exit 1 also when nothing is answered "
          "at all");
ABSL_FLAG(std::string, metrics, "",
          "serve Prometheus / OpenMetrics metrics at http://ADDR:PORT/metrics (e.g. "
          "127.0.0.1:9862, [::1]:9862, :9862 for every address); docs/metrics.md lists them");
ABSL_FLAG(std::string, mode, "stamp",
          "probe client: stamp (UDP STAMP to a reflector: t1..t4, dwell, network RTT) or icmp "
          "(ICMP / ICMPv6 echo to any host's own stack: t1 and t4, RTT only; --size is then the "
          "echo data, 16 bytes minimum, default 56)");

namespace ringstamp::app {
namespace {

// The exact samples a distribution keeps in a run that goes on until stopped (or reports
// intervals) before it turns into a histogram: 64 KiB each, reached after 8 s at 1 ms.
constexpr size_t kContinuousMaxExactSamples = size_t{1} << 13;

std::atomic<bool> g_stop{false};
void OnStop() { g_stop.store(true); }

// Says when the interface goes down, comes back or goes away, one line each (text, or a
// {"type":"link"} JSON line), and counts the outages. The run itself carries on through a
// down/up (the TX ring resumes, the kernel re-hooks the socket); a removed interface ends
// it (g_stop), as nothing can be sent or received any more.
class LinkReporter {
 public:
  LinkReporter(const std::string& ifname, bool json) : watch_(ifname), json_(json) {}
  // From the main thread's loop, or from the reporter's own thread (StartThread).
  void Poll() {
    auto change = watch_.Poll(MonotonicNs());
    if (!change) return;
    const std::string what = watch_.Describe(*change);
    const char* event = *change == LinkState::kUp     ? "up"
                        : *change == LinkState::kDown ? "down"
                                                      : "removed";
    if (json_) {
      PrintJsonLine("link", {{"event", event}, {"message", what}, {"time_ns", RealtimeNs()}});
    } else {
      std::printf("link: %s%s\n", what.c_str(),
                  *change == LinkState::kDown   ? "; probing on, answered again once it is up"
                  : *change == LinkState::kGone ? "; stopping"
                                                : "");
    }
    std::fflush(stdout);
    if (*change == LinkState::kGone) {
      gone_ = true;
      g_stop.store(true);
    }
  }
  void StartThread() {
    thread_ = std::thread([this] {
      while (!done_.load()) {
        Poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  void StopThread() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  ~LinkReporter() { StopThread(); }
  int outages() const { return watch_.outages(); }
  bool gone() const { return gone_; }

 private:
  LinkWatch watch_;
  bool json_;
  std::atomic<bool> done_{false};
  std::atomic<bool> gone_{false};
  std::thread thread_;
};

int Fail(std::string_view cmd, const absl::Status& s) {
  std::fprintf(stderr, "ringstamp %s: %s\n", std::string(cmd).c_str(),
               std::string(s.message()).c_str());
  return s.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

// Everything both sides set up: timestamping plan, relay, endpoint.
struct ProbeHost {
  std::unique_ptr<TapPort> tap;  // declared first: destroyed after the relay that uses it
  TimestampingPlan plan;
  std::unique_ptr<PacketRelay> relay;
  std::shared_ptr<EtherConn> conn;
};

absl::StatusOr<ProbeHost> SetUpHost(std::string_view cmd, bool json) {
  ProbeHost h;
  auto port = PortName();
  if (!port.ok()) return port.status();
  const std::string ifname = *port;
  const std::vector<std::string> ips = absl::GetFlag(FLAGS_ip);
  if (ips.empty()) {
    return absl::InvalidArgumentError(
        "--ip ADDR is required: the address this endpoint answers for (it needs no address in the "
        "OS)");
  }
  EtherConnOptions eo;
  for (const std::string& ip : ips) {
    std::string a = ip;
    if (a.find('/') == std::string::npos) a += a.find(':') == std::string::npos ? "/24" : "/64";
    auto p = ParseIpSubnet(a);
    if (!p.ok()) return absl::InvalidArgumentError(absl::StrCat("--ip: ", p.status().message()));
    if (absl::Status c = CheckSourceIp("--ip", p->address); !c.ok()) return c;
    eo.addresses.push_back(a);
  }
  if (absl::GetFlag(FLAGS_mac).empty() && !absl::GetFlag(FLAGS_tap).empty()) {
    // Our endpoint is the far end of the TAP: it must not share the host side's MAC.
    eo.mac = *MacAddress::Parse("02:72:73:00:fe:01");
  } else if (absl::GetFlag(FLAGS_mac).empty()) {
    auto mac = InterfaceMac(ifname);
    if (!mac.ok()) return mac.status();
    eo.mac.bytes = *mac;
  } else {
    auto mac = ParseMacFlag("--mac", absl::GetFlag(FLAGS_mac));
    if (!mac.ok()) return mac.status();
    if (absl::Status c = CheckSourceMac("--mac", *mac); !c.ok()) return c;
    eo.mac = *mac;
  }
  auto vlans = ParseVlanList("--vlan", absl::GetFlag(FLAGS_vlan));
  if (!vlans.ok()) return vlans.status();
  eo.vlans = *vlans;
  if (const std::string gw = absl::GetFlag(FLAGS_gateway); !gw.empty()) {
    auto g = ParseIpFlag("--gateway", gw);
    if (!g.ok()) return g.status();
    (g->is_v4() ? eo.gateway4 : eo.gateway6) = *g;
  }
  auto mode = ParseTstampMode(absl::GetFlag(FLAGS_tstamp));
  if (!mode.ok()) return mode.status();
  auto tap = MaybeCreateTap(1);
  if (!tap.ok()) return tap.status();
  h.tap = std::move(*tap);
  // Before the NIC's config is changed: a signal during setup restores it. Once the run
  // starts, InstallSignals replaces these with the clean stop, which restores only after
  // the last probe's stamps were read.
  InstallHwTimestampingRestoreHandlers();
  auto plan =
      PlanTimestamping(ifname, h.tap ? TstampMode::kSoftware : *mode, /*rx=*/true, /*tx=*/true);
  if (!plan.ok()) return plan.status();
  h.plan = std::move(*plan);
  if (!json) std::fprintf(stderr, "%s\n", h.plan.note.c_str());

  // Stamps, PHC mapping and TX stamp timeout from the plan; the rest is this command's.
  RelayOptions ro = RelayOptions::FromPlan(ifname, h.plan);
  ro.engine.tap = h.tap.get();
  ro.engine.workers = 1;
  const int cpu = absl::GetFlag(FLAGS_cpu);
  if (cpu >= 0) ro.engine.cpus = {cpu};
  ro.engine.rx_mode = RxMode::kImmediate;
  ro.engine.wait_mode = absl::GetFlag(FLAGS_busy_poll) ? WaitMode::kBusyPoll : WaitMode::kIoUring;
  const std::string via = absl::GetFlag(FLAGS_tx_stamps_via);
  if (via == "auto") {
    ro.engine.tx_stamp_transport = TxTransport::kAuto;
  } else if (via == "io_uring") {
    ro.engine.tx_stamp_transport = TxTransport::kIoUring;
  } else if (via == "errqueue") {
    ro.engine.tx_stamp_transport = TxTransport::kErrorQueue;
  } else {
    return absl::InvalidArgumentError(
        absl::StrFormat("--tx-stamps-via %s: use auto, io_uring or errqueue", ToAbsl(via)));
  }
  ro.engine.ring_budget_bytes = 8ull << 20;
  auto relay = PacketRelay::Create(ro);
  if (!relay.ok()) return relay.status();
  h.relay = std::move(*relay);
  auto conn = h.relay->NewEtherConn(eo);
  if (!conn.ok()) return conn.status();
  h.conn = std::move(*conn);
  if (!h.relay->engine().warnings().empty() && !json) {
    std::fprintf(stderr, "%s", h.relay->engine().warnings().c_str());
  }
  (void)cmd;
  return h;
}

void InstallSignals(PacketRelay& relay) {
  AddStopCallback(OnStop);
  InstallStopSignals(nullptr);  // the relay is stopped by the command itself
  (void)relay;
}

// The reflector's counters at the start of the current --report-every window.
struct ReflectorInterval {
  int64_t start_ns = 0;
  uint64_t reflected = 0, dropped = 0, rx_stamp_missing = 0, tx_stamps_missing = 0;
  uint64_t tlv_malformed = 0, malformed = 0;
};

// Prints the window [iv.start_ns, end_ns) (counter deltas; sessions as now; the t3 error of
// the window's replies, `t3_window`, and since the start) and starts the next one.
void PrintReflectorInterval(ReflectorInterval& iv, int64_t end_ns, const ReflectorSummary& rs,
                            const LatencySummary& t3_window, const EtherConnStats& cs, bool json) {
  uint64_t dropped = 0;
  for (uint64_t d : rs.dropped) dropped += d;
  const ReflectorInterval now{
      end_ns,           rs.reflected, dropped, rs.rx_stamp_missing, rs.tx_stamps_missing,
      rs.tlv_malformed, cs.malformed};
  if (json) {
    PrintJsonLine("server_interval",
                  {{"start_ns", iv.start_ns},
                   {"end_ns", end_ns},
                   {"sessions", rs.sessions},
                   {"reflected", now.reflected - iv.reflected},
                   {"dropped", now.dropped - iv.dropped},
                   {"rx_stamp_missing", now.rx_stamp_missing - iv.rx_stamp_missing},
                   {"tx_stamps_missing", now.tx_stamps_missing - iv.tx_stamps_missing},
                   {"tlv_malformed", now.tlv_malformed - iv.tlv_malformed},
                   {"malformed", now.malformed - iv.malformed},
                   {"t3_error_ns", LatencyToJson(t3_window)},
                   {"t3_error_since_start_ns", LatencyToJson(rs.t3_error)},
                   {"t3_offset_ns", rs.t3_offset_ns}});
  } else {
    // A distribution without samples has no percentiles to print.
    const auto p50_max = [](const LatencySummary& l) {
      return l.count == 0 ? std::string("none")
                          : absl::StrCat("p50 ", FormatDurationUs(l.p50), " max ",
                                         FormatDurationUs(l.max), " (", l.count, " TX stamps)");
    };
    std::printf(
        "interval +%.3gs: reflected %llu, dropped %llu, sessions %llu, malformed %llu, no RX "
        "stamp %llu, no TX stamp %llu; t3 error (kernel TX stamp - estimate) %s, since start "
        "%s; estimate = clock read + %s\n",
        static_cast<double>(end_ns - iv.start_ns) / 1e9,
        static_cast<unsigned long long>(now.reflected - iv.reflected),
        static_cast<unsigned long long>(now.dropped - iv.dropped),
        static_cast<unsigned long long>(rs.sessions),
        static_cast<unsigned long long>(now.malformed - iv.malformed),
        static_cast<unsigned long long>(now.rx_stamp_missing - iv.rx_stamp_missing),
        static_cast<unsigned long long>(now.tx_stamps_missing - iv.tx_stamps_missing),
        p50_max(t3_window).c_str(), p50_max(rs.t3_error).c_str(),
        FormatDurationUs(rs.t3_offset_ns).c_str());
    std::fflush(stdout);
  }
  iv = now;
}

// --metrics: the address, parsed before anything is set up (a usage error exits 2).
absl::StatusOr<std::optional<MetricsAddress>> MetricsFlag() {
  const std::string text = absl::GetFlag(FLAGS_metrics);
  if (text.empty()) return std::optional<MetricsAddress>();
  auto a = ParseMetricsAddress(text);
  if (!a.ok()) return a.status();
  return std::optional<MetricsAddress>(*std::move(a));
}

// Labels on every series: the interface and the --label pairs.
MetricLabels BaseMetricLabels() {
  const JsonOrigin& o = CurrentJsonOrigin();
  MetricLabels out = {{"interface", o.interface}};
  for (const auto& [k, v] : o.labels) {
    if (k != "interface") out.emplace_back(k, v);
  }
  return out;
}

// The /metrics endpoint serving `metrics` when --metrics was given; nullptr otherwise.
absl::StatusOr<std::unique_ptr<MetricsServer>> ServeMetrics(
    const std::optional<MetricsAddress>& address, const ProbeMetrics& metrics) {
  if (!address) return std::unique_ptr<MetricsServer>();
  return MetricsServer::Start(*address, [&metrics](MetricsFormat f) { return metrics.Render(f); });
}

std::optional<PhcMetrics> PhcMetricsOf(const TimestampingPlan& plan) {
  if (!UsesPhcMapping(plan)) return std::nullopt;
  const PhcClockStats p = plan.phc_map->Stats();
  return PhcMetrics{.uncertainty_seconds = static_cast<double>(p.uncertainty_ns) / 1e9,
                    .updates = p.updates,
                    .failures = p.failures};
}

int RunServer(const CommandArgs& args) {
  const std::string cmd = "probe server";
  if (!args.positional.empty())
    return Fail(cmd, absl::InvalidArgumentError("unexpected argument " + args.positional[0]));
  const bool json = absl::GetFlag(FLAGS_json);
  const int port = absl::GetFlag(FLAGS_port);
  if (port < 1 || port > 65535)
    return Fail(cmd, absl::InvalidArgumentError("--port must be 1..65535"));
  const double duration = absl::GetFlag(FLAGS_duration);
  if (absl::Status c = CheckDurationSeconds("--duration", duration); !c.ok()) return Fail(cmd, c);
  auto metrics_address = MetricsFlag();
  if (!metrics_address.ok()) return Fail(cmd, metrics_address.status());
  const std::string t3_estimate = absl::GetFlag(FLAGS_t3_estimate);
  if (t3_estimate != "learned" && t3_estimate != "clock") {
    return Fail(cmd, absl::InvalidArgumentError(absl::StrCat(
                         "--t3-estimate must be learned or clock, not \"", t3_estimate, "\"")));
  }
  const bool learn_t3_latency = t3_estimate == "learned";
  auto host = SetUpHost(cmd, json);
  if (!host.ok()) return Fail(cmd, host.status());
  // The error estimate and S bit from the clock's real state (adjtimex, PHC mapping).
  ProbeReflectorOptions reflector;
  if (duration <= 0) reflector.max_exact_samples = kContinuousMaxExactSamples;  // flat memory
  reflector.error_estimate = ClockErrorEstimate(host->plan.phc_map.get(), /*ptp_format=*/false);
  reflector.tai_utc_offset_s = TaiUtcOffsetSeconds();
  reflector.learn_t3_latency = learn_t3_latency;
  auto report_every = ParseReportEvery(absl::GetFlag(FLAGS_report_every));
  if (!report_every.ok()) return Fail(cmd, report_every.status());
  auto server = ProbeServer::Create(host->conn,
                                    {.port = static_cast<uint16_t>(port), .reflector = reflector});
  if (!server.ok()) return Fail(cmd, server.status());
  ProbeMetrics metrics(BaseMetricLabels(), CurrentJsonOrigin().version);
  auto publish = [&] {
    metrics.SetReflector((*server)->Summary(), host->conn->Stats(), (*server)->send_failures());
    metrics.SetPhc(PhcMetricsOf(host->plan));
  };
  publish();
  auto metrics_server = ServeMetrics(*metrics_address, metrics);
  if (!metrics_server.ok()) return Fail(cmd, metrics_server.status());
  InstallSignals(*host->relay);
  if (absl::Status s = host->relay->Start(); !s.ok()) return Fail(cmd, s);
  {
    // On stderr also with --json (the JSON is on stdout): scripts wait for this line.
    std::string addrs;
    for (const auto& a : host->conn->addresses())
      absl::StrAppend(&addrs, addrs.empty() ? "" : ", ", a.address.ToString());
    std::fprintf(stderr, "STAMP reflector on %s, %s port %d (MAC %s); ARP/NDP and ping answered\n",
                 absl::GetFlag(FLAGS_i).c_str(), addrs.c_str(), port,
                 host->conn->mac().ToString().c_str());
  }
  const int64_t end = duration > 0 ? MonotonicNs() + static_cast<int64_t>(duration * 1e9) : 0;
  std::optional<LinkReporter> link;
  if (!host->tap) link.emplace(absl::GetFlag(FLAGS_i), json);
  // --report-every: the reflector's counters per window (aligned to the clock like the
  // client's), from the main thread; a worker waits only while the reflector's lock is held to
  // take the window's t3 errors and the counters.
  ReflectorInterval interval{.start_ns = RealtimeNs()};
  int64_t next_report = *report_every > 0 ? NextBoundary(interval.start_ns, *report_every) : 0;
  if (next_report > 0) (void)(*server)->TakeT3ErrorWindow();  // the first window starts here
  int64_t next_publish = MonotonicNs();
  while (!g_stop.load() && (end == 0 || MonotonicNs() < end)) {
    if (link) link->Poll();
    if (*metrics_server && MonotonicNs() >= next_publish) {
      publish();  // the scrape reads this copy: no scrape ever waits for the reflector
      next_publish = MonotonicNs() + 500'000'000;
    }
    if (next_report > 0 && RealtimeNs() >= next_report) {
      const LatencySummary t3_window = (*server)->TakeT3ErrorWindow();
      PrintReflectorInterval(interval, next_report, (*server)->Summary(), t3_window,
                             host->conn->Stats(), json);
      next_report = NextBoundary(RealtimeNs(), *report_every);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // last TX stamps
  ReflectorSummary rs = (*server)->Summary();
  EtherConnStats cs = host->conn->Stats();
  host->relay->Stop();
  if (json) {
    nlohmann::json j = ReflectorSummaryToJson(rs);
    if (auto phc = PhcMappingJson(host->plan)) j["phc_mapping"] = std::move(*phc);
    j["arp_answered"] = cs.arp_answered;
    j["ndp_answered"] = cs.ndp_answered;
    j["echo_answered"] = cs.echo_answered;
    j["malformed"] = cs.malformed;      // IP/ARP/ICMP/UDP headers that did not parse
    j["not_ours"] = cs.not_ours;        // IP packets for addresses it does not own
    j["udp_no_port"] = cs.udp_no_port;  // UDP to one of its addresses, another port
    j["send_failures"] = (*server)->send_failures();
    j["link_outages"] = link ? link->outages() : 0;
    PrintJsonLine("server_summary", std::move(j));
  } else {
    std::printf("%s\n", FormatReflectorSummary(rs, "reflector").c_str());
    if (const std::string phc = PhcMappingLine(host->plan); !phc.empty()) {
      std::printf("%s\n", phc.c_str());
    }
    std::printf("host duties: %llu ARP, %llu NDP, %llu ping answered; %llu replies not sent\n",
                static_cast<unsigned long long>(cs.arp_answered),
                static_cast<unsigned long long>(cs.ndp_answered),
                static_cast<unsigned long long>(cs.echo_answered),
                static_cast<unsigned long long>((*server)->send_failures()));
    if (link && link->outages() > 0) std::printf("link outages: %d\n", link->outages());
  }
  if (link && link->gone()) {
    std::fprintf(stderr, "ringstamp %s: the interface was removed\n", cmd.c_str());
    return kExitFailure;
  }
  return kExitOk;
}

absl::StatusOr<ProbeMode> ParseModeFlag(std::string_view text) {
  if (text == "stamp") return ProbeMode::kStamp;
  if (text == "icmp") return ProbeMode::kIcmpEcho;
  return absl::InvalidArgumentError(absl::StrFormat(
      "--mode must be stamp (UDP STAMP to a reflector) or icmp (ICMP echo to any host), got '%s'",
      ToAbsl(text)));
}

std::atomic<bool> g_reload{false};
void OnReloadSignal(int) { g_reload.store(true); }

// The targets of the run: --server (repeatable) or --targets FILE, not both.
absl::StatusOr<std::vector<ProbeTarget>> ReadTargets(uint16_t default_port, bool with_port) {
  const std::vector<std::string> servers = absl::GetFlag(FLAGS_server);
  const std::string file = absl::GetFlag(FLAGS_targets);
  if (!servers.empty() && !file.empty()) {
    return absl::InvalidArgumentError(
        "--server and --targets both given: name the targets one way (the file may hold any "
        "number)");
  }
  if (!file.empty()) return ReadTargetsFile(file, default_port, with_port);
  if (servers.empty()) {
    return absl::InvalidArgumentError(
        "--server ADDR (the reflector, or with --mode icmp any host; repeatable) or --targets "
        "FILE is required");
  }
  std::vector<ProbeTarget> out;
  for (const std::string& spec : servers) {
    auto t = ParseTargetSpec(spec, "--server", default_port, with_port);
    if (!t.ok()) return t.status();
    for (const ProbeTarget& o : out) {
      if (o.ip == t->ip && o.port == t->port) {
        return absl::InvalidArgumentError(
            absl::StrFormat("--server %s given twice", ToAbsl(t->Name())));
      }
    }
    out.push_back(*std::move(t));
  }
  if (out.size() > kMaxProbeTargets) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "more than %d --server targets; split them across clients", kMaxProbeTargets));
  }
  return out;
}

// Every target must be a peer (not one of our own addresses).
absl::Status CheckTargets(const std::vector<ProbeTarget>& targets, std::string_view where) {
  const auto own = OwnAddresses(absl::GetFlag(FLAGS_ip));
  for (const ProbeTarget& t : targets) {
    if (absl::Status c = CheckPeerAddress(where, t.ip, own); !c.ok()) return c;
  }
  return absl::OkStatus();
}

int RunClient(const CommandArgs& args) {
  const std::string cmd = "probe client";
  if (!args.positional.empty())
    return Fail(cmd, absl::InvalidArgumentError("unexpected argument " + args.positional[0]));
  const bool json = absl::GetFlag(FLAGS_json);
  auto mode = ParseModeFlag(absl::GetFlag(FLAGS_mode));
  if (!mode.ok()) return Fail(cmd, mode.status());
  const bool icmp = *mode == ProbeMode::kIcmpEcho;
  const int port = absl::GetFlag(FLAGS_port);
  if (port < 1 || port > 65535)
    return Fail(cmd, absl::InvalidArgumentError("--port must be 1..65535"));
  if (icmp && port != static_cast<int>(kStampPort)) {
    return Fail(cmd, absl::InvalidArgumentError(
                         "--port does not apply to --mode icmp: ICMP echo has no port"));
  }
  auto targets = ReadTargets(static_cast<uint16_t>(port), !icmp);
  if (!targets.ok()) return Fail(cmd, targets.status());
  const std::string targets_file = absl::GetFlag(FLAGS_targets);
  if (absl::Status c = CheckTargets(*targets, targets_file.empty() ? "--server" : targets_file);
      !c.ok()) {
    return Fail(cmd, c);
  }
  const bool many = targets->size() > 1 || !targets_file.empty();
  if (absl::Status c = CheckCount("--count", absl::GetFlag(FLAGS_count)); !c.ok()) {
    return Fail(cmd, c);
  }
  if (absl::Status c = CheckDurationSeconds("--duration", absl::GetFlag(FLAGS_duration)); !c.ok()) {
    return Fail(cmd, c);
  }
  if (!many) SetJsonTarget((*targets)[0].Name());
  if (icmp && absl::GetFlag(FLAGS_clocks_synchronised)) {
    return Fail(cmd, absl::InvalidArgumentError(
                         "--clocks-synchronised does not apply to --mode icmp: without reflector "
                         "stamps there are no one-way delays to report"));
  }
  auto max_loss = ParseMaxLoss(absl::GetFlag(FLAGS_max_loss));
  if (!max_loss.ok()) return Fail(cmd, max_loss.status());
  auto report_every = ParseReportEvery(absl::GetFlag(FLAGS_report_every));
  if (!report_every.ok()) return Fail(cmd, report_every.status());
  auto interval = ParseDurationNs("--interval", absl::GetFlag(FLAGS_interval));
  if (!interval.ok()) return Fail(cmd, interval.status());
  if (*interval < 0) {
    return Fail(cmd, absl::InvalidArgumentError(
                         "--interval must be a duration ≥ 0 (0: back to back, each probe when the "
                         "one before it is answered)"));
  }
  // How the runs' lines and reports name the pace.
  const std::string pace = *interval == 0 ? std::string("back to back")
                                          : absl::StrCat("every ", absl::GetFlag(FLAGS_interval));
  const std::string plot = absl::GetFlag(FLAGS_plot);
  if (!plot.empty() && many) {
    return Fail(cmd, absl::InvalidArgumentError(
                         "--plot draws one target's run: give one --server (run a client per "
                         "target to plot each)"));
  }
  const std::string report_path = absl::GetFlag(FLAGS_report);
  if (!report_path.empty() && many) {
    return Fail(cmd, absl::InvalidArgumentError(
                         "--report describes one target's run: give one --server (run a client "
                         "per target to report each)"));
  }
  for (const auto& [path, flag] : {std::pair<std::string, const char*>{plot, "--plot"},
                                   {report_path, "--report"}}) {  // now, not after the run
    if (path.empty()) continue;
    if (absl::Status s = CheckPlotWritable(path, flag); !s.ok()) return Fail(cmd, s);
  }
  const bool keep_series = !plot.empty() || !report_path.empty();
  ProbeFleet::Options fo;
  ProbeSenderOptions& so = fo.stamp;
  so.count = static_cast<uint64_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_count)));
  so.interval_ns = *interval;
  IcmpEchoSenderOptions& io = fo.echo;
  const int size = absl::GetFlag(FLAGS_size);
  if (icmp && size != 0) {
    // Echo data after the ICMP header in one 1500-byte packet: 1500 - 20 - 8 or 1500 - 40 - 8.
    const bool any_v6 = std::any_of(targets->begin(), targets->end(),
                                    [](const ProbeTarget& t) { return t.ip.is_v6(); });
    const int max = any_v6 ? 1452 : 1472;
    if (size < static_cast<int>(kIcmpProbeHeaderSize) || size > max) {
      return Fail(cmd,
                  absl::InvalidArgumentError(absl::StrFormat(
                      "--size with --mode icmp is the echo data: %d..%d bytes over %s (the "
                      "first %d carry the sequence number and t1)",
                      kIcmpProbeHeaderSize, max, any_v6 ? "IPv6" : "IPv4", kIcmpProbeHeaderSize)));
    }
    io.data_size = static_cast<size_t>(size);
  } else if (size != 0) {
    if (size < 44 || size > 1472) {
      return Fail(
          cmd, absl::InvalidArgumentError("--size must be 44..1472 (a STAMP packet is 44 bytes)"));
    }
    so.packet_size = static_cast<size_t>(size);
  }
  if (const std::string t = absl::GetFlag(FLAGS_timeout); !t.empty()) {
    auto timeout = ParseDurationNs("--timeout", t);
    if (!timeout.ok()) return Fail(cmd, timeout.status());
    so.timeout_ns = *timeout;
  }
  so.clocks_synchronised = absl::GetFlag(FLAGS_clocks_synchronised);
  so.tx_stamp_wait_ns = 50'000'000;  // a reply waits this long for its probe's TX stamp
  io.count = so.count;
  io.interval_ns = so.interval_ns;
  io.timeout_ns = so.timeout_ns;
  io.tx_stamp_wait_ns = so.tx_stamp_wait_ns;
  const int tos = absl::GetFlag(FLAGS_tos);
  if (tos < 0 || tos > 255) return Fail(cmd, absl::InvalidArgumentError("--tos must be 0..255"));
  fo.icmp = icmp;
  fo.tos = static_cast<uint8_t>(tos);
  fo.report_every_ns = *report_every;
  const double duration = absl::GetFlag(FLAGS_duration);
  if (so.count == 0 && duration <= 0) {
    if (!json) std::fprintf(stderr, "no --count or --duration: probing until SIGINT\n");
  }
  if ((so.count == 0 && duration <= 0) || *report_every > 0) {
    // A run that goes on until stopped keeps flat memory: its summary's distributions turn
    // into histograms early (≤ 0.2 % percentile error) instead of keeping 4 M samples each.
    so.max_exact_samples = io.max_exact_samples = kContinuousMaxExactSamples;
  }
  auto metrics_address = MetricsFlag();
  if (!metrics_address.ok()) return Fail(cmd, metrics_address.status());
  auto host = SetUpHost(cmd, json);
  if (!host.ok()) return Fail(cmd, host.status());
  so.error_estimate = ClockErrorEstimate(host->plan.phc_map.get(), so.error_estimate.ptp_format);
  so.tai_utc_offset_s = TaiUtcOffsetSeconds();
  fo.deadline_mono_ns = duration > 0 ? MonotonicNs() + static_cast<int64_t>(duration * 1e9) : 0;

  const bool quiet = absl::GetFlag(FLAGS_q);  // ping's -q: the summary only
  // Each target's lines: JSON with its own "target" and labels; text prefixed with the target
  // when there are several. Runs on the session's thread with the fleet's output lock held.
  auto report = [&](FleetSession& s, int64_t end_ns) {
    const ProbeWindowSummary w = s.window.Close(end_ns);
    if (json) {
      PrintJsonLine("interval", ProbeWindowToJson(w, *mode, so.clocks_synchronised), s.keys);
    } else {
      std::printf("%s%s\n", many ? absl::StrCat(s.keys.target, ": ").c_str() : "",
                  FormatProbeWindow(w, *mode, so.clocks_synchronised).c_str());
      std::fflush(stdout);
    }
  };
  auto on_result = [&](FleetSession& s, const ProbeResult& r) {
    if (s.next_report_ns > 0) {
      if (const int64_t now = RealtimeNs(); now >= s.next_report_ns) {
        report(s, s.next_report_ns);  // results so far belong to the window that just ended
        s.next_report_ns = NextBoundary(now, *report_every);
      }
      s.window.Add(r);
    }
    if (keep_series) s.plot.Add(r);
    if (quiet) return;
    if (json) {
      PrintJsonLine("probe", ProbeResultToJson(r, so.clocks_synchronised), s.keys);
    } else {
      std::printf("%s%s\n", many ? absl::StrCat(s.keys.target, ": ").c_str() : "",
                  FormatProbeLine(r).c_str());
    }
    std::fflush(stdout);
  };
  ProbeMetrics metrics(BaseMetricLabels(), CurrentJsonOrigin().version);
  auto metrics_server = ServeMetrics(*metrics_address, metrics);
  if (!metrics_server.ok()) return Fail(cmd, metrics_server.status());
  if (*metrics_server) {
    fo.on_start = [&metrics](FleetSession& s) {
      MetricLabels labels = {{"target", s.keys.target}};
      for (const auto& [k, v] : s.keys.labels) labels.emplace_back(k, v);
      metrics.AddTarget(s.keys.target, labels);
    };
  }
  ProbeFleet fleet(host->conn, fo, [&](FleetSession& s, const ProbeResult& r) {
    if (*metrics_server) metrics.Observe(s.keys.target, r);
    on_result(s, r);
  });
  InstallSignals(*host->relay);
  if (!targets_file.empty()) {
    // SIGHUP re-reads the targets file (instead of stopping the run, as it does elsewhere).
    struct sigaction sa {};
    sa.sa_handler = OnReloadSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, nullptr);
  }
  if (absl::Status s = host->relay->Start(); !s.ok()) return Fail(cmd, s);
  for (const ProbeTarget& t : *targets) {
    if (absl::Status s = fleet.Add(t); !s.ok()) {
      fleet.StopAll();
      fleet.Reap([](FleetSession&) {});
      host->relay->Stop();
      return Fail(cmd, s);
    }
  }
  if (!json) {
    // The sessions in the targets' order (each has its client, made by Add).
    fleet.ForEach([&](FleetSession& session) {
      const ProbeTarget& t = session.target;
      const std::string from = host->conn->AddressOf(t.ip.family()).ToString();
      if (session.icmp) {
        // The identifier is what tcpdump shows as "id": the session's echoes among others.
        std::printf("pinging %s from %s %s (ICMP echo id %u, %d data bytes; %s stamps asked)\n",
                    t.ip.ToString().c_str(), from.c_str(), pace.c_str(),
                    static_cast<unsigned>(session.icmp->identifier()),
                    static_cast<int>(io.data_size),
                    std::string(host->plan.rx_source_name()).c_str());
      } else {
        std::printf("probing %s port %d from %s %s (%s stamps asked)\n", t.ip.ToString().c_str(),
                    t.port, from.c_str(), pace.c_str(),
                    std::string(host->plan.rx_source_name()).c_str());
      }
    });
    std::printf("%s\n", FormatProbeLegend(so.clocks_synchronised, *mode).c_str());
  }
  std::optional<LinkReporter> link;
  if (!host->tap) {
    link.emplace(absl::GetFlag(FLAGS_i), json);
    link->StartThread();
  }
  const int64_t run_start_ns = RealtimeNs();

  // Each session's end: its last window, its summary, its verdict. On the main thread with
  // the output lock held.
  int exit_code = kExitOk;
  absl::Status first_error;
  std::vector<ProbeResult> plot_results;
  ProbeSummary plot_summary;
  auto on_end = [&](FleetSession& s) {
    if (*metrics_server) {
      if (s.removed) {
        // No longer probed: its series go, unless a re-read file brought the same target
        // back and a new session already runs (and owns the series) under its name.
        bool again = false;
        fleet.ForEach([&](FleetSession& o) {
          again = again || (&o != &s && !o.removed && o.keys.target == s.keys.target);
        });
        if (!again) metrics.RemoveTarget(s.keys.target);
      } else {
        metrics.SetCounters(s.keys.target, s.summary.counters);
      }
    }
    if (s.next_report_ns > 0 && !s.window.empty()) report(s, RealtimeNs());  // the last window
    if (!s.status.ok()) {
      if (!many) {  // the run's error: reported once, at the end, as before
        first_error = s.status;
        return;
      }
      // One target failed (its neighbour never answered, say): the others go on.
      std::fprintf(stderr, "ringstamp %s: %s: %s\n", cmd.c_str(), s.keys.target.c_str(),
                   std::string(s.status.message()).c_str());
      exit_code = std::max(exit_code, kExitFailure);
      return;
    }
    const std::string title =
        absl::StrCat("probe ", icmp ? "icmp " : "", many ? s.keys.target : s.target.ip.ToString(),
                     s.removed ? " (removed from the targets file)" : "");
    if (json) {
      nlohmann::json j = ProbeSummaryToJson(s.summary);
      j["rx_overhead_ns"] = LatencyToJson(s.rx_overhead);
      if (auto phc = PhcMappingJson(host->plan)) j["phc_mapping"] = std::move(*phc);
      if (icmp) j["identifier"] = s.icmp->identifier();
      j["link_outages"] = link ? link->outages() : 0;
      PrintJsonLine("summary", std::move(j), s.keys);
    } else {
      std::printf("%s\n", FormatProbeSummary(s.summary, title).c_str());
      const LatencySummary& o = s.rx_overhead;
      if (o.count > 0) {
        std::printf("probe's own RX overhead (userspace - kernel software stamp): p50 %s, p99 %s\n",
                    FormatDurationUs(o.p50).c_str(), FormatDurationUs(o.p99).c_str());
      }
      std::fflush(stdout);
    }
    const ProbeVerdict verdict = JudgeProbeRun(s.summary.counters, *max_loss);
    if (verdict.code != kExitOk) {
      std::fprintf(stderr, "ringstamp %s: %s%s\n", cmd.c_str(),
                   many ? absl::StrCat(s.keys.target, ": ").c_str() : "", verdict.why.c_str());
      exit_code = std::max(exit_code, verdict.code);
    }
    if (keep_series) {
      plot_results = s.plot.results();
      plot_summary = s.summary;
    }
  };
  int64_t next_publish = MonotonicNs();
  while (fleet.Reap(on_end)) {
    if (g_stop.load()) fleet.StopAll();
    if (*metrics_server && MonotonicNs() >= next_publish) {
      fleet.ForEach([&](FleetSession& s) { metrics.SetCounters(s.keys.target, s.Counters()); });
      metrics.SetPhc(PhcMetricsOf(host->plan));
      next_publish = MonotonicNs() + 200'000'000;
    }
    if (g_reload.exchange(false)) {
      auto next = ReadTargetsFile(targets_file, static_cast<uint16_t>(port), !icmp);
      if (next.ok()) {
        if (absl::Status c = CheckTargets(*next, targets_file); !c.ok()) next = c;
      }
      std::lock_guard<std::mutex> l(fleet.output_mutex());
      if (!next.ok()) {
        std::fprintf(stderr, "ringstamp %s: SIGHUP: %s; probing the targets as they were\n",
                     cmd.c_str(), std::string(next.status().message()).c_str());
      } else if (auto change = fleet.Reconcile(*next); !change.ok()) {
        std::fprintf(stderr, "ringstamp %s: SIGHUP: %s\n", cmd.c_str(),
                     std::string(change.status().message()).c_str());
      } else {
        std::fprintf(stderr, "ringstamp %s: SIGHUP: %s re-read: %zu added, %zu removed, %zu kept\n",
                     cmd.c_str(), targets_file.c_str(), change->added, change->removed,
                     change->kept);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  host->relay->Stop();
  if (link) link->StopThread();
  if (!first_error.ok()) return Fail(cmd, first_error);
  if (!json) {
    if (const std::string phc = PhcMappingLine(host->plan); !phc.empty()) {
      std::printf("%s\n", phc.c_str());
    }
    if (link && link->outages() > 0) {
      std::printf("link outages: %d (lines above say when)\n", link->outages());
    }
  }
  if (keep_series) {
    const ProbeTarget& t = (*targets)[0];
    const std::string title =
        absl::StrCat("ringstamp probe ", icmp ? "icmp " : "", "→ ", t.ip.ToString());
    ProbePlotData data = MakeProbePlotData(
        plot_results, plot_summary, title,
        absl::StrCat(icmp ? "ICMP echo (RTT includes the peer's stack), " : "", "probes ", pace,
                     ", ", ToAbsl(host->plan.rx_source_name()), " stamps"));
    if (!plot.empty()) {
      if (absl::Status s = WriteProbeSvg(plot, data); !s.ok()) return Fail(cmd, s);
      if (!json) std::printf("plot: %s\n", plot.c_str());
    }
    if (!report_path.empty()) {
      ProbeReportData r{
          .title = title,
          .origin = CurrentJsonOrigin(),
          .start_ns = run_start_ns,
          .end_ns = RealtimeNs(),
          .settings = absl::StrCat("probes ", pace,
                                   so.count > 0 ? absl::StrCat(", ", so.count, " probes") : "",
                                   ", ", ToAbsl(host->plan.rx_source_name()), " stamps asked"),
          .timestamping = host->plan.note,
          .summary = plot_summary,
          .results = plot_results,
          .plot = data};
      r.origin.target = t.Name();
      if (absl::Status s = WriteProbeReport(report_path, r); !s.ok()) return Fail(cmd, s);
      if (!json) std::printf("report: %s\n", report_path.c_str());
    }
  }
  if (link && link->gone()) {
    std::fprintf(stderr, "ringstamp %s: the interface was removed\n", cmd.c_str());
    return kExitFailure;
  }
  return exit_code;
}

}  // namespace

RINGSTAMP_COMMAND(probe_server, "probe server",
                  "answer STAMP probes (RFC 8762) with hardware/software stamps",
                  (std::vector<std::string>{"i", "ip", "mac", "vlan", "port", "duration", "tstamp",
                                            "json", "label", "gateway", "busy_poll", "cpu", "tap",
                                            "tap_ip", "tx_stamps_via", "t3_estimate",
                                            "report_every", "metrics"}),
                  RunServer);
RINGSTAMP_COMMAND(probe_client, "probe client",
                  "probe a STAMP reflector (RTT, dwell, network RTT per probe) or, with --mode "
                  "icmp, any host with ICMP echo (RTT)",
                  (std::vector<std::string>{"i",
                                            "ip",
                                            "mac",
                                            "vlan",
                                            "server",
                                            "targets",
                                            "port",
                                            "count",
                                            "interval",
                                            "q",
                                            "size",
                                            "tos",
                                            "json",
                                            "label",
                                            "plot",
                                            "report",
                                            "tstamp",
                                            "gateway",
                                            "timeout",
                                            "duration",
                                            "clocks_synchronised",
                                            "busy_poll",
                                            "cpu",
                                            "tap",
                                            "tap_ip",
                                            "mode",
                                            "max_loss",
                                            "report_every",
                                            "tx_stamps_via",
                                            "metrics"}),
                  RunClient);

}  // namespace ringstamp::app
