// ringstamp gen: UDP traffic from the TX rings of one or more workers.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "apps/cli_parse.h"
#include "apps/command.h"
#include "apps/common_flags.h"
#include "apps/input_checks.h"
#include "apps/json_line.h"
#include "apps/run_engine.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/engine.h"
#include "ringstamp/engine/timestamping_plan.h"
#include "ringstamp/engine/traffic_generator.h"
#include "ringstamp/ring/packet_socket.h"
#include "ringstamp/ring/ring_setup.h"
#include "ringstamp/ring/tx_ring.h"

ABSL_FLAG(std::string, dst_mac, "", "destination MAC address");
ABSL_FLAG(std::string, src_mac, "", "source MAC address (default: the interface's)");
ABSL_FLAG(std::string, src_ip, "", "source IPv4 or IPv6 address");
ABSL_FLAG(std::string, dst_ip, "", "destination IPv4 or IPv6 address");
ABSL_FLAG(int32_t, src_port, 10000, "first UDP source port (one per flow from here)");
ABSL_FLAG(int32_t, dst_port, 9, "UDP destination port");
ABSL_FLAG(double, rate, 0, "frames per second over all workers (0: as fast as possible)");
ABSL_FLAG(int32_t, burst, 0,
          "frames per kick (0: every free TX ring slot without --rate and --tx-stamps, else 256)");
ABSL_FLAG(int32_t, flows, 1, "flows (source ports varied) so receivers can fan out");
ABSL_FLAG(bool, tx_stamps, false, "collect a TX stamp for every frame and report their spacing");

namespace ringstamp::app {
namespace {

struct Spacing {
  int64_t min = 0, p50 = 0, p99 = 0, max = 0;
  double mean = 0;
};

Spacing Summarise(std::vector<int64_t> v) {
  Spacing s;
  if (v.empty()) return s;
  auto at = [&](double q) {
    size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return v[k];
  };
  s.p50 = at(0.5);
  s.p99 = at(0.99);
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  double sum = 0;
  for (int64_t x : v) sum += static_cast<double>(x);
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

constexpr uint32_t kPacedBurst = 256;
// TX ring: 8192 slots (one lap per kick when unpaced keeps the ring in cache), at most
// 16 MiB for large frames.
constexpr uint32_t kRingSlots = 8192;
constexpr uint64_t kMaxRingBytes = 16ull << 20;

// The smallest TX slot for a frame of `size` bytes: ring header, virtio_net_hdr (when
// the ring uses one) and the frame, in TPACKET_ALIGNMENT steps; above 2048 bytes whole
// pages, so the part the kernel references from the ring (beyond tx_linear_bytes)
// spans as few pages as possible.
uint32_t TxSlotSize(uint32_t size) {
  const uint32_t need = TxRing::kDataOffset + TxRing::kVnetHdrLen + size;
  if (need <= 2048) return (need + TPACKET_ALIGNMENT - 1) / TPACKET_ALIGNMENT * TPACKET_ALIGNMENT;
  return (need + 4095) / 4096 * 4096;
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "ringstamp gen: %s\n", std::string(s.message()).c_str());
  return s.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

int RunGen(const CommandArgs& args) {
  if (!args.positional.empty()) {
    return Fail(absl::InvalidArgumentError("unexpected argument '" + args.positional[0] + "'"));
  }
  const std::string ifname = absl::GetFlag(FLAGS_i);
  if (ifname.empty()) return Fail(absl::InvalidArgumentError("-i IFACE is required"));
  TrafficGenOptions g;
  auto dst_mac = ParseMacFlag("--dst-mac", absl::GetFlag(FLAGS_dst_mac));
  if (!dst_mac.ok()) return Fail(dst_mac.status());
  g.spec.dst_mac = *dst_mac;
  if (absl::GetFlag(FLAGS_src_mac).empty()) {
    auto mac = InterfaceMac(ifname);
    if (!mac.ok()) return Fail(mac.status());
    g.spec.src_mac.bytes = *mac;
  } else {
    auto mac = ParseMacFlag("--src-mac", absl::GetFlag(FLAGS_src_mac));
    if (!mac.ok()) return Fail(mac.status());
    if (absl::Status c = CheckSourceMac("--src-mac", *mac); !c.ok()) return Fail(c);
    g.spec.src_mac = *mac;
  }
  auto src = ParseIpFlag("--src-ip", absl::GetFlag(FLAGS_src_ip));
  if (!src.ok()) return Fail(src.status());
  auto dst = ParseIpFlag("--dst-ip", absl::GetFlag(FLAGS_dst_ip));
  if (!dst.ok()) return Fail(dst.status());
  if (absl::Status c = CheckSourceIp("--src-ip", *src); !c.ok()) return Fail(c);
  if (src->family() != dst->family()) {
    return Fail(absl::InvalidArgumentError("--src-ip and --dst-ip must both be IPv4 or both IPv6"));
  }
  g.spec.src = *src;
  g.spec.dst = *dst;
  auto vlans = ParseVlanList("--vlan", absl::GetFlag(FLAGS_vlan));
  if (!vlans.ok()) return Fail(vlans.status());
  g.spec.vlans = *vlans;
  const int src_port = absl::GetFlag(FLAGS_src_port), dst_port = absl::GetFlag(FLAGS_dst_port);
  const int flows = absl::GetFlag(FLAGS_flows);
  if (src_port < 1 || src_port > 65535 || dst_port < 1 || dst_port > 65535) {
    return Fail(absl::InvalidArgumentError("--src-port and --dst-port must be 1..65535"));
  }
  if (flows < 1 || src_port + flows - 1 > 65535) {
    return Fail(absl::InvalidArgumentError(
        absl::StrFormat("--flows %d from --src-port %d runs past port 65535", flows, src_port)));
  }
  g.spec.src_port = static_cast<uint16_t>(src_port);
  g.spec.dst_port = static_cast<uint16_t>(dst_port);
  g.flows = static_cast<uint32_t>(flows);
  const int size = absl::GetFlag(FLAGS_size) == 0 ? 60 : absl::GetFlag(FLAGS_size);
  const size_t min_size = UdpFrameHeaderSize(g.spec);
  if (size < static_cast<int>(min_size) || size > 9216) {
    return Fail(absl::InvalidArgumentError(
        absl::StrFormat("--size %d: frames here need %u to 9216 bytes (headers take %u)", size,
                        min_size, min_size)));
  }
  g.frame_size = static_cast<uint32_t>(size);
  if (absl::Status c = CheckCount("--count", absl::GetFlag(FLAGS_count)); !c.ok()) return Fail(c);
  const int64_t count = absl::GetFlag(FLAGS_count);  // -c is the same flag (argv_normalize)
  g.count = static_cast<uint64_t>(count);
  g.rate_pps = absl::GetFlag(FLAGS_rate);
  if (absl::Status c = CheckRate("--rate", g.rate_pps); !c.ok()) return Fail(c);
  const int burst = absl::GetFlag(FLAGS_burst);
  if (burst < 0 || burst > 65536)
    return Fail(absl::InvalidArgumentError("--burst must be 0..65536 (0: automatic)"));
  g.tx_stamps = absl::GetFlag(FLAGS_tx_stamps);
  auto tstamp = ParseTstampMode(absl::GetFlag(FLAGS_tstamp));
  if (!tstamp.ok()) return Fail(tstamp.status());
  if (*tstamp != TstampMode::kAuto && !g.tx_stamps) {
    return Fail(absl::InvalidArgumentError(
        "--tstamp chooses the source of TX stamps; add --tx-stamps to collect them"));
  }
  // Automatic burst: unpaced and unstamped, fill the whole ring before each kick (the
  // kernel then sends the lap in one call); paced, 256 at most per wake-up; stamped,
  // 256 per kick so the stamps of one kick fit the socket's error queue (SO_RCVBUF).
  g.burst = burst > 0 ? static_cast<uint32_t>(burst)
                      : (g.rate_pps == 0 && !g.tx_stamps ? 0 : kPacedBurst);
  const double duration = absl::GetFlag(FLAGS_duration);
  if (absl::Status c = CheckDurationSeconds("--duration", duration); !c.ok()) return Fail(c);
  if (count == 0 && duration == 0) {
    std::fprintf(stderr, "ringstamp gen: no --count or --duration: sending until SIGINT\n");
  }
  const int workers = absl::GetFlag(FLAGS_workers);
  if (workers < 1 || workers > 256)
    return Fail(absl::InvalidArgumentError("--workers must be 1..256"));

  // TX stamps: hardware from the NIC when the plan switched it on (restored on
  // exit), else software; the NIC is left alone without --tx-stamps.
  std::optional<TimestampingPlan> plan;
  if (g.tx_stamps) {
    InstallHwTimestampingRestoreHandlers();  // before the config changes: setup signals restore
    auto p = PlanTimestamping(ifname, *tstamp, /*rx=*/false, /*tx=*/true);
    if (!p.ok()) return Fail(p.status());
    plan.emplace(std::move(*p));
    if (!absl::GetFlag(FLAGS_json)) std::fprintf(stderr, "%s\n", plan->note.c_str());
    g.hardware_tx_stamps = plan->hardware_tx;
  }

  EngineOptions eo;
  eo.ifname = ifname;
  eo.workers = workers;
  eo.rx = false;
  eo.tx = true;
  eo.tx_frame_size = TxSlotSize(static_cast<uint32_t>(size));
  eo.ring_budget_bytes = std::min<uint64_t>(kMaxRingBytes, uint64_t{kRingSlots} * eo.tx_frame_size);
  if (absl::Status c = CheckRingMemory(workers, eo.ring_budget_bytes, AvailableMemoryBytes());
      !c.ok()) {
    return Fail(c);
  }
  // Unpaced, the worker never sleeps anyway; spinning instead of io_uring keeps a
  // waiter off the TX socket, which the kernel would otherwise wake as each sent
  // frame is freed (~3% of the kernel time per frame on veth).
  if (g.rate_pps == 0) eo.wait_mode = WaitMode::kBusyPoll;
  std::vector<TrafficGenerator*> gens(workers, nullptr);
  auto engine = Engine::Create(eo, [&](int i) {
    auto h = std::make_unique<TrafficGenerator>(g.ShareFor(i, workers));
    gens[i] = h.get();
    return h;
  });
  if (!engine.ok()) return Fail(engine.status());
  if (!(*engine)->warnings().empty()) std::fprintf(stderr, "%s", (*engine)->warnings().c_str());
  // A clean stop restores the NIC after the last TX stamp; a second signal at once.
  InstallStopSignals(engine->get());
  const int64_t t0 = MonotonicNs();
  if (absl::Status s = (*engine)->Start(); !s.ok()) return Fail(s);
  RunEngineLoop(**engine, {.duration_ns = static_cast<int64_t>(duration * 1e9),
                           .live = StderrIsTerminal() && !absl::GetFlag(FLAGS_json),
                           .label = "gen",
                           .done = [&] {
                             return std::all_of(gens.begin(), gens.end(),
                                                [](TrafficGenerator* t) { return t->Done(); });
                           }});
  const double elapsed = static_cast<double>(MonotonicNs() - t0) / 1e9;
  for (TrafficGenerator* t : gens) {
    if (!t->error().empty()) return Fail(absl::InternalError(t->error()));
  }
  EngineStats st = (*engine)->Snapshot();
  uint64_t sent = 0, unsent = 0, stamps = 0, missed = 0, by_hw = 0, by_sw = 0;
  std::vector<int64_t> spacing;
  for (TrafficGenerator* t : gens) {
    sent += t->result().sent;
    unsent += t->result().unsent;
    by_hw += t->result().stamped_hardware;
    by_sw += t->result().stamped_software;
    stamps += t->result().stamps;
    missed += t->result().stamps_missed;
    spacing.insert(spacing.end(), t->result().spacing_ns.begin(), t->result().spacing_ns.end());
  }
  const double pps = elapsed > 0 ? static_cast<double>(sent) / elapsed : 0;
  Spacing sp = Summarise(spacing);
  if (absl::GetFlag(FLAGS_json)) {
    nlohmann::json j = {{"packets_sent", sent},
                        {"bytes", st.total.tx_bytes},
                        {"pps", pps},
                        {"duration_s", elapsed},
                        {"tx_ring_full", st.total.tx_ring_full},
                        {"wrong_format", st.total.tx_wrong_format},
                        {"rejected", st.total.tx_rejected},
                        {"kicks", st.total.tx_kicks},
                        {"kicks_failed", st.total.tx_kicks_failed},
                        {"packets_unsent", unsent},
                        {"workers", workers}};
    if (g.tx_stamps) {
      j["tx_stamps"] = {{"stamps", stamps},
                        {"missed", missed},
                        {"tstamp", std::string(TstampModeName(plan->mode))},
                        {"by_source", {{"hardware", by_hw}, {"software", by_sw}, {"none", missed}}},
                        {"asked_spacing_ns", g.rate_pps > 0 ? 1e9 / g.rate_pps : 0.0},
                        {"spacing_ns",
                         {{"min", sp.min},
                          {"p50", sp.p50},
                          {"p99", sp.p99},
                          {"max", sp.max},
                          {"mean", sp.mean}}}};
    }
    PrintJsonLine("gen", std::move(j));
  } else {
    std::printf("sent %llu frames, %llu bytes in %.3f s: %s pps, %.1f Mbit/s (%d worker%s)\n",
                static_cast<unsigned long long>(sent),
                static_cast<unsigned long long>(st.total.tx_bytes), elapsed, HumanRate(pps).c_str(),
                elapsed > 0 ? static_cast<double>(st.total.tx_bytes) * 8 / elapsed / 1e6 : 0.0,
                workers, workers == 1 ? "" : "s");
    std::printf(
        "TX ring full %llu times, wrong format %llu, rejected %llu, kicks %llu (%llu refused: "
        "link down or queue full, kicked again)\n",
        static_cast<unsigned long long>(st.total.tx_ring_full),
        static_cast<unsigned long long>(st.total.tx_wrong_format),
        static_cast<unsigned long long>(st.total.tx_rejected),
        static_cast<unsigned long long>(st.total.tx_kicks),
        static_cast<unsigned long long>(st.total.tx_kicks_failed));
    if (unsent > 0) {
      std::printf("%llu frames committed but never sent (still in the TX ring at the end)\n",
                  static_cast<unsigned long long>(unsent));
    }
    if (g.tx_stamps) {
      std::printf(
          "TX stamps (--tstamp %s): %llu frames stamped (%llu hardware, %llu software only), %llu "
          "without; software spacing min %lld p50 %lld p99 %lld max %lld mean %.0f ns",
          std::string(TstampModeName(plan->mode)).c_str(), static_cast<unsigned long long>(stamps),
          static_cast<unsigned long long>(by_hw), static_cast<unsigned long long>(by_sw),
          static_cast<unsigned long long>(missed), static_cast<long long>(sp.min),
          static_cast<long long>(sp.p50), static_cast<long long>(sp.p99),
          static_cast<long long>(sp.max), sp.mean);
      if (g.rate_pps > 0) std::printf(" (asked %.0f ns)", 1e9 / g.rate_pps);
      std::printf("\n");
    }
  }
  return kExitOk;
}

}  // namespace

RINGSTAMP_COMMAND(gen, "gen", "send UDP traffic from TX rings (a trafgen replacement)",
                  (std::vector<std::string>{"i", "dst_mac", "src_mac", "src_ip", "dst_ip",
                                            "src_port", "dst_port", "size", "count", "duration",
                                            "rate", "burst", "workers", "vlan", "flows", "json",
                                            "label", "tx_stamps", "tstamp"}),
                  RunGen);

}  // namespace ringstamp::app
