#include "package/manifest.h"

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "testing/sample_manifest.h"

namespace mlfaas::package {
namespace {

using nlohmann::json;
using sample::SampleManifest;

TEST(ManifestTest, JsonRoundTrip) {
  Manifest m = SampleManifest();
  auto back = ManifestFromJson(ToJson(m));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->name, m.name);
  EXPECT_EQ(back->model.features, m.model.features);
  EXPECT_EQ(back->model.transform, m.model.transform);
  EXPECT_EQ(back->model.mean, m.model.mean);
  EXPECT_EQ(back->model.scale, m.model.scale);
  EXPECT_EQ(back->model.coef, m.model.coef);
  EXPECT_EQ(back->model.intercept, m.model.intercept);
  EXPECT_EQ(back->metrics, m.metrics);
  EXPECT_EQ(back->rows, m.rows);
  EXPECT_EQ(back->created_at, m.created_at);
}

TEST(ManifestTest, DigestIgnoresCreatedAtAndDigestOnly) {
  json a = ToJson(SampleManifest());
  json b = a;
  b["created_at"] = "2030-05-05T05:05:05Z";
  b["digest"] = "whatever";
  EXPECT_EQ(ComputeDigest(a), ComputeDigest(b));
  EXPECT_TRUE(IsSha256Hex(ComputeDigest(a)));
  b["intercept"] = -9.4;
  EXPECT_NE(ComputeDigest(a), ComputeDigest(b));
  EXPECT_EQ(CanonicalContent(a).find("created_at"), std::string::npos);
  EXPECT_EQ(CanonicalContent(a).find('\n'), std::string::npos);
  EXPECT_EQ(CanonicalContent(a).rfind("{\"coefficients\":", 0), 0u);  // sorted, compact
}

struct FieldCase {
  const char* pointer;  // JSON pointer to edit
  json value;           // replacement; null => remove
  const char* message;
};

class ManifestFieldTest : public ::testing::TestWithParam<FieldCase> {};

TEST_P(ManifestFieldTest, NamesTheField) {
  json j = ToJson(SampleManifest());
  const FieldCase& c = GetParam();
  json::json_pointer p(c.pointer);
  if (c.value.is_null()) {
    j[p.parent_pointer()].erase(p.back());
  } else {
    j[p] = c.value;
  }
  auto m = ManifestFromJson(j);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(), c.message);
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ManifestFieldTest,
    ::testing::Values(
        FieldCase{"/intercept", nullptr, "manifest field 'intercept' is missing"},
        FieldCase{"/threshold", "high", "manifest field 'threshold' must be a number"},
        FieldCase{"/name", 3, "manifest field 'name' must be a string"},
        FieldCase{"/features/1/name", nullptr, "manifest field 'features[1].name' is missing"},
        FieldCase{"/features/0/type", "string",
                  "manifest field 'features[0].type' must be \"float64\""},
        FieldCase{"/coefficients", json::array({1.0}),
                  "manifest field 'coefficients' must hold 3 numbers (one per feature)"},
        FieldCase{"/preprocessing/1/mean", nullptr,
                  "manifest field 'preprocessing[1].mean' is missing"},
        FieldCase{"/preprocessing/0/function", "sqrt",
                  "manifest field 'preprocessing[0].function' must be \"log0.1\" or \"none\""},
        FieldCase{"/rows/train", "800", "manifest field 'rows.train' must be an integer"},
        FieldCase{"/metrics", json::array(), "manifest field 'metrics' must be an object"},
        FieldCase{
            "/kind", "tree",
            "manifest field 'kind' must be one of logistic_regression, xgboost (got \"tree\")"},
        FieldCase{"/format_version", 2,
                  "unsupported package format_version 2 (this mlfaas reads 1)"},
        FieldCase{"/format_version", "1", "manifest field 'format_version' must be an integer"},
        FieldCase{"/preprocessing/1/scale", json::array({1.0, 0.0, 1.0}),
                  "manifest model is invalid: scale for 'src_bytes' must be finite and > 0"}));

}  // namespace
}  // namespace mlfaas::package
