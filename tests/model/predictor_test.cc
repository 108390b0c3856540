#include "model/predictor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace mlfaas::model {
namespace {

using nlohmann::json;

LinearModel SampleModel(Transform t = Transform::kLog01) {
  LinearModel m;
  m.features = {"duration", "src_bytes", "dst_bytes"};
  m.transform = t;
  m.mean = {-2.2, 5.4, 7.6};
  m.scale = {0.3, 0.6, 1.9};
  m.coef = {0.5, 4.25, -2.0};
  m.intercept = -9.5;
  m.threshold = 0.5;
  return m;
}

// The unfolded pipeline, written the obvious way.
double Naive(const LinearModel& m, const std::vector<double>& x) {
  double s = m.intercept;
  for (size_t j = 0; j < x.size(); ++j) {
    double t = m.transform == Transform::kLog01 ? std::log(x[j] + 0.1) : x[j];
    s += m.coef[j] * (t - m.mean[j]) / m.scale[j];
  }
  return 1.0 / (1.0 + std::exp(-s));
}

TEST(PredictorTest, FoldedMathEqualsNaivePipeline) {
  for (Transform t : {Transform::kLog01, Transform::kNone}) {
    LinearModel m = SampleModel(t);
    Predictor p(m);
    std::vector<std::vector<double>> rows = {
        {0, 215, 45076}, {0, 0, 0}, {5, 54540, 8314}, {1, 2, 3}, {0, 1e6, 0}};
    if (t == Transform::kNone) rows = {{0, 0.2, 0.1}, {-1, 1, 2}, {0.5, 5, 7}};
    std::vector<double> flat, out(rows.size());
    for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
    p.PredictProba(flat, out);
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_NEAR(out[i], Naive(m, rows[i]), 1e-12) << "row " << i;
      Prediction one = p.PredictOne(rows[i]);
      EXPECT_DOUBLE_EQ(one.probability, out[i]);
      EXPECT_EQ(one.anomaly, out[i] >= 0.5);
    }
  }
}

TEST(PredictorTest, LargeBatchParallelMatchesSerial) {
  LinearModel m = SampleModel();
  Predictor p(m);
  const size_t n = 200003;  // several blocks, threads and a ragged tail
  std::vector<double> rows(n * 3);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<double>((i * 7919) % 100000);
  std::vector<double> serial(n), parallel(n);
  p.PredictProba(rows, serial);
  p.PredictProbaParallel(rows, parallel, 2);
  for (size_t i = 0; i < n; i += 997) {
    std::vector<double> row(rows.begin() + i * 3, rows.begin() + i * 3 + 3);
    ASSERT_NEAR(serial[i], Naive(m, row), 1e-12) << i;
    ASSERT_NEAR(parallel[i], serial[i], 1e-15) << i;
  }
  EXPECT_NEAR(parallel[n - 1], serial[n - 1], 1e-15);
}

TEST(PredictorTest, GenericWidthMatchesNaive) {
  LinearModel m;
  m.features = {"a", "b", "c", "d", "e"};
  m.mean = {0.1, 0.2, 0.3, 0.4, 0.5};
  m.scale = {1, 2, 3, 4, 5};
  m.coef = {1, -1, 0.5, -0.5, 2};
  m.intercept = 0.25;
  Predictor p(m);
  std::vector<double> row = {1, 2, 3, 4, 5};
  EXPECT_NEAR(p.PredictOne(row).probability, Naive(m, row), 1e-12);
}

TEST(PredictorTest, ExtremeScoresSaturate) {
  LinearModel m = SampleModel();
  m.intercept = 1000;
  EXPECT_EQ(Predictor(m).PredictOne(std::vector<double>{0, 0, 0}).probability, 1.0);
  m.intercept = -1000;  // the score is clamped to [-700, 700] before exp: tiny, not 0 or NaN
  const double p = Predictor(m).PredictOne(std::vector<double>{0, 0, 0}).probability;
  EXPECT_GE(p, 0.0);
  EXPECT_LT(p, 1e-300);
}

TEST(PredictorTest, ParseRowOrdersByFeature) {
  Predictor p(SampleModel());
  std::vector<double> out;
  ASSERT_TRUE(
      p.ParseRow(json::parse(R"({"dst_bytes":3,"duration":1,"src_bytes":2.5})"), &out).ok());
  EXPECT_EQ(out, (std::vector<double>{1, 2.5, 3}));
}

struct BadRow {
  const char* json;
  const char* message;
};

class PredictorParseRowTest : public ::testing::TestWithParam<BadRow> {};

TEST_P(PredictorParseRowTest, RejectsWithFieldName) {
  Predictor p(SampleModel());
  std::vector<double> out = {42};
  Status st = p.ParseRow(json::parse(GetParam().json), &out);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), GetParam().message);
  EXPECT_EQ(out, std::vector<double>{42});  // nothing appended on error
}

INSTANTIATE_TEST_SUITE_P(
    BadRows, PredictorParseRowTest,
    ::testing::Values(BadRow{R"({"duration":0,"dst_bytes":1})", "field 'src_bytes' is missing"},
                      BadRow{R"({"duration":0,"src_bytes":1,"dst_bytes":1,"x":2})",
                             "field 'x' is not a model feature"},
                      BadRow{R"({"duration":0,"src_bytes":"215","dst_bytes":1})",
                             "field 'src_bytes' must be a number"},
                      BadRow{R"({"duration":true,"src_bytes":1,"dst_bytes":1})",
                             "field 'duration' must be a number"},
                      BadRow{R"({"duration":null,"src_bytes":1,"dst_bytes":1})",
                             "field 'duration' must be a number"},
                      BadRow{R"({"duration":0,"src_bytes":-1,"dst_bytes":1})",
                             "field 'src_bytes' must be >= 0 (log transform)"},
                      BadRow{R"([0,1,2])", "input must be a JSON object"}));

TEST(PredictorTest, ParseRowRejectsNonFinite) {
  Predictor p(SampleModel());
  std::vector<double> out;
  json row = {{"duration", 0}, {"src_bytes", 1}, {"dst_bytes", INFINITY}};
  EXPECT_EQ(p.ParseRow(row, &out).message(), "field 'dst_bytes' must be finite");
  row["dst_bytes"] = NAN;
  EXPECT_EQ(p.ParseRow(row, &out).message(), "field 'dst_bytes' must be finite");
  EXPECT_TRUE(out.empty());
}

TEST(PredictorTest, NegativeAllowedWithoutLog) {
  Predictor p(SampleModel(Transform::kNone));
  std::vector<double> out;
  EXPECT_TRUE(p.ParseRow(json::parse(R"({"duration":-1,"src_bytes":1,"dst_bytes":1})"), &out).ok());
}

TEST(PredictorTest, ValidateRejectsBadModels) {
  LinearModel m = SampleModel();
  m.coef.pop_back();
  EXPECT_EQ(Predictor::Validate(m).message(),
            "model has 3 features but mean/scale/coef sizes differ");
  m = SampleModel();
  m.scale[0] = 0;
  EXPECT_EQ(Predictor::Validate(m).message(), "scale for 'duration' must be finite and > 0");
  m = SampleModel();
  m.features[2] = "duration";
  EXPECT_EQ(Predictor::Validate(m).message(), "duplicate feature 'duration'");
  m = SampleModel();
  m.threshold = 1.5;
  EXPECT_EQ(Predictor::Validate(m).message(), "threshold must be within [0, 1]");
  EXPECT_TRUE(Predictor::Validate(SampleModel()).ok());
}

TEST(TransformTest, NamesRoundTrip) {
  Transform t;
  ASSERT_TRUE(ParseTransform("log0.1", &t));
  EXPECT_EQ(t, Transform::kLog01);
  ASSERT_TRUE(ParseTransform("none", &t));
  EXPECT_EQ(t, Transform::kNone);
  EXPECT_FALSE(ParseTransform("log", &t));
  EXPECT_STREQ(TransformName(Transform::kLog01), "log0.1");
}

}  // namespace
}  // namespace mlfaas::model
