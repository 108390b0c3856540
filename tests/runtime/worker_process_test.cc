// The real `mlfaas-runtime` executable against a real in-test Runtime API server (127.0.0.1:0).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "package/package.h"
#include "runtime/fake_runtime_api.h"
#include "runtime/model_handler.h"
#include "runtime/test_model.h"
#include "testing/subprocess.h"

namespace mlfaas::runtime {
namespace {

using nlohmann::json;
using testing::BackgroundProcess;
using testing::FakeRuntimeApi;
using testing::PostedResult;

constexpr auto kWorkerTimeout = std::chrono::seconds(20);

class WorkerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(task_root_);
    testing::WriteTaskRoot(task_root_);
  }

  std::map<std::string, std::string> Env(const FakeRuntimeApi& api) const {
    return {{"AWS_LAMBDA_RUNTIME_API", api.endpoint()}, {"_HANDLER", "predict"},
            {"LAMBDA_TASK_ROOT", task_root_.string()},  {"AWS_LAMBDA_FUNCTION_NAME", "kdd99-test"},
            {"AWS_LAMBDA_FUNCTION_VERSION", "3"},       {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"},
            {"MLFAAS_MODEL_LOADING", "eager"}};
  }

  // Runs `argv` against `api` until it exits; returns its wait status.
  int RunWorker(const std::vector<std::string>& argv, FakeRuntimeApi& api,
                std::map<std::string, std::string> extra_env = {}) {
    auto env = Env(api);
    for (auto& [k, v] : extra_env) env[k] = v;
    BackgroundProcess worker(argv, env, log_.string());
    EXPECT_TRUE(api.Serve(kWorkerTimeout, [&] { return testing::ChildAlive(worker.pid()); }))
        << "worker hung";
    return worker.StopWith(0, kWorkerTimeout);  // signal 0: just wait for it to exit
  }

  TempDir dir_{"mlfaas-worker-process-test"};
  std::filesystem::path task_root_ = dir_.path() / "task";
  std::filesystem::path log_ = dir_.path() / "worker.log";
};

TEST_F(WorkerProcessTest, ServesEventsOverOneConnectionThenExitsWhenApiCloses) {
  const std::vector<std::string> events = testing::TestEvents();
  FakeRuntimeApi api(events);
  int status = RunWorker({MLFAAS_RUNTIME_BIN}, api);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);  // the Runtime API went away
  EXPECT_EQ(api.connections(), 1);    // keep-alive
  EXPECT_EQ(api.next_calls(), static_cast<int>(events.size()) + 1);

  // Same answers as the handler in-process, in order, with the Lambda error type header.
  auto predictor = std::make_shared<const model::Predictor>(testing::TestManifest().model);
  auto manifest = package::ReadManifestFile(task_root_ / "manifest.json");
  ASSERT_TRUE(manifest.ok());
  ModelHandler reference(predictor, ModelInfo{manifest->name, "3", manifest->digest});
  ASSERT_EQ(api.results().size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const PostedResult& r = api.results()[i];
    Response want = reference.HandleEvent(events[i]);
    EXPECT_EQ(r.request_id, "req-" + std::to_string(i));
    if (want.is_error) {
      EXPECT_EQ(r.kind, PostedResult::Kind::kError) << events[i];
      EXPECT_EQ(r.error_type_header, "InvalidInput");
      EXPECT_EQ(json::parse(r.body),
                json({{"errorType", want.error_type}, {"errorMessage", want.error_message}}));
    } else {
      EXPECT_EQ(r.kind, PostedResult::Kind::kResponse) << events[i];
      EXPECT_EQ(r.body, want.payload);
    }
  }
  std::string log = testing::Slurp(log_.string());
  EXPECT_NE(log.find("model kdd99-test digest " + manifest->digest), std::string::npos) << log;
}

TEST_F(WorkerProcessTest, BadManifestPostsInitErrorAndExitsNonZero) {
  ASSERT_TRUE(WriteFileAtomic(task_root_ / "manifest.json", "{\"truncated\": ").ok());
  FakeRuntimeApi api({"{}"});
  int status = RunWorker({MLFAAS_RUNTIME_BIN}, api);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  ASSERT_EQ(api.results().size(), 1u);
  EXPECT_EQ(api.results()[0].kind, PostedResult::Kind::kInitError);
  EXPECT_EQ(api.results()[0].error_type_header, "InitError");
  json body = json::parse(api.results()[0].body);
  EXPECT_EQ(body["errorType"], "InitError");
  EXPECT_NE(body["errorMessage"].get<std::string>().find("manifest.json"), std::string::npos);
  EXPECT_EQ(api.next_calls(), 0);
}

TEST_F(WorkerProcessTest, UnknownHandlerIsAnInitError) {
  FakeRuntimeApi api({"{}"});
  int status = RunWorker({MLFAAS_RUNTIME_BIN}, api, {{"_HANDLER", "app.lambda_handler"}});
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  ASSERT_EQ(api.results().size(), 1u);
  EXPECT_EQ(api.results()[0].kind, PostedResult::Kind::kInitError);
}

TEST_F(WorkerProcessTest, ExitsWhenRuntimeApiIsUnreachable) {
  std::string endpoint;
  {
    FakeRuntimeApi closed({});
    endpoint = closed.endpoint();
  }  // port released: connecting is refused
  auto r = testing::RunCommand(
      {MLFAAS_RUNTIME_BIN},
      {{"AWS_LAMBDA_RUNTIME_API", endpoint}, {"LAMBDA_TASK_ROOT", task_root_.string()}},
      kWorkerTimeout);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("mlfaas-runtime: "), std::string::npos) << r.err;
}

TEST_F(WorkerProcessTest, MissingRuntimeApiVariableIsAUsageError) {
  auto r = testing::RunCommand({"/usr/bin/env", "-u", "AWS_LAMBDA_RUNTIME_API", MLFAAS_RUNTIME_BIN},
                               {}, kWorkerTimeout);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("AWS_LAMBDA_RUNTIME_API is not set"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mlfaas::runtime
