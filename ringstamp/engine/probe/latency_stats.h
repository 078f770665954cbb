// latency_stats.h — LatencyStats: count, min, max, mean, standard deviation and
// percentiles of int64 nanosecond samples (RTTs, dwell times, stamp deltas).
//
// Example:
// Given: size_t expected_count; std::span<const std::pair<int64_t, int64_t>> t1_t4
//   LatencyStats rtt;              // exact up to kDefaultMaxExactSamples samples
//   rtt.Reserve(expected_count);   // optional: Add then never allocates
//   for (auto [t1, t4] : t1_t4) rtt.Add(t4 - t1);
//   LatencySummary s = rtt.Summarize();   // s.p50, s.p99, s.p999, s.mean, s.stddev ...
//
// Percentiles use the nearest-rank definition: Percentile(p) is the smallest
// sample x such that at least p% of the samples are ≤ x (rank ⌈p·n/100⌉,
// clamped to 1..n), so it is always a value that was observed. p = 0 gives
// the minimum, p = 100 the maximum.
//
// Exact mode: every sample is kept (8 bytes each) and percentiles are found
// with std::nth_element on the kept samples, O(n) per query. Memory is
// bounded by `max_exact_samples`: when one more sample would exceed it, the
// samples move into a log-linear histogram (HdrHistogram-like, 256
// sub-buckets per power of two, values below 512 exact; 112 KiB per sign)
// and the kept samples are freed. From then on percentiles are approximate:
// the reported value is the midpoint of the bucket holding the true
// nearest-rank sample, clamped to [min, max], so
//     |reported − true| ≤ |true| / 512   (0.2 %),   exact for |true| < 512 ns;
// exact() says which mode is in use. count, min, max, mean and stddev stay
// exact in both modes (mean and variance by Welford's method; stddev is the
// population standard deviation, divided by n, as ping's mdev).
//
// Threads: not thread-safe; one owner. Const queries (Percentile, Summarize)
// reorder the kept samples internally, so they must not run concurrently
// either. Merge() combines per-worker stats after the workers stop.
// Cost: Add is a few arithmetic operations and one vector append (amortised;
// no allocation after Reserve); switching to the histogram allocates once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace ringstamp {

struct LatencySummary {
  uint64_t count = 0;  // all other fields are 0 when count is 0
  int64_t min = 0;
  int64_t max = 0;
  double mean = 0;
  double stddev = 0;  // population standard deviation
  int64_t p50 = 0;
  int64_t p90 = 0;
  int64_t p99 = 0;
  int64_t p999 = 0;
  bool exact = true;  // false: percentiles from the histogram (≤ 0.2 % error)
};

class LatencyStats {
 public:
  static constexpr size_t kDefaultMaxExactSamples = size_t{1} << 22;  // 32 MiB of samples
  // Relative error bound of a percentile in histogram mode.
  static constexpr double kHistogramRelativeError = 1.0 / 512;

  explicit LatencyStats(size_t max_exact_samples = kDefaultMaxExactSamples);
  LatencyStats(const LatencyStats& other);
  LatencyStats& operator=(const LatencyStats& other);
  // Defined in the .cc, where Histogram is complete.
  LatencyStats(LatencyStats&&) noexcept;
  LatencyStats& operator=(LatencyStats&&) noexcept;
  ~LatencyStats();

  // Makes room for n samples in exact mode (capped at max_exact_samples).
  void Reserve(size_t n);
  void Add(int64_t ns);
  // Adds every sample of `other` (exact when the total fits max_exact_samples).
  void Merge(const LatencyStats& other);
  void Clear();  // back to empty, exact mode; keeps max_exact_samples

  uint64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return count_ ? max_ : 0; }
  double mean() const { return count_ ? mean_ : 0; }
  double stddev() const;
  bool exact() const { return hist_ == nullptr; }
  size_t max_exact_samples() const { return max_exact_; }

  // p in [0, 100] (values outside are clamped); 0 when there are no samples.
  int64_t Percentile(double p) const;
  // Several at once, cheaper than one call each: out[i] = Percentile(ps[i]).
  void Percentiles(std::span<const double> ps, std::span<int64_t> out) const;
  LatencySummary Summarize() const;

 private:
  struct Histogram;
  void SwitchToHistogram();
  int64_t HistogramPercentile(uint64_t rank) const;

  size_t max_exact_ = kDefaultMaxExactSamples;
  uint64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  double mean_ = 0;
  double m2_ = 0;  // sum of squared deviations from the mean (Welford)
  mutable std::vector<int64_t> samples_;
  std::unique_ptr<Histogram> hist_;
};

// Nearest rank (1..n) of percentile p among n samples; n ≥ 1. Tolerates the
// binary inexactness of p (99.9 % of 1000 is rank 999, not 1000).
uint64_t NearestRank(double p, uint64_t n);

}  // namespace ringstamp
