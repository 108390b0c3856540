// examples/python: the stdlib-only Python bootstrap, bundled with make_bundle.sh and extracted
// as the gateway does, must answer every event like the C++ worker (same Runtime API server).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <csignal>
#include <nlohmann/json.hpp>
#include <set>

#include "common/fs.h"
#include "package/package.h"
#include "runtime/fake_runtime_api.h"
#include "runtime/test_model.h"
#include "testing/subprocess.h"
#include "testing/system_python.h"

namespace mlfaas::runtime {
namespace {

using nlohmann::json;
using testing::BackgroundProcess;
using testing::FakeRuntimeApi;
using testing::PostedResult;

constexpr auto kPythonTimeout = std::chrono::seconds(30);
const std::string kPythonExample = std::string(MLFAAS_SOURCE_DIR) + "/examples/python";

class PythonRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(model_dir_);
    testing::WriteTaskRoot(model_dir_);  // also leaves model.zip next to it
    auto r = testing::RunCommand(
        {kPythonExample + "/make_bundle.sh", model_zip_.string(), bundle_.string()},
        testing::WithSystemPython(), kPythonTimeout);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::filesystem::create_directories(bundle_dir_);
    Status st = package::ExtractPackage(bundle_, bundle_dir_);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // Runs `argv` with LAMBDA_TASK_ROOT=`task_root` against a fresh Runtime API serving `events`.
  std::vector<PostedResult> Run(const std::vector<std::string>& argv,
                                const std::filesystem::path& task_root,
                                const std::vector<std::string>& events, int* exit_status) {
    FakeRuntimeApi api(events);
    BackgroundProcess worker(argv,
                             testing::WithSystemPython({{"AWS_LAMBDA_RUNTIME_API", api.endpoint()},
                                                        {"_HANDLER", "predict"},
                                                        {"LAMBDA_TASK_ROOT", task_root.string()},
                                                        {"AWS_LAMBDA_FUNCTION_VERSION", "5"}}),
                             (dir_.path() / "worker.log").string());
    EXPECT_TRUE(api.Serve(kPythonTimeout, [&] { return testing::ChildAlive(worker.pid()); }))
        << "worker hung";
    *exit_status = worker.StopWith(0, kPythonTimeout);
    return api.results();
  }

  TempDir dir_{"mlfaas-python-runtime-test"};
  std::filesystem::path model_dir_ = dir_.path() / "model";
  std::filesystem::path model_zip_ = dir_.path() / "model.zip";
  std::filesystem::path bundle_ = dir_.path() / "bundle.zip";
  std::filesystem::path bundle_dir_ = dir_.path() / "bundle";
};

TEST_F(PythonRuntimeTest, BundleIsACustomRuntimeWithTheModel) {
  auto info = package::InspectCode(bundle_);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(info->has_bootstrap);
  ASSERT_TRUE(info->manifest.has_value());
  EXPECT_EQ(info->manifest->name, testing::TestManifest().name);
}

TEST_F(PythonRuntimeTest, AnswersLikeTheCppWorker) {
  const std::vector<std::string> events = testing::TestEvents();
  int py_status = 0, cpp_status = 0;
  auto py = Run({(bundle_dir_ / "bootstrap").string()}, bundle_dir_, events, &py_status);
  auto cpp = Run({MLFAAS_RUNTIME_BIN}, model_dir_, events, &cpp_status);
  EXPECT_TRUE(WIFEXITED(py_status) && WEXITSTATUS(py_status) == 1) << py_status;
  ASSERT_EQ(py.size(), events.size()) << testing::Slurp((dir_.path() / "worker.log").string());
  ASSERT_EQ(cpp.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE(events[i]);
    ASSERT_EQ(py[i].kind, cpp[i].kind) << py[i].body << " vs " << cpp[i].body;
    EXPECT_EQ(py[i].request_id, cpp[i].request_id);
    EXPECT_EQ(py[i].error_type_header, cpp[i].error_type_header);
    json p = json::parse(py[i].body), c = json::parse(cpp[i].body);
    if (py[i].kind == PostedResult::Kind::kError) {
      EXPECT_EQ(p["errorType"], c["errorType"]);
      // Same messages, except the JSON parsers' own details after this prefix.
      const std::string kParse = "event is not valid JSON: ";
      std::string pm = p["errorMessage"], cm = c["errorMessage"];
      if (cm.starts_with(kParse)) {
        EXPECT_TRUE(pm.starts_with(kParse)) << pm;
      } else {
        EXPECT_EQ(pm, cm);
      }
      continue;
    }
    testing::ExpectSamePredictions(p, c);
  }
}

TEST_F(PythonRuntimeTest, TamperedManifestIsAnInitError) {
  json m = json::parse(ReadFile(bundle_dir_ / "manifest.json").value());
  m["threshold"] = 0.1;
  ASSERT_TRUE(WriteFileAtomic(bundle_dir_ / "manifest.json", m.dump()).ok());
  int status = 0;
  auto results = Run({(bundle_dir_ / "bootstrap").string()}, bundle_dir_, {"{}"}, &status);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].kind, PostedResult::Kind::kInitError);
  EXPECT_EQ(json::parse(results[0].body)["errorType"], "InitError");
}

TEST_F(PythonRuntimeTest, MaxConcurrencyRunsThatManyLoopsEachWithItsOwnLongPoll) {
  const std::vector<std::string> events = testing::TestEvents();
  int status = 0;
  FakeRuntimeApi api(events);
  api.HoldNextsUntil(3);  // the worker hangs unless three `next` calls are open together
  {
    BackgroundProcess worker({(bundle_dir_ / "bootstrap").string()},
                             testing::WithSystemPython({{"AWS_LAMBDA_RUNTIME_API", api.endpoint()},
                                                        {"LAMBDA_TASK_ROOT", bundle_dir_.string()},
                                                        {"AWS_LAMBDA_FUNCTION_VERSION", "5"},
                                                        {"AWS_LAMBDA_MAX_CONCURRENCY", "3"}}),
                             (dir_.path() / "worker.log").string());
    const bool served =
        api.Serve(kPythonTimeout, [&] { return testing::ChildAlive(worker.pid()); });
    EXPECT_TRUE(served) << "never three long polls at once: "
                        << testing::Slurp((dir_.path() / "worker.log").string());
    status = worker.StopWith(served ? 0 : SIGKILL, kPythonTimeout);  // it exits by itself
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  EXPECT_EQ(api.most_waiting_nexts(), 3);
  EXPECT_EQ(api.connections(), 3);
  ASSERT_EQ(api.results().size(), events.size())
      << testing::Slurp((dir_.path() / "worker.log").string());
  std::set<std::string> ids;
  for (const auto& r : api.results()) {
    EXPECT_NE(r.kind, PostedResult::Kind::kInitError) << r.body;
    EXPECT_TRUE(ids.insert(r.request_id).second) << r.request_id;
  }
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(ids.count("req-" + std::to_string(i)), 1u);
}

TEST_F(PythonRuntimeTest, BadMaxConcurrencyIsAnInitError) {
  FakeRuntimeApi api({"{}"});
  BackgroundProcess worker({(bundle_dir_ / "bootstrap").string()},
                           testing::WithSystemPython({{"AWS_LAMBDA_RUNTIME_API", api.endpoint()},
                                                      {"LAMBDA_TASK_ROOT", bundle_dir_.string()},
                                                      {"AWS_LAMBDA_MAX_CONCURRENCY", "05"}}),
                           (dir_.path() / "worker.log").string());
  const bool served = api.Serve(kPythonTimeout, [&] { return testing::ChildAlive(worker.pid()); });
  EXPECT_TRUE(served);
  const int status = worker.StopWith(served ? 0 : SIGKILL, kPythonTimeout);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  ASSERT_EQ(api.results().size(), 1u);
  EXPECT_EQ(api.results()[0].kind, PostedResult::Kind::kInitError);
  const std::string message = json::parse(api.results()[0].body)["errorMessage"];
  EXPECT_NE(message.find("AWS_LAMBDA_MAX_CONCURRENCY"), std::string::npos) << message;
  EXPECT_NE(message.find("'05'"), std::string::npos) << message;
}

}  // namespace
}  // namespace mlfaas::runtime
