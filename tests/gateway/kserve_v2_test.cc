// The model API's pure parts: KServe V2 infer bodies to events (gateway/frontend/kserve_v2.h) and
// the feature lists read from manifests (gateway/frontend/model_schema.h). End to end, with a
// real model: tests/integration/serving_e2e_test.cc.
#include "gateway/frontend/kserve_v2.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/fs.h"
#include "gateway/frontend/model_schema.h"

namespace mlfaas::gateway {
namespace {

using nlohmann::json;

const std::vector<std::string> kFeatures = {"duration", "src_bytes", "dst_bytes"};

StatusOr<kserve::InferRequest> Convert(const std::string& body,
                                       const std::vector<std::string>& features = kFeatures) {
  return kserve::ToEvent(json::parse(body), features);
}

std::string Error(const std::string& body, const std::vector<std::string>& features = kFeatures) {
  auto r = Convert(body, features);
  EXPECT_FALSE(r.ok()) << body;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().message();
  return r.status().message();
}

TEST(KServeV2Test, PerFeatureInputsBecomeInstancesInInputOrder) {
  auto r = Convert(R"({"id":"a","inputs":[
      {"name":"src_bytes","shape":[2],"datatype":"FP64","data":[215,1e6]},
      {"name":"duration","shape":[2,1],"datatype":"INT32","data":[[0],[3]]},
      {"name":"dst_bytes","data":[45076,0]}]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->event, R"({"instances":[{"src_bytes":215,"duration":0,"dst_bytes":45076},)"
                      R"({"src_bytes":1000000.0,"duration":3,"dst_bytes":0}]})");
  EXPECT_EQ(r->rows, 2u);
  EXPECT_FALSE(r->tensor);
  EXPECT_EQ(r->id, "a");
  EXPECT_TRUE(r->outputs.empty());
  EXPECT_FALSE(kserve::NeedsFeatures(json::parse(R"({"inputs":[{"shape":[2]}]})")));
}

TEST(KServeV2Test, TensorFormFlatAndNestedGiveTheSameEventInFeatureOrder) {
  const std::string want = R"({"instances":[{"duration":0,"src_bytes":215,"dst_bytes":45076},)"
                           R"({"duration":3,"src_bytes":1000000,"dst_bytes":0}]})";
  for (const char* data : {"[0,215,45076,3,1000000,0]", "[[0,215,45076],[3,1000000,0]]"}) {
    const std::string body = std::string(R"({"inputs":[{"name":"input-0","shape":[2,3],)") +
                             R"("datatype":"FP32","data":)" + data + "}]}";
    EXPECT_TRUE(kserve::NeedsFeatures(json::parse(body)));
    auto r = Convert(body);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->event, want) << data;
    EXPECT_TRUE(r->tensor);
    EXPECT_EQ(r->rows, 2u);
  }
}

TEST(KServeV2Test, AnNx1InputNamedAfterAFeatureIsItsColumn) {
  const std::vector<std::string> one = {"x"};
  auto column = Convert(R"({"inputs":[{"name":"x","shape":[2,1],"data":[1,2]}]})", one);
  ASSERT_TRUE(column.ok()) << column.status().message();
  EXPECT_FALSE(column->tensor);
  auto tensor = Convert(R"({"inputs":[{"name":"input-0","shape":[2,1],"data":[1,2]}]})", one);
  ASSERT_TRUE(tensor.ok()) << tensor.status().message();
  EXPECT_TRUE(tensor->tensor);
  EXPECT_EQ(tensor->event, column->event);
  // Without a feature list, an [N, 1] input is a column; a wider tensor cannot be mapped.
  EXPECT_TRUE(Convert(R"({"inputs":[{"name":"a","shape":[2,1],"data":[1,2]}]})", {}).ok());
  EXPECT_NE(
      Error(R"({"inputs":[{"name":"a","shape":[1,3],"data":[1,2,3]}]})", {}).find("declares none"),
      std::string::npos);
}

TEST(KServeV2Test, BadBodiesNameTheProblem) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"inputs":[]})", "expected {\"inputs\""},
      {R"([1])", "expected {\"inputs\""},
      {R"({"inputs":[5]})", "inputs[0] is not an object"},
      {R"({"inputs":[{"data":[1]}]})", "inputs[0]: missing \"name\""},
      {R"({"inputs":[{"name":"a"}]})", "missing \"data\""},
      {R"({"inputs":[{"name":"a","datatype":7,"data":[1]}]})", "\"datatype\" is not a string"},
      {R"({"inputs":[{"name":"a","datatype":"BOOL","data":[true]}]})", "is not numeric"},
      {R"({"inputs":[{"name":"a","shape":[],"data":[]}]})", "\"shape\" must be a list"},
      {R"({"inputs":[{"name":"a","shape":[1.5],"data":[1]}]})", "non-negative integers"},
      {R"({"inputs":[{"name":"a","shape":[18446744073709551615],"data":[1]}]})", "too large"},
      {R"({"inputs":[{"name":"a","shape":[1048576,1048576],"data":[1]}]})", "too large"},
      {R"({"inputs":[{"name":"a","shape":[2],"data":[1]}]})", "says 2 values, \"data\" has 1"},
      {R"({"inputs":[{"name":"a","shape":[2],"data":[[1],[2]]}]})", "does not have the shape"},
      {R"({"inputs":[{"name":"a","shape":[1,2],"data":[1,2]},{"name":"b","data":[1]}]})",
       "is not a feature column"},
      {R"({"inputs":[{"name":"a","data":[1]},{"name":"a","data":[2]}]})", "repeats inputs[0]"},
      {R"({"inputs":[{"name":"a","data":[1]},{"name":"b","data":[1,2]}]})",
       "has 2 values, inputs[0] has 1"},
      {R"({"inputs":[{"name":"a","data":[]}]})", "has no values"},
      {R"({"inputs":[{"name":"t","shape":[1,3],"data":[1,null,3]}]})", "column 1 ('src_bytes')"},
      {R"({"inputs":[{"name":"t","shape":[1,2],"data":[1,2]}]})", "the model takes 3 features"},
      {R"({"inputs":[{"name":"a","data":[1]}],"outputs":{}})", "\"outputs\" must be a list"},
      {R"({"inputs":[{"name":"a","data":[1]}],"outputs":[{}]})", "outputs[0]: missing \"name\""},
      {R"({"inputs":[{"name":"a","data":[1]}],"outputs":[{"name":"x"}]})", "unknown output 'x'"},
      {R"({"inputs":[{"name":"a","data":[1]}],"outputs":[{"name":"anomaly"},{"name":"anomaly"}]})",
       "asked for twice"},
  };
  for (const auto& [body, message] : cases) {
    EXPECT_NE(Error(body).find(message), std::string::npos) << body << " -> " << Error(body);
  }
}

TEST(KServeV2Test, EventsStayWithinTheLambdaPayloadLimit) {
  // A 100 KB name repeated over 100 rows would make a 10 MB event from a 100 KB body.
  json body = {{"inputs", {{{"name", std::string(100000, 'n')}, {"data", json::array()}}}}};
  for (int i = 0; i < 100; ++i) body["inputs"][0]["data"].push_back(i);
  auto r = kserve::ToEvent(body, kFeatures);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("over 6 MiB"), std::string::npos) << r.status().message();
  // One value over the limit on its own, found while writing.
  json big = {{"inputs", {{{"name", "a"}, {"data", {std::string(7 << 20, 'x')}}}}}};
  EXPECT_FALSE(kserve::ToEvent(big, kFeatures).ok());
}

TEST(KServeV2Test, OutputsFollowTheRequestedOrder) {
  const json predictions =
      json::parse(R"([{"anomaly":false,"probability":0.25},{"anomaly":true,"probability":0.75}])");
  auto all = kserve::Outputs(predictions, {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, json::parse(R"([{"name":"probability","datatype":"FP64","shape":[2],)"
                              R"("data":[0.25,0.75]},{"name":"anomaly","datatype":"BOOL",)"
                              R"("shape":[2],"data":[false,true]}])"));
  auto one = kserve::Outputs(predictions, {"anomaly"});
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0]["name"], "anomaly");
  EXPECT_FALSE(kserve::Outputs(predictions, {"nope"}).ok());
  EXPECT_FALSE(kserve::Outputs(json::parse(R"([{"probability":"x","anomaly":true}])"), {}).ok());
  EXPECT_EQ(kserve::InputsMetadata({"a"}),
            json::parse(R"([{"name":"a","datatype":"FP64","shape":[-1]}])"));
}

TEST(ModelSchemaTest, FeaturesFromManifest) {
  auto ok = FeaturesFromManifest(
      R"({"digest":"d","features":[{"name":"a","type":"float64"},{"name":"b"}]})", "d");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(*ok, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(
      FeaturesFromManifest(R"({"digest":"e","features":[{"name":"a"}]})", "d").status().code(),
      StatusCode::kDataLoss);
  EXPECT_FALSE(FeaturesFromManifest(R"({"digest":"d","features":[]})", "d").ok());
  EXPECT_FALSE(FeaturesFromManifest(R"({"digest":"d","features":[{"name":""}]})", "d").ok());
  EXPECT_FALSE(
      FeaturesFromManifest(R"({"digest":"d","features":[{"name":"a"},{"name":"a"}]})", "d").ok());
  EXPECT_FALSE(FeaturesFromManifest("{", "d").ok());
}

TEST(ModelSchemaTest, CacheReadsEachCodeOnceAndStaysBounded) {
  TempDir tmp("mlfaas-schema");
  auto version = [&tmp](const std::string& digest) {
    registry::VersionInfo v;
    v.code_digest = digest;
    v.model_digest = "m-" + digest;
    std::filesystem::create_directories(tmp.path() / digest);
    std::ofstream(tmp.path() / digest / "manifest.json")
        << R"({"digest":"m-)" << digest << R"(","features":[{"name":"f-)" << digest << R"("}]})";
    return v;
  };
  int reads = 0;
  auto code_dir = [&tmp,
                   &reads](const registry::VersionInfo& v) -> StatusOr<std::filesystem::path> {
    ++reads;
    if (v.code_digest == "missing") return NotFound("no such code");
    return tmp.path() / v.code_digest;
  };
  ModelSchemaCache cache(/*max_entries=*/2, /*max_bytes=*/1 << 20);
  const auto a = version("a"), b = version("b"), c = version("c");
  EXPECT_EQ(cache.Cached(a), nullptr);
  auto fa = cache.Load(a, code_dir);
  ASSERT_TRUE(fa.ok()) << fa.status().message();
  EXPECT_EQ(**fa, std::vector<std::string>{"f-a"});
  ASSERT_TRUE(cache.Load(a, code_dir).ok());
  EXPECT_EQ(reads, 1);
  ASSERT_NE(cache.Cached(a), nullptr);
  ASSERT_TRUE(cache.Load(b, code_dir).ok());
  ASSERT_TRUE(cache.Load(c, code_dir).ok());  // evicts a, the oldest
  EXPECT_EQ(cache.Cached(a), nullptr);
  EXPECT_NE(cache.Cached(c), nullptr);
  // No manifest (a custom-runtime bundle): no features, no read.
  registry::VersionInfo bundle;
  bundle.code_digest = "bundle";
  ASSERT_NE(cache.Cached(bundle), nullptr);
  EXPECT_TRUE(cache.Cached(bundle)->empty());
  // Errors are not cached.
  registry::VersionInfo missing;
  missing.code_digest = "missing";
  missing.model_digest = "x";
  const int before = reads;
  EXPECT_FALSE(cache.Load(missing, code_dir).ok());
  EXPECT_FALSE(cache.Load(missing, code_dir).ok());
  EXPECT_EQ(reads, before + 2);
}

}  // namespace
}  // namespace mlfaas::gateway
