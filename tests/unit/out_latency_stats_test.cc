#include "ringstamp/engine/probe/latency_stats.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

using namespace ringstamp;

namespace {

// The naive reference: sort a copy, take the nearest rank; two-pass moments.
struct Reference {
  std::vector<int64_t> sorted;
  double mean = 0, stddev = 0;

  explicit Reference(std::vector<int64_t> v) : sorted(std::move(v)) {
    std::sort(sorted.begin(), sorted.end());
    long double sum = 0;
    for (int64_t x : sorted) sum += x;
    mean = static_cast<double>(sum / sorted.size());
    long double sq = 0;
    for (int64_t x : sorted) sq += (x - static_cast<long double>(mean)) * (x - mean);
    stddev = static_cast<double>(std::sqrt(sq / sorted.size()));
  }
  int64_t Percentile(double p) const { return sorted[NearestRank(p, sorted.size()) - 1]; }
};

std::vector<int64_t> RttLike(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> body(std::log(25'000.0), 0.3);  // ~25 µs
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<int64_t> v(n);
  for (auto& x : v) {
    x = static_cast<int64_t>(body(rng));
    if (u(rng) < 0.002) x *= 40;  // a tail of slow ones
  }
  return v;
}

void CheckMoments(const LatencyStats& s, const Reference& ref) {
  CHECK(s.count() == ref.sorted.size());
  CHECK(s.min() == ref.sorted.front());
  CHECK(s.max() == ref.sorted.back());
  CHECK(s.mean() == doctest::Approx(ref.mean).epsilon(1e-9));
  CHECK(s.stddev() == doctest::Approx(ref.stddev).epsilon(1e-6));
}

}  // namespace

TEST_CASE("latency stats: nearest rank on small known sets") {
  CHECK(NearestRank(50, 10) == 5);
  CHECK(NearestRank(90, 10) == 9);
  CHECK(NearestRank(99, 10) == 10);
  CHECK(NearestRank(99.9, 1000) == 999);  // 0.999 × 1000 is not 999.0000001 here
  CHECK(NearestRank(99.9, 1001) == 1000);
  CHECK(NearestRank(0, 7) == 1);
  CHECK(NearestRank(100, 7) == 7);
  CHECK(NearestRank(-3, 7) == 1);
  CHECK(NearestRank(250, 7) == 7);

  LatencyStats s;
  for (int i = 1000; i >= 1; --i) s.Add(i);  // any order
  LatencySummary sum = s.Summarize();
  CHECK(sum.count == 1000);
  CHECK(sum.min == 1);
  CHECK(sum.max == 1000);
  CHECK(sum.p50 == 500);
  CHECK(sum.p90 == 900);
  CHECK(sum.p99 == 990);
  CHECK(sum.p999 == 999);
  CHECK(sum.mean == doctest::Approx(500.5));
  CHECK(sum.stddev == doctest::Approx(std::sqrt((1000.0 * 1000 - 1) / 12)));
  CHECK(sum.exact);
}

TEST_CASE("latency stats: empty and single-sample stats are zeros, not NaN") {
  LatencyStats s;
  LatencySummary e = s.Summarize();
  CHECK(e.count == 0);
  CHECK(e.p50 == 0);
  CHECK(e.mean == 0);
  CHECK(e.stddev == 0);
  CHECK(s.Percentile(99) == 0);
  s.Add(-42);
  LatencySummary one = s.Summarize();
  CHECK(one.min == -42);
  CHECK(one.max == -42);
  CHECK(one.p50 == -42);
  CHECK(one.p999 == -42);
  CHECK(one.stddev == 0);
  CHECK(one.mean == -42);
}

TEST_CASE("latency stats: exact mode matches the naive reference") {
  for (uint64_t seed : {1u, 2u, 3u}) {
    const auto v = RttLike(20'000 + seed * 777, seed);
    LatencyStats s;
    s.Reserve(v.size());
    for (int64_t x : v) s.Add(x);
    Reference ref(v);
    CheckMoments(s, ref);
    CHECK(s.exact());
    for (double p : {0.0, 1.0, 25.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
      CHECK_MESSAGE(s.Percentile(p) == ref.Percentile(p), "p", p, " seed ", seed);
    }
    const LatencySummary sum = s.Summarize();
    CHECK(sum.p50 == ref.Percentile(50));
    CHECK(sum.p90 == ref.Percentile(90));
    CHECK(sum.p99 == ref.Percentile(99));
    CHECK(sum.p999 == ref.Percentile(99.9));
    // Queries reorder the samples but never change the answers.
    CHECK(s.Percentile(50) == ref.Percentile(50));
  }
}

TEST_CASE("latency stats: past the cap the histogram keeps percentiles within 1/512") {
  auto v = RttLike(200'000, 9);
  // Negative, zero, small exact-range and extreme values too.
  v.insert(v.end(), {-5, -70'000, -3'000'000'000LL, 0, 1, 511, 512, 513, INT64_MAX, INT64_MIN});
  LatencyStats s(/*max_exact_samples=*/1000);
  for (int64_t x : v) s.Add(x);
  CHECK_FALSE(s.exact());
  Reference ref(v);
  CHECK(s.count() == ref.sorted.size());
  CHECK(s.min() == INT64_MIN);
  CHECK(s.max() == INT64_MAX);
  for (double p : {0.0, 0.001, 0.002, 0.004, 1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double want = static_cast<double>(ref.Percentile(p));
    const double got = static_cast<double>(s.Percentile(p));
    const double bound = std::abs(want) * LatencyStats::kHistogramRelativeError;
    CHECK_MESSAGE(std::abs(got - want) <= bound, "p", p, " got ", got, " want ", want);
  }
  CHECK_FALSE(s.Summarize().exact);
}

TEST_CASE("latency stats: values below 512 stay exact in the histogram") {
  LatencyStats s(0);  // histogram from the first sample
  std::vector<int64_t> v;
  for (int i = -511; i <= 511; ++i) v.push_back(i);
  for (int64_t x : v) s.Add(x);
  Reference ref(v);
  for (double p : {0.0, 10.0, 33.3, 50.0, 77.0, 99.9, 100.0}) {
    CHECK(s.Percentile(p) == ref.Percentile(p));
  }
  CheckMoments(s, ref);
}

TEST_CASE("latency stats: Merge equals adding everything to one") {
  const auto a = RttLike(5000, 11), b = RttLike(7000, 12);
  std::vector<int64_t> all = a;
  all.insert(all.end(), b.begin(), b.end());
  Reference ref(all);

  SUBCASE("exact + exact within the cap") {
    LatencyStats sa, sb;
    for (int64_t x : a) sa.Add(x);
    for (int64_t x : b) sb.Add(x);
    sa.Merge(sb);
    CHECK(sa.exact());
    CheckMoments(sa, ref);
    CHECK(sa.Percentile(99.9) == ref.Percentile(99.9));
    CHECK(sa.Percentile(50) == ref.Percentile(50));
  }
  SUBCASE("over the cap: histogram, moments still exact") {
    LatencyStats sa(8000), sb(8000);
    for (int64_t x : a) sa.Add(x);
    for (int64_t x : b) sb.Add(x);
    sa.Merge(sb);
    CHECK_FALSE(sa.exact());
    CheckMoments(sa, ref);
    const double want = static_cast<double>(ref.Percentile(99));
    CHECK(std::abs(sa.Percentile(99) - want) <= want / 512);
  }
  SUBCASE("into empty, and copies are independent") {
    LatencyStats sa(100), sb(100);
    for (int64_t x : all) sb.Add(x);
    LatencyStats copy = sb;
    sa.Merge(sb);
    CheckMoments(sa, ref);
    sb.Clear();
    CHECK(sb.count() == 0);
    CHECK(sb.exact());
    CHECK(copy.count() == all.size());
    CHECK(copy.Percentile(50) == sa.Percentile(50));
  }
}

TEST_CASE("latency stats: assigning again gives the source's figures, exact or histogram") {
  // A summary's scratch copy is assigned over and over: exact onto histogram and back, larger
  // onto smaller, and each time it must read as its source does.
  const auto small = RttLike(300, 21), large = RttLike(9000, 22);
  LatencyStats exact_small, hist_large(4000), exact_large;
  for (int64_t x : small) exact_small.Add(x);
  for (int64_t x : large) hist_large.Add(x);
  for (int64_t x : large) exact_large.Add(x);
  REQUIRE(exact_small.exact());
  REQUIRE_FALSE(hist_large.exact());
  const auto same = [](const LatencyStats& copy, const LatencyStats& source) {
    CHECK(copy.exact() == source.exact());
    CHECK(copy.count() == source.count());
    CHECK(copy.min() == source.min());
    CHECK(copy.max() == source.max());
    CHECK(copy.mean() == source.mean());
    CHECK(copy.max_exact_samples() == source.max_exact_samples());
    for (double p : {1.0, 50.0, 90.0, 99.0, 99.9})
      CHECK(copy.Percentile(p) == source.Percentile(p));
  };
  LatencyStats scratch;
  for (const LatencyStats* source : {&exact_large, &exact_small, &hist_large, &exact_small,
                                     &hist_large, &hist_large, &exact_large}) {
    scratch = *source;
    same(scratch, *source);
  }
  // The copy is its own: adding to it leaves the source as it was.
  scratch = hist_large;
  scratch.Add(1);
  CHECK(scratch.count() == hist_large.count() + 1);
  CHECK(hist_large.min() != 1);
  scratch = exact_small;
  scratch.Add(1);
  CHECK(exact_small.count() == small.size());
}
