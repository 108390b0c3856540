#include "loadtest/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace mlfaas::loadtest {
namespace {
constexpr int kSubBits = 7;
constexpr int64_t kSub = int64_t{1} << kSubBits;  // 128
}  // namespace

int Histogram::BucketIndex(int64_t value) {
  if (value < kSub) return static_cast<int>(std::max<int64_t>(value, 0));
  const int exponent = 63 - std::countl_zero(static_cast<uint64_t>(value));  // >= 7
  const int shift = exponent - kSubBits;
  const int64_t sub = (value >> shift) - kSub;  // 0..127
  return static_cast<int>(kSub + shift * kSub + sub);
}

int64_t Histogram::BucketLow(int index) {
  if (index < kSub) return index;
  const int shift = (index - kSub) / kSub;
  const int64_t sub = (index - kSub) % kSub;
  return (kSub + sub) << shift;
}

int64_t Histogram::BucketWidth(int index) {
  if (index < kSub) return 1;
  return int64_t{1} << ((index - kSub) / kSub);
}

void Histogram::Record(int64_t value, int64_t count) {
  if (count <= 0) return;
  value = std::max<int64_t>(value, 0);
  const size_t index = static_cast<size_t>(BucketIndex(value));
  if (index >= counts_.size()) counts_.resize(index + 1, 0);
  counts_[index] += count;
  min_ = count_ == 0 ? value : std::min(min_, value);
  max_ = std::max(max_, value);
  count_ += count;
  sum_ += static_cast<__int128>(value) * count;
  sum_sq_ += static_cast<long double>(value) * value * count;
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  if (other.counts_.size() > counts_.size()) counts_.resize(other.counts_.size(), 0);
  for (size_t i = 0; i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
  sum_sq_ += other.sum_sq_;
}

void Histogram::Clear() { *this = Histogram(); }

double Histogram::stddev() const {
  if (count_ < 2) return 0.0;
  const long double m = static_cast<long double>(sum_) / count_;
  const long double var = sum_sq_ / count_ - m * m;
  return var > 0 ? static_cast<double>(std::sqrt(var)) : 0.0;
}

int64_t Histogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  const int64_t rank =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(p / 100.0 * count_ - 1e-9)));
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const int idx = static_cast<int>(i);
      const int64_t mid = BucketLow(idx) + (BucketWidth(idx) - 1) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace mlfaas::loadtest
