// Deterministic stratified train/test split, identical to scikit-learn's
// train_test_split(..., test_size=t, stratify=y, random_state=seed) (StratifiedShuffleSplit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace mlfaas::model {

struct Split {
  std::vector<size_t> train;  // row indices, ascending
  std::vector<size_t> test;   // row indices, ascending
};

// n_test = ceil(test_size * n), n_train = n - n_test; per-class counts by scikit-learn's
// "approximate mode" rule; rows chosen by per-class permutations drawn from MT19937 seeded with
// `seed` (std::mt19937, whose output the C++ standard fixes, consumed exactly as numpy's legacy
// RandomState does). So the split depends only on y, test_size and seed, and equals sklearn's.
// InvalidArgument if test_size is not in (0, 1), seed >= 2^32, or a split would miss a class.
StatusOr<Split> StratifiedSplit(std::span<const uint8_t> y, double test_size, uint64_t seed);

// `given` (checked: indices in range, each row on at most one side, both sides non-empty) when
// not null, else StratifiedSplit(data.y, test_size, seed).
struct Dataset;
StatusOr<Split> SplitFor(const Dataset& data, const Split* given, double test_size, uint64_t seed);

}  // namespace mlfaas::model
