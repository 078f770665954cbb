#include "ringstamp/engine/probe/latency_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ringstamp {
namespace {

// Log-linear buckets over a magnitude: values below 2^kSubBits exact, above
// that 2^(kSubBits-1) buckets per power of two.
constexpr int kSubBits = 9;
constexpr uint64_t kExactLimit = uint64_t{1} << kSubBits;       // 512
constexpr uint64_t kPerOctave = uint64_t{1} << (kSubBits - 1);  // 256
constexpr size_t kBuckets = kExactLimit + (64 - kSubBits) * kPerOctave;

size_t BucketIndex(uint64_t v) {
  if (v < kExactLimit) return static_cast<size_t>(v);
  const int e = 63 - std::countl_zero(v);
  const int shift = e - (kSubBits - 1);
  const uint64_t mantissa = v >> shift;  // kPerOctave .. 2*kPerOctave-1
  return static_cast<size_t>(kExactLimit + static_cast<uint64_t>(shift - 1) * kPerOctave +
                             (mantissa - kPerOctave));
}

// Midpoint of a bucket's range [low, low + width − 1].
uint64_t BucketMid(size_t index) {
  if (index < kExactLimit) return index;
  const uint64_t k = index - kExactLimit;
  const int shift = static_cast<int>(k / kPerOctave) + 1;
  const uint64_t low = (k % kPerOctave + kPerOctave) << shift;
  const uint64_t width = uint64_t{1} << shift;
  return low + (width - 1) / 2;
}

uint64_t Magnitude(int64_t v) {
  return v < 0 ? uint64_t{0} - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
}

}  // namespace

struct LatencyStats::Histogram {
  std::vector<uint64_t> positive = std::vector<uint64_t>(kBuckets, 0);  // v ≥ 0 by v
  std::vector<uint64_t> negative;  // v < 0 by |v|; allocated on the first negative sample

  void Add(int64_t v, uint64_t n = 1) {
    if (v >= 0) {
      positive[BucketIndex(static_cast<uint64_t>(v))] += n;
      return;
    }
    if (negative.empty()) negative.assign(kBuckets, 0);
    negative[BucketIndex(Magnitude(v))] += n;
  }
  void Merge(const Histogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) positive[i] += other.positive[i];
    if (!other.negative.empty()) {
      if (negative.empty()) negative.assign(kBuckets, 0);
      for (size_t i = 0; i < kBuckets; ++i) negative[i] += other.negative[i];
    }
  }
};

uint64_t NearestRank(double p, uint64_t n) {
  if (!(p > 0)) return 1;  // also NaN
  if (p >= 100) return n;
  const double x = p * static_cast<double>(n) / 100.0;
  const double nearest = std::round(x);
  double rank = std::abs(x - nearest) <= 1e-9 * std::max(1.0, x) ? nearest : std::ceil(x);
  rank = std::clamp(rank, 1.0, static_cast<double>(n));
  return static_cast<uint64_t>(rank);
}

LatencyStats::LatencyStats(size_t max_exact_samples) : max_exact_(max_exact_samples) {}

// The members are listed once, in the assignment below.
LatencyStats::LatencyStats(const LatencyStats& other) { *this = other; }

LatencyStats& LatencyStats::operator=(const LatencyStats& other) {
  if (this == &other) return *this;
  // Member by member, so that a target assigned again and again (a summary's scratch copy)
  // keeps its sample array and histogram: no allocation, no page faults, once it is large.
  max_exact_ = other.max_exact_;
  count_ = other.count_;
  min_ = other.min_;
  max_ = other.max_;
  mean_ = other.mean_;
  m2_ = other.m2_;
  samples_ = other.samples_;
  if (other.hist_ == nullptr) {
    hist_.reset();
  } else if (hist_ != nullptr) {
    *hist_ = *other.hist_;
  } else {
    hist_ = std::make_unique<Histogram>(*other.hist_);
  }
  return *this;
}

LatencyStats::~LatencyStats() = default;

void LatencyStats::Reserve(size_t n) {
  if (exact()) samples_.reserve(std::min(n, max_exact_));
}

void LatencyStats::Clear() {
  count_ = 0;
  min_ = max_ = 0;
  mean_ = m2_ = 0;
  samples_.clear();
  hist_.reset();
}

void LatencyStats::SwitchToHistogram() {
  hist_ = std::make_unique<Histogram>();
  for (int64_t v : samples_) hist_->Add(v);
  std::vector<int64_t>().swap(samples_);  // give the memory back
}

void LatencyStats::Add(int64_t ns) {
  if (count_ == 0) {
    min_ = max_ = ns;
  } else {
    min_ = std::min(min_, ns);
    max_ = std::max(max_, ns);
  }
  ++count_;
  const double x = static_cast<double>(ns);
  const double delta = x - mean_;
  mean_ += delta / static_cast<double>(count_);
  m2_ += delta * (x - mean_);
  if (hist_ == nullptr && samples_.size() >= max_exact_) SwitchToHistogram();
  if (hist_ != nullptr) {
    hist_->Add(ns);
  } else {
    samples_.push_back(ns);
  }
}

void LatencyStats::Merge(const LatencyStats& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  // Chan et al.'s pairwise combination of mean and M2.
  const double na = static_cast<double>(count_), nb = static_cast<double>(other.count_);
  const double n = na + nb;
  const double delta = other.mean_ - mean_;
  mean_ += delta * nb / n;
  m2_ += other.m2_ + delta * delta * na * nb / n;
  count_ += other.count_;

  if (hist_ == nullptr && other.hist_ == nullptr &&
      samples_.size() + other.samples_.size() <= max_exact_) {
    samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
    return;
  }
  if (hist_ == nullptr) SwitchToHistogram();
  if (other.hist_ != nullptr) {
    hist_->Merge(*other.hist_);
  } else {
    for (int64_t v : other.samples_) hist_->Add(v);
  }
}

double LatencyStats::stddev() const {
  if (count_ < 2) return 0;
  return std::sqrt(std::max(0.0, m2_ / static_cast<double>(count_)));
}

int64_t LatencyStats::HistogramPercentile(uint64_t rank) const {
  uint64_t seen = 0;
  int64_t value = max_;
  bool found = false;
  if (!hist_->negative.empty()) {
    for (size_t i = kBuckets; i-- > 0 && !found;) {
      seen += hist_->negative[i];
      if (seen >= rank) {
        const uint64_t mid = BucketMid(i);
        value = mid > uint64_t{1} << 63 ? INT64_MIN : static_cast<int64_t>(uint64_t{0} - mid);
        found = true;
      }
    }
  }
  for (size_t i = 0; i < kBuckets && !found; ++i) {
    seen += hist_->positive[i];
    if (seen >= rank) {
      const uint64_t mid = BucketMid(i);
      value = mid > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(mid);
      found = true;
    }
  }
  return std::clamp(value, min_, max_);
}

void LatencyStats::Percentiles(std::span<const double> ps, std::span<int64_t> out) const {
  const size_t k = std::min(ps.size(), out.size());
  if (count_ == 0) {
    std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), 0);
    return;
  }
  if (hist_ != nullptr) {
    for (size_t i = 0; i < k; ++i) out[i] = HistogramPercentile(NearestRank(ps[i], count_));
    return;
  }
  // Ascending ranks: each nth_element works on the part right of the previous one.
  std::vector<std::pair<uint64_t, size_t>> order(k);  // (rank, output slot)
  for (size_t i = 0; i < k; ++i) order[i] = {NearestRank(ps[i], count_), i};
  std::sort(order.begin(), order.end());
  auto from = samples_.begin();
  uint64_t done_rank = 0;
  int64_t done_value = 0;
  for (const auto& [rank, slot] : order) {
    if (rank != done_rank) {
      auto nth = samples_.begin() + static_cast<std::ptrdiff_t>(rank - 1);
      std::nth_element(from, nth, samples_.end());
      done_rank = rank;
      done_value = *nth;
      from = nth + 1;
    }
    out[slot] = done_value;
  }
}

int64_t LatencyStats::Percentile(double p) const {
  int64_t v = 0;
  Percentiles(std::span<const double>(&p, 1), std::span<int64_t>(&v, 1));
  return v;
}

LatencySummary LatencyStats::Summarize() const {
  LatencySummary s;
  s.count = count_;
  s.exact = exact();
  if (count_ == 0) return s;
  s.min = min_;
  s.max = max_;
  s.mean = mean_;
  s.stddev = stddev();
  const double ps[4] = {50, 90, 99, 99.9};
  int64_t out[4];
  Percentiles(ps, out);
  s.p50 = out[0];
  s.p90 = out[1];
  s.p99 = out[2];
  s.p999 = out[3];
  return s;
}

LatencyStats::LatencyStats(LatencyStats&&) noexcept = default;
LatencyStats& LatencyStats::operator=(LatencyStats&&) noexcept = default;

}  // namespace ringstamp
