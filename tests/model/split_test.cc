#include "model/split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace mlfaas::model {
namespace {

std::vector<uint8_t> Labels(size_t n, size_t positives) {
  std::vector<uint8_t> y(n, 0);
  for (size_t i = 0; i < positives; ++i) y[i * (n / positives)] = 1;
  return y;
}

TEST(SplitTest, StratifiedCountsAndPartition) {
  auto y = Labels(1000, 40);
  auto s = StratifiedSplit(y, 0.2, 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->test.size(), 200u);
  EXPECT_EQ(s->train.size(), 800u);
  size_t test_pos = 0;
  for (size_t i : s->test) test_pos += y[i];
  EXPECT_EQ(test_pos, 8u);  // 20% of 40
  std::vector<size_t> all = s->train;
  all.insert(all.end(), s->test.begin(), s->test.end());
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], i);  // disjoint and complete
  EXPECT_TRUE(std::is_sorted(s->test.begin(), s->test.end()));
}

TEST(SplitTest, DeterministicPerSeed) {
  auto y = Labels(500, 50);
  auto a = StratifiedSplit(y, 0.3, 7);
  auto b = StratifiedSplit(y, 0.3, 7);
  auto c = StratifiedSplit(y, 0.3, 8);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->test, b->test);
  EXPECT_NE(a->test, c->test);
}

// Reference values printed by scikit-learn 1.2:
//   train_test_split(np.arange(n), test_size=t, stratify=y, random_state=seed)
TEST(SplitTest, EqualsScikitLearnSplit) {
  auto a = StratifiedSplit(Labels(1000, 40), 0.2, 0);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(std::vector<size_t>(a->test.begin(), a->test.begin() + 12),
            (std::vector<size_t>{10, 12, 20, 24, 30, 34, 38, 43, 44, 45, 49, 56}));
  auto b = StratifiedSplit(Labels(500, 50), 0.3, 7);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->test.size(), 150u);
  EXPECT_EQ(std::vector<size_t>(b->test.begin(), b->test.begin() + 12),
            (std::vector<size_t>{0, 1, 5, 7, 12, 14, 19, 22, 24, 26, 28, 30}));
}

TEST(SplitTest, RejectsBadSizes) {
  auto y = Labels(100, 10);
  EXPECT_EQ(StratifiedSplit(y, 0.0, 0).status().message(),
            "test size must be in (0, 1), got 0.000000");
  EXPECT_FALSE(StratifiedSplit(y, 1.0, 0).ok());
  EXPECT_EQ(StratifiedSplit(y, 0.2, uint64_t{1} << 32).status().message(), "seed must be < 2^32");
  std::vector<uint8_t> tiny = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  auto s = StratifiedSplit(tiny, 0.2, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message().substr(0, 31), "class 1 has 1 rows: too few to ");
}

}  // namespace
}  // namespace mlfaas::model
