// RunWorkerWith over the fake transport: init, init errors and lazy loading, no sockets.
#include "runtime/worker.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "runtime/fake_transport.h"
#include "runtime/test_model.h"

namespace mlfaas::runtime {
namespace {

using nlohmann::json;
using testing::FakeTransport;

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.task_root = dir_.path() / "task";
    std::filesystem::create_directories(config_.task_root);
    config_.function_version = "4";
  }
  void WriteModel() { testing::WriteTaskRoot(config_.task_root); }
  std::filesystem::path manifest() const { return config_.task_root / "manifest.json"; }

  TempDir dir_{"mlfaas-worker-test"};
  WorkerConfig config_;
  FakeTransport transport_;
};

TEST_F(WorkerTest, EagerInitThenServes) {
  WriteModel();
  transport_.Add(R"({"duration":0,"src_bytes":215,"dst_bytes":45076})");
  transport_.Add(R"({"duration":0})");
  Status st = RunWorkerWith(config_, transport_);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  ASSERT_EQ(transport_.posts.size(), 2u);
  EXPECT_EQ(transport_.posts[0].kind, "response");
  json result = json::parse(transport_.posts[0].body);
  EXPECT_EQ(result["model"]["name"], "kdd99-test");
  EXPECT_EQ(result["model"]["version"], "4");
  EXPECT_EQ(result["model"]["digest"].get<std::string>().size(), 64u);
  EXPECT_EQ(transport_.posts[1].kind, "error");
  EXPECT_EQ(json::parse(transport_.posts[1].body)["errorType"], "InvalidInput");
}

TEST_F(WorkerTest, MissingManifestIsAnInitError) {
  transport_.Add("{}");
  Status st = RunWorkerWith(config_, transport_);
  EXPECT_FALSE(st.ok());
  ASSERT_EQ(transport_.posts.size(), 1u);
  EXPECT_EQ(transport_.posts[0].kind, "init_error");
  json body = json::parse(transport_.posts[0].body);
  EXPECT_EQ(body["errorType"], "InitError");
  EXPECT_NE(body["errorMessage"].get<std::string>().find("manifest.json"), std::string::npos);
  EXPECT_EQ(transport_.next_calls, 0);  // never asks for work after a failed init
}

TEST_F(WorkerTest, TamperedManifestIsAnInitError) {
  WriteModel();
  json m = json::parse(ReadFile(manifest()).value());
  m["intercept"] = 5.0;  // digest no longer matches
  ASSERT_TRUE(WriteFileAtomic(manifest(), m.dump()).ok());
  Status st = RunWorkerWith(config_, transport_);
  EXPECT_FALSE(st.ok());
  ASSERT_EQ(transport_.posts.size(), 1u);
  EXPECT_EQ(transport_.posts[0].kind, "init_error");
}

TEST_F(WorkerTest, LazyLoadingReadsTheModelOnFirstInvocation) {
  config_.loading = ModelLoading::kLazy;
  transport_.Add(R"({"duration":0,"src_bytes":215,"dst_bytes":45076})");
  // No manifest yet: a lazy worker must not touch it before the first invocation... which fails.
  Status st = RunWorkerWith(config_, transport_);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(transport_.posts.size(), 1u);
  EXPECT_EQ(transport_.posts[0].kind, "error");
  EXPECT_EQ(json::parse(transport_.posts[0].body)["errorType"], "InitError");
}

TEST_F(WorkerTest, LazyLoadingServesOnceLoaded) {
  config_.loading = ModelLoading::kLazy;
  WriteModel();
  transport_.Add(R"({"duration":0,"src_bytes":215,"dst_bytes":45076})");
  transport_.Add(R"({"duration":1,"src_bytes":215,"dst_bytes":45076})");
  (void)RunWorkerWith(config_, transport_);
  ASSERT_EQ(transport_.posts.size(), 2u);
  EXPECT_EQ(transport_.posts[0].kind, "response");
  EXPECT_EQ(transport_.posts[1].kind, "response");
}

TEST_F(WorkerTest, PerInvokeLoadsTheModelOnEveryInvocation) {
  config_.loading = ModelLoading::kPerInvoke;
  // Nothing is read at init: the first invocation finds no manifest and fails alone (InitError);
  // the worker goes on serving, and reads the manifest again for each invocation after.
  transport_.Add(R"({"duration":0,"src_bytes":215,"dst_bytes":45076})");
  transport_.Add(R"({"duration":0,"src_bytes":215,"dst_bytes":45076})");
  transport_.Add(R"({"duration":0,"src_bytes":215,"dst_bytes":45076})");
  transport_.on_next = [this](int call) {
    if (call == 2) WriteModel();  // appears between the first and second invocation
    if (call == 3) {              // changes between the second and third
      json m = json::parse(ReadFile(manifest()).value());
      m["name"] = "renamed";  // the digest no longer matches: per-invoke sees it
      ASSERT_TRUE(WriteFileAtomic(manifest(), m.dump()).ok());
    }
  };
  Status st = RunWorkerWith(config_, transport_);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  ASSERT_EQ(transport_.posts.size(), 3u);
  EXPECT_EQ(transport_.posts[0].kind, "error");
  EXPECT_EQ(json::parse(transport_.posts[0].body)["errorType"], "InitError");
  EXPECT_EQ(transport_.posts[1].kind, "response");
  EXPECT_EQ(json::parse(transport_.posts[1].body)["model"]["name"], "kdd99-test");
  EXPECT_EQ(transport_.posts[2].kind, "error");
  EXPECT_EQ(json::parse(transport_.posts[2].body)["errorType"], "InitError");
}

TEST_F(WorkerTest, EveryStrategyGivesTheSamePredictions) {
  WriteModel();
  const std::string batch =
      R"({"instances":[{"duration":0,"src_bytes":215,"dst_bytes":45076},)"
      R"({"duration":3,"src_bytes":54540,"dst_bytes":8314},{"duration":0,"src_bytes":0,"dst_bytes":0}]})";
  std::vector<std::string> bodies;
  for (ModelLoading m : {ModelLoading::kInit, ModelLoading::kPerInvoke, ModelLoading::kLazy,
                         ModelLoading::kSnapshot}) {
    FakeTransport transport;
    transport.Add(batch);
    transport.Add(batch);
    WorkerConfig c = config_;
    c.loading = m;
    (void)RunWorkerWith(c, transport);
    ASSERT_EQ(transport.posts.size(), 2u) << ModelLoadingName(m);
    EXPECT_EQ(transport.posts[0].kind, "response") << ModelLoadingName(m);
    EXPECT_EQ(transport.posts[0].body, transport.posts[1].body) << ModelLoadingName(m);
    bodies.push_back(transport.posts[0].body);
  }
  for (const auto& b : bodies) EXPECT_EQ(b, bodies[0]);  // byte for byte
  EXPECT_EQ(json::parse(bodies[0])["predictions"].size(), 3u);
}

class WorkerConfigTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const char* v : {"MLFAAS_MODEL_LOADING", "_HANDLER", "AWS_LAMBDA_FUNCTION_VERSION",
                          "LAMBDA_TASK_ROOT", "AWS_LAMBDA_RUNTIME_API"}) {
      unsetenv(v);
    }
  }
};

TEST_F(WorkerConfigTest, ReadsTheLambdaEnvironment) {
  setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001", 1);
  setenv("LAMBDA_TASK_ROOT", "/var/task", 1);
  setenv("AWS_LAMBDA_FUNCTION_VERSION", "12", 1);
  setenv("_HANDLER", "predict", 1);
  setenv("MLFAAS_MODEL_LOADING", "lazy", 1);
  auto c = WorkerConfigFromEnv();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->runtime_api, "127.0.0.1:9001");
  EXPECT_EQ(c->task_root, "/var/task");
  EXPECT_EQ(c->function_version, "12");
  EXPECT_EQ(c->loading, ModelLoading::kLazy);
}

TEST_F(WorkerConfigTest, DefaultsAreEagerLatestAndCwd) {
  auto c = WorkerConfigFromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->loading, ModelLoading::kInit);
  EXPECT_EQ(c->function_version, "$LATEST");
  EXPECT_EQ(c->task_root, ".");
}

TEST_F(WorkerConfigTest, ReadsEveryLoadingStrategyAndEagerAsInit) {
  const std::pair<const char*, ModelLoading> cases[] = {{"init", ModelLoading::kInit},
                                                        {"eager", ModelLoading::kInit},
                                                        {"lazy", ModelLoading::kLazy},
                                                        {"per-invoke", ModelLoading::kPerInvoke},
                                                        {"snapshot", ModelLoading::kSnapshot}};
  for (const auto& [name, want] : cases) {
    setenv("MLFAAS_MODEL_LOADING", name, 1);
    auto c = WorkerConfigFromEnv();
    ASSERT_TRUE(c.ok()) << name;
    EXPECT_EQ(c->loading, want) << name;
  }
}

TEST_F(WorkerConfigTest, RejectsUnknownLoadingModeAndHandler) {
  setenv("MLFAAS_MODEL_LOADING", "sometimes", 1);
  auto c = WorkerConfigFromEnv();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("MLFAAS_MODEL_LOADING"), std::string::npos);
  unsetenv("MLFAAS_MODEL_LOADING");
  setenv("_HANDLER", "index.handler", 1);
  c = WorkerConfigFromEnv();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("_HANDLER"), std::string::npos);
}

}  // namespace
}  // namespace mlfaas::runtime
