// probe_bench — the per-probe CPU cost of the STAMP state machines, without I/O:
//   BM_ProbeOnReply   ProbeSender::OnReply (parse, match, TLVs, figures, statistics)
//   BM_ProbeBuild     ProbeSender::BuildProbe
//   BM_ProbeReflect   ProbeReflector::Reflect (plain 44-byte and 72-byte TLV requests)
//   BM_T3ErrorsSummarize / BM_T3ErrorsCopy  what a reflector summary costs over N t3 errors
//                     (exact mode: the percentile selection, or a copy of the samples): the
//                     server holds the lock its worker's replies wait for during the copy only
// Replies are prepared in batches outside the timed region, so BM_ProbeOnReply
// times OnReply alone. Run: build/bin/probe_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <vector>

#include "ringstamp/engine/probe/latency_stats.h"
#include "ringstamp/engine/probe/probe_reflector.h"
#include "ringstamp/engine/probe/probe_session.h"

namespace ringstamp {
namespace {

constexpr int64_t kBase = 1'700'000'000'000'000'000;
constexpr int64_t kInterval = 1'000;  // 1 µs: many probes in flight per timeout
constexpr size_t kBatch = 1024;

Timestamps Sw(int64_t ns) {
  Timestamps t;
  t.software_ns = ns;
  t.userspace_ns = ns + 500;
  return t;
}

void BM_ProbeOnReply(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  auto sender = ProbeSender::Create({.interval_ns = kInterval,
                                     .packet_size = size,
                                     .timeout_ns = 10'000'000,
                                     .window = 1 << 16})
                    .value();
  auto reflector = ProbeReflector::Create({}).value();
  std::vector<std::array<std::byte, 128>> replies(kBatch);
  std::array<std::byte, 128> probe{};
  std::vector<int64_t> t4(kBatch);
  int64_t mono = 0;
  int64_t results = 0;
  auto sink = [&](const ProbeResult& r) { results += r.rtt_ns.value_or(0) != 0; };
  for (auto _ : state) {
    state.PauseTiming();
    for (size_t i = 0; i < kBatch; ++i) {
      mono += kInterval;
      const int64_t t1 = kBase + mono;
      BuiltProbe b = sender.BuildProbe(probe, mono, t1);
      sender.OnSent(b.seq, Sw(t1 + 300), sink);
      Reflection r = reflector.Reflect(std::span(probe).first(b.size), Sw(t1 + 10'000), 64, 1,
                                       t1 + 14'000, replies[i]);
      reflector.OnSent(r.id, Sw(t1 + 14'600));
      t4[i] = t1 + 27'000;
    }
    state.ResumeTiming();
    for (size_t i = 0; i < kBatch; ++i) {
      benchmark::DoNotOptimize(
          sender.OnReply(std::span(replies[i]).first(size), Sw(t4[i]), 64, mono, sink));
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.counters["results"] = static_cast<double>(results);
}
BENCHMARK(BM_ProbeOnReply)->Arg(44)->Arg(72)->Unit(benchmark::kNanosecond);

void BM_ProbeBuild(benchmark::State& state) {
  auto sender = ProbeSender::Create({.interval_ns = kInterval,
                                     .packet_size = static_cast<size_t>(state.range(0)),
                                     .timeout_ns = 1'000'000})
                    .value();
  std::array<std::byte, 128> probe{};
  int64_t mono = 0;
  auto sink = [](const ProbeResult&) {};
  for (auto _ : state) {
    mono += kInterval;
    BuiltProbe b = sender.BuildProbe(probe, mono, kBase + mono);
    benchmark::DoNotOptimize(b);
    if ((mono / kInterval) % 256 == 0) sender.Expire(mono, sink);  // keep the window open
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProbeBuild)->Arg(44)->Arg(72);

void BM_ProbeReflect(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  auto sender =
      ProbeSender::Create({.interval_ns = kInterval, .packet_size = size, .timeout_ns = 1'000'000})
          .value();
  auto reflector = ProbeReflector::Create({}).value();
  std::array<std::byte, 128> probe{};
  std::array<std::byte, 128> reply{};
  const size_t n = sender.BuildProbe(probe, 0, kBase).size;
  int64_t t = kBase;
  for (auto _ : state) {
    t += 1'000;
    Reflection r = reflector.Reflect(std::span(probe).first(n), Sw(t), 64, 1, t + 3'000, reply);
    reflector.OnSent(r.id, Sw(t + 3'500));
    benchmark::DoNotOptimize(reply);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProbeReflect)->Arg(44)->Arg(72);

// N t3 errors as a long exact run holds them (spread over a few µs, in arrival order).
LatencyStats T3Errors(size_t n) {
  LatencyStats stats;
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    stats.Add(2'000 + static_cast<int64_t>(x % 4'000));
  }
  return stats;
}

void BM_T3ErrorsSummarize(benchmark::State& state) {
  const LatencyStats base = T3Errors(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    LatencyStats stats = base;  // unselected samples each time, as new ones keep arriving
    state.ResumeTiming();
    benchmark::DoNotOptimize(stats.Summarize());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_T3ErrorsSummarize)->Arg(1 << 16)->Arg(1 << 22)->Unit(benchmark::kMillisecond);

void BM_T3ErrorsCopy(benchmark::State& state) {
  const LatencyStats base = T3Errors(static_cast<size_t>(state.range(0)));
  LatencyStats copy;  // the server's scratch: assigned again on every summary
  for (auto _ : state) {
    copy = base;
    benchmark::DoNotOptimize(copy.count());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_T3ErrorsCopy)->Arg(1 << 16)->Arg(1 << 22)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ringstamp

BENCHMARK_MAIN();
