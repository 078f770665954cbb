// probe_embed — a latency tool of its own built on ringstamp's probe sessions (STAMP,
// RFC 8762/8972): a reflector, and a client that prints its own report.
//
//   probe_embed reflect -i IFACE --ip 10.0.0.10/24 [--port 862]
//   probe_embed measure -i IFACE --ip 10.0.0.20/24 --server 10.0.0.10 [--port 862]
//                       [--count 100] [--interval-ms 10]
//
// `measure` talks to any STAMP reflector (`probe_embed reflect`, `ringstamp probe server`,
// another implementation), then prints a histogram of the network RTT (round trip minus the
// time the reflector held the probe, so neither host's stack is in it) in power-of-two
// buckets, and the percentiles of each figure with the stamps each rests on:
//   network RTT, 100 replies of 100 probes (0 lost), stamps: software
//        4 us ..     8 us  |#####                                    |   12
//        8 us ..    16 us  |########################################|   80
//   ...
//   rtt          p50 21.3 us  p99 40.1 us   rests on software (100)
// Exits 1 when no reply came.
//
// What it shows: ProbeServer and ProbeClient on RUDPConns of two EtherConns, results
// streamed to the caller's callback, and the summary's per-figure stamp basis.
#include <signal.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "endpoint.h"
#include "example_args.h"
#include "ringstamp/engine/probe/probe_endpoints.h"

namespace {

using namespace ringstamp;

constexpr char kUsage[] =
    "usage: probe_embed reflect -i IFACE --ip ADDR/PREFIX [--port 862]\n"
    "       probe_embed measure -i IFACE --ip ADDR/PREFIX --server ADDR [--port 862]\n"
    "                           [--count 100] [--interval-ms 10]\n";

// Network RTT histogram: bucket k holds [2^k, 2^(k+1)) microseconds; bucket 0 also < 1 µs.
struct Histogram {
  std::array<uint64_t, 24> buckets{};
  void Add(int64_t ns) {
    int64_t us = ns / 1000;
    size_t k = 0;
    while (us > 1 && k + 1 < buckets.size()) {
      us >>= 1;
      ++k;
    }
    ++buckets[k];
  }
  void Print() const {
    uint64_t peak = 0;
    size_t first = buckets.size(), last = 0;
    for (size_t k = 0; k < buckets.size(); ++k) {
      if (buckets[k] == 0) continue;
      peak = std::max(peak, buckets[k]);
      first = std::min(first, k);
      last = k;
    }
    for (size_t k = first; k <= last && first < buckets.size(); ++k) {
      const int width = static_cast<int>(40 * buckets[k] / peak);
      std::printf("  %8llu us .. %8llu us  |%-40s| %6llu\n", k == 0 ? 0ULL : 1ULL << k,
                  1ULL << (k + 1), std::string(static_cast<size_t>(width), '#').c_str(),
                  static_cast<unsigned long long>(buckets[k]));
    }
  }
};

// The stamp source most of a figure's values rest on, and how many.
std::string Basis(const ProbeSummary& s, ProbeFigure f) {
  std::string out;
  const auto& counts = s.basis[static_cast<size_t>(f)];
  for (size_t src = 0; src < counts.size(); ++src) {
    if (counts[src] == 0) continue;
    out += (out.empty() ? "" : ", ") + std::string(StampSourceName(static_cast<StampSource>(src))) +
           " (" + std::to_string(counts[src]) + ")";
  }
  return out.empty() ? "-" : out;
}

void PrintFigure(const char* name, const LatencySummary& l, const ProbeSummary& s, ProbeFigure f) {
  if (l.count == 0) return;
  std::printf("%-12s p50 %8.1f us  p99 %8.1f us  max %8.1f us   rests on %s\n", name, l.p50 / 1e3,
              l.p99 / 1e3, l.max / 1e3, Basis(s, f).c_str());
}

int Reflect(examples::Args& a) {
  const std::string ifname = a.Required("-i");
  const std::string ip = a.Required("--ip");
  const long port = a.Int("--port", kStampPort, 1, 65535);
  if (!a.Rest().empty() || !a.ok()) return a.Usage(kUsage);
  sigset_t stop = examples::BlockStopSignals();
  auto ep = examples::OpenEndpoint({.ifname = ifname, .addresses = {ip}});
  if (!ep.ok()) {
    std::fprintf(stderr, "probe_embed: %s\n", std::string(ep.status().message()).c_str());
    return 1;
  }
  auto server = ProbeServer::Create((*ep)->conn, {.port = static_cast<uint16_t>(port)});
  if (!server.ok()) {
    std::fprintf(stderr, "probe_embed: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "probe_embed: reflecting on %s port %ld\n", ip.c_str(), port);
  int sig = 0;
  sigwait(&stop, &sig);
  const ReflectorSummary rs = (*server)->Summary();
  std::printf("reflected %llu probes\n", static_cast<unsigned long long>(rs.reflected));
  return 0;
}

int Measure(examples::Args& a) {
  const std::string ifname = a.Required("-i");
  const std::string ip = a.Required("--ip");
  const std::string server = a.Required("--server");
  const long port = a.Int("--port", kStampPort, 1, 65535);
  const long count = a.Int("--count", 100, 1, 10'000'000);
  const long interval_ms = a.Int("--interval-ms", 10, 1, 60'000);
  if (!a.Rest().empty() || !a.ok()) return a.Usage(kUsage);
  auto server_ip = IpAddress::Parse(server);
  if (!server_ip) {
    std::fprintf(stderr, "probe_embed: --server %s: want an IPv4 or IPv6 address\n",
                 server.c_str());
    return 2;
  }
  auto ep = examples::OpenEndpoint({.ifname = ifname, .addresses = {ip}});
  if (!ep.ok()) {
    std::fprintf(stderr, "probe_embed: %s\n", std::string(ep.status().message()).c_str());
    return 1;
  }
  auto client = ProbeClient::Create(
      (*ep)->conn,
      {.server = {*server_ip, static_cast<uint16_t>(port)},
       .sender = {.count = static_cast<uint64_t>(count), .interval_ns = interval_ms * 1'000'000}});
  if (!client.ok()) {
    std::fprintf(stderr, "probe_embed: %s\n", std::string(client.status().message()).c_str());
    return 1;
  }
  // Results come on this thread, one per probe (answered, lost, late, ...).
  Histogram network_rtt;
  absl::Status run = (*client)->Run([&](const ProbeResult& r) {
    if (r.status == ProbeStatus::kOk && r.network_rtt_ns) network_rtt.Add(*r.network_rtt_ns);
  });
  if (!run.ok()) {
    std::fprintf(stderr, "probe_embed: %s\n", std::string(run.message()).c_str());
    return 1;
  }
  const ProbeSummary s = (*client)->Summary();
  std::printf("network RTT, %llu replies of %llu probes (%llu lost), stamps: %s\n",
              static_cast<unsigned long long>(s.counters.received),
              static_cast<unsigned long long>(s.counters.sent),
              static_cast<unsigned long long>(s.counters.lost),
              Basis(s, ProbeFigure::kNetworkRtt).c_str());
  network_rtt.Print();
  PrintFigure("rtt", s.rtt, s, ProbeFigure::kRtt);
  PrintFigure("network rtt", s.network_rtt, s, ProbeFigure::kNetworkRtt);
  PrintFigure("dwell", s.dwell, s, ProbeFigure::kDwell);
  return s.counters.received > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  examples::Args a(argc, argv, 2);
  if (mode == "reflect") return Reflect(a);
  if (mode == "measure") return Measure(a);
  std::fprintf(stderr, "%s", kUsage);
  return 2;
}
