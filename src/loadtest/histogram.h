// Log-bucketed latency histogram in the style of HdrHistogram.
//
// Values (nanoseconds, >= 0) below 128 are counted exactly; above, each power of two is split
// into 128 linear sub-buckets, so a reported percentile is within 1/256 (< 0.4 %) of a value
// actually recorded. Count, sum, min and max are exact. Histograms merge by adding counts.
// Not thread-safe: one writer, or external locking.
#pragma once

#include <cstdint>
#include <vector>

namespace mlfaas::loadtest {

class Histogram {
 public:
  void Record(int64_t value, int64_t count = 1);
  void Merge(const Histogram& other);
  void Clear();

  int64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  double stddev() const;
  // The value at percentile `p` in [0, 100]: the smallest bucket whose cumulative count reaches
  // ceil(p/100 * count), reported as the bucket's midpoint clamped to [min, max]. 0 if empty.
  int64_t Percentile(double p) const;

  // Bucket geometry, exposed for tests.
  static int BucketIndex(int64_t value);
  static int64_t BucketLow(int index);
  static int64_t BucketWidth(int index);

 private:
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  __int128 sum_ = 0;
  long double sum_sq_ = 0;
};

}  // namespace mlfaas::loadtest
