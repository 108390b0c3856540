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
  config_.lazy_loading = true;
  transport_.Add(R"({"duration":0,"src_bytes":215,"dst_bytes":45076})");
  // No manifest yet: a lazy worker must not touch it before the first invocation... which fails.
  Status st = RunWorkerWith(config_, transport_);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(transport_.posts.size(), 1u);
  EXPECT_EQ(transport_.posts[0].kind, "error");
  EXPECT_EQ(json::parse(transport_.posts[0].body)["errorType"], "InitError");
}

TEST_F(WorkerTest, LazyLoadingServesOnceLoaded) {
  config_.lazy_loading = true;
  WriteModel();
  transport_.Add(R"({"duration":0,"src_bytes":215,"dst_bytes":45076})");
  transport_.Add(R"({"duration":1,"src_bytes":215,"dst_bytes":45076})");
  (void)RunWorkerWith(config_, transport_);
  ASSERT_EQ(transport_.posts.size(), 2u);
  EXPECT_EQ(transport_.posts[0].kind, "response");
  EXPECT_EQ(transport_.posts[1].kind, "response");
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
  EXPECT_TRUE(c->lazy_loading);
}

TEST_F(WorkerConfigTest, DefaultsAreEagerLatestAndCwd) {
  auto c = WorkerConfigFromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->lazy_loading);
  EXPECT_EQ(c->function_version, "$LATEST");
  EXPECT_EQ(c->task_root, ".");
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
