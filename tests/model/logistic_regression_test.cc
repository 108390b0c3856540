#include "model/logistic_regression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace mlfaas::model {
namespace {

const std::vector<double> kZ = {-1, 0.5, 0, 1, 1, -0.5, 2, 0.25, -2, -1, 0.5, 2, 1.5, 1, -0.5, -2};
const std::vector<uint8_t> kY = {0, 0, 1, 1, 0, 1, 0, 1};

TEST(LogisticRegressionTest, MatchesIndependentOptimum) {
  // scikit-learn 1.2 LogisticRegression(C=1.0, tol=1e-12) on the same 8 rows.
  LogisticOptions o;
  o.tolerance = 1e-12;
  auto fit = FitLogistic(kZ, 2, kY, o);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_TRUE(fit->converged);
  EXPECT_NEAR(fit->coef[0], 0.71127849, 1e-6);
  EXPECT_NEAR(fit->coef[1], -0.44828169, 1e-6);
  EXPECT_NEAR(fit->intercept, -0.05952215, 1e-6);
  EXPECT_GT(fit->iterations, 0);
}

TEST(LogisticRegressionTest, BalancedMatchesIndependentOptimum) {
  // scikit-learn LogisticRegression(C=0.5, class_weight="balanced", solver="newton-cg",
  // tol=1e-12), 3 positives of 8; scipy BFGS on the same objective agrees to 1e-8.
  const std::vector<uint8_t> y = {0, 0, 1, 1, 0, 0, 0, 1};
  LogisticOptions o;
  o.C = 0.5;
  o.balanced = true;
  o.tolerance = 1e-12;
  o.threads = 2;
  auto fit = FitLogistic(kZ, 2, y, o);
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->coef[0], 0.59297139, 1e-7);
  EXPECT_NEAR(fit->coef[1], -0.76669725, 1e-7);
  EXPECT_NEAR(fit->intercept, -0.22619204, 1e-7);
}

TEST(LogisticRegressionTest, ConstantFeatureGivesLogitOfBaseRate) {
  // z == 0: the penalty keeps w = 0 and the unpenalized intercept is logit(3/10) in closed form.
  std::vector<double> z(10, 0.0);
  std::vector<uint8_t> y = {1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
  LogisticOptions o;
  o.tolerance = 1e-14;
  auto fit = FitLogistic(z, 1, y, o);
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->coef[0], 0.0, 1e-12);
  EXPECT_NEAR(fit->intercept, std::log(3.0 / 7.0), 1e-10);
  // Loss = -(3 log 0.3 + 7 log 0.7).
  EXPECT_NEAR(fit->loss, -(3 * std::log(0.3) + 7 * std::log(0.7)), 1e-10);
}

TEST(LogisticRegressionTest, GradientVanishesAtSolution) {
  std::vector<double> z;
  std::vector<uint8_t> y;
  for (int i = 0; i < 5000; ++i) {  // deterministic pseudo-random, overlapping classes
    double a = std::sin(i * 12.9898) * 2, b = std::cos(i * 78.233) * 2;
    z.push_back(a);
    z.push_back(b);
    y.push_back(a - 0.5 * b + std::sin(i * 3.7) > 0.3 ? 1 : 0);
  }
  LogisticOptions o;
  o.threads = 2;
  auto fit = FitLogistic(z, 2, y, o);
  ASSERT_TRUE(fit.ok());
  ASSERT_TRUE(fit->converged);
  std::vector<double> grad;
  double f = LogisticObjective(z, 2, y, o, fit->coef, fit->intercept, &grad);
  for (double g : grad) EXPECT_LT(std::fabs(g), 1e-8 * 5000);
  EXPECT_NEAR(f, fit->loss, 1e-9 * f);
  for (int k = 0; k < 3; ++k) {  // any move increases the objective
    std::vector<double> c = fit->coef;
    double b = fit->intercept;
    (k < 2 ? c[k] : b) += 1e-3;
    EXPECT_GT(LogisticObjective(z, 2, y, o, c, b, nullptr), f);
  }
}

TEST(LogisticRegressionTest, RejectsBadInput) {
  std::vector<uint8_t> one_class(8, 1);
  EXPECT_EQ(FitLogistic(kZ, 2, one_class, {}).status().message(),
            "training data has only one class");
  LogisticOptions o;
  o.C = 0;
  EXPECT_EQ(FitLogistic(kZ, 2, kY, o).status().message(), "C must be > 0");
  EXPECT_FALSE(FitLogistic(kZ, 3, kY, {}).ok());
}

}  // namespace
}  // namespace mlfaas::model
