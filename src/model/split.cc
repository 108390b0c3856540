#include "model/split.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "model/dataset.h"

namespace mlfaas::model {
namespace {

// numpy's legacy RandomState over MT19937: the parts StratifiedShuffleSplit uses.
class NumpyRandomState {
 public:
  explicit NumpyRandomState(uint32_t seed) : mt_(seed) {}

  // random_interval(max): masked rejection sampling in [0, max].
  uint64_t Interval(uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = max;
    for (int s = 1; s <= 32; s *= 2) mask |= mask >> s;
    uint64_t v;
    if (max <= 0xffffffffULL) {
      do v = mt_() & mask;
      while (v > max);
    } else {
      do v = ((static_cast<uint64_t>(mt_()) << 32) | mt_()) & mask;
      while (v > max);
    }
    return v;
  }

  // permutation(n): shuffle of arange(n), Fisher-Yates from the end.
  std::vector<size_t> Permutation(size_t n) {
    std::vector<size_t> a(n);
    std::iota(a.begin(), a.end(), size_t{0});
    for (size_t i = n > 0 ? n - 1 : 0; i > 0; --i) std::swap(a[i], a[Interval(i)]);
    return a;
  }

 private:
  std::mt19937 mt_;
};

// sklearn.utils._approximate_mode for two classes.
std::vector<int64_t> ApproximateMode(const std::vector<int64_t>& counts, int64_t draws,
                                     NumpyRandomState* rng) {
  const double total = static_cast<double>(counts[0] + counts[1]);
  std::vector<double> cont(counts.size()), rem(counts.size());
  std::vector<int64_t> floored(counts.size());
  int64_t need = draws;
  for (size_t c = 0; c < counts.size(); ++c) {
    cont[c] = static_cast<double>(counts[c]) / total * static_cast<double>(draws);
    floored[c] = static_cast<int64_t>(std::floor(cont[c]));
    rem[c] = cont[c] - std::floor(cont[c]);
    need -= floored[c];
  }
  std::vector<double> values = rem;
  std::sort(values.rbegin(), values.rend());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  for (double v : values) {
    if (need <= 0) break;
    std::vector<size_t> inds;
    for (size_t c = 0; c < rem.size(); ++c) {
      if (rem[c] == v) inds.push_back(c);
    }
    const auto add = std::min<int64_t>(static_cast<int64_t>(inds.size()), need);
    std::vector<size_t> perm = rng->Permutation(inds.size());  // rng.choice(replace=False)
    for (int64_t k = 0; k < add; ++k) ++floored[inds[perm[k]]];
    need -= add;
  }
  return floored;
}

}  // namespace

StatusOr<Split> StratifiedSplit(std::span<const uint8_t> y, double test_size, uint64_t seed) {
  if (!(test_size > 0.0 && test_size < 1.0)) {
    return InvalidArgument("test size must be in (0, 1), got " + std::to_string(test_size));
  }
  if (seed > 0xffffffffULL) return InvalidArgument("seed must be < 2^32");
  std::vector<size_t> by_class[2];
  for (size_t i = 0; i < y.size(); ++i) by_class[y[i] ? 1 : 0].push_back(i);
  const auto n = static_cast<int64_t>(y.size());
  const auto n_test = static_cast<int64_t>(std::ceil(test_size * static_cast<double>(n)));
  const int64_t n_train = n - n_test;
  const std::vector<int64_t> counts = {static_cast<int64_t>(by_class[0].size()),
                                       static_cast<int64_t>(by_class[1].size())};
  NumpyRandomState rng(static_cast<uint32_t>(seed));
  const std::vector<int64_t> n_i = ApproximateMode(counts, n_train, &rng);
  const std::vector<int64_t> t_i =
      ApproximateMode({counts[0] - n_i[0], counts[1] - n_i[1]}, n_test, &rng);
  Split split;
  for (int c = 0; c < 2; ++c) {
    if (n_i[c] == 0 || t_i[c] == 0) {
      return InvalidArgument("class " + std::to_string(c) + " has " + std::to_string(counts[c]) +
                             " rows: too few to appear in both train and test splits");
    }
    std::vector<size_t> perm = rng.Permutation(by_class[c].size());
    for (int64_t k = 0; k < n_i[c] + t_i[c]; ++k) {
      (k < n_i[c] ? split.train : split.test).push_back(by_class[c][perm[k]]);
    }
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.test.begin(), split.test.end());
  return split;
}

StatusOr<Split> SplitFor(const Dataset& data, const Split* given, double test_size, uint64_t seed) {
  if (given == nullptr) return StratifiedSplit(data.y, test_size, seed);
  const size_t n = data.rows();
  if (given->train.empty() || given->test.empty()) {
    return InvalidArgument("the split needs training and test rows");
  }
  std::vector<uint8_t> side(n, 0);
  for (const std::vector<size_t>* part : {&given->train, &given->test}) {
    for (size_t i : *part) {
      if (i >= n)
        return InvalidArgument("the split names row " + std::to_string(i) + " of " +
                               std::to_string(n));
      if (side[i]++ != 0) {
        return InvalidArgument("the split names row " + std::to_string(i) + " twice");
      }
    }
  }
  return *given;
}

}  // namespace mlfaas::model
