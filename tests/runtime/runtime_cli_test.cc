// `mlfaas runtime` (the worker inside the CLI) serving a model trained by `mlfaas train` on the
// shipped data, compared with the Python example on the same package.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "gateway/http_client.h"
#include "package/package.h"
#include "runtime/adapter_process.h"
#include "runtime/fake_runtime_api.h"
#include "runtime/test_model.h"
#include "testing/kdd_package.h"
#include "testing/subprocess.h"
#include "testing/system_python.h"

namespace mlfaas::runtime {
namespace {

using nlohmann::json;
using testing::BackgroundProcess;
using testing::FakeRuntimeApi;
using testing::PostedResult;

constexpr auto kCliTimeout = std::chrono::seconds(60);

std::vector<PostedResult> Serve(const std::vector<std::string>& argv,
                                const std::filesystem::path& task_root,
                                const std::vector<std::string>& events,
                                const std::filesystem::path& log, int* exit_status) {
  FakeRuntimeApi api(events);
  // The python example runs `/usr/bin/env python3`: Debian's.
  BackgroundProcess worker(argv,
                           testing::WithSystemPython({{"AWS_LAMBDA_RUNTIME_API", api.endpoint()},
                                                      {"_HANDLER", "predict"},
                                                      {"LAMBDA_TASK_ROOT", task_root.string()},
                                                      {"AWS_LAMBDA_FUNCTION_VERSION", "1"}}),
                           log.string());
  EXPECT_TRUE(api.Serve(kCliTimeout, [&] { return testing::ChildAlive(worker.pid()); }));
  *exit_status = worker.StopWith(0, kCliTimeout);
  return api.results();
}

TEST(RuntimeCliTest, ServesATrainedModelLikeThePythonExample) {
  TempDir dir("mlfaas-runtime-cli-test");
  const auto pkg = dir.path() / "kdd.zip";
  const testing::TrainedKdd trained = testing::CopyTrainedKddPackage(pkg);
  ASSERT_TRUE(trained.ok) << trained.err;
  const auto task = dir.path() / "task";
  std::filesystem::create_directories(task);
  ASSERT_TRUE(package::ExtractPackage(pkg, task).ok());

  const std::vector<std::string> events = {
      R"({"duration":0,"src_bytes":215,"dst_bytes":45076})",
      R"({"duration":0,"src_bytes":54540,"dst_bytes":8314})",
      R"({"instances":[{"duration":0,"src_bytes":181,"dst_bytes":5450},)"
      R"({"duration":0,"src_bytes":54540,"dst_bytes":8314},{"duration":3,"src_bytes":0,"dst_bytes":0}]})",
      R"({"duration":0,"src_bytes":215})",
  };
  int cli_status = 0, py_status = 0;
  auto cli = Serve({MLFAAS_BIN, "runtime"}, task, events, dir.path() / "cli.log", &cli_status);
  auto py = Serve({MLFAAS_SOURCE_DIR "/examples/python/bootstrap"}, task, events,
                  dir.path() / "py.log", &py_status);
  EXPECT_TRUE(WIFEXITED(cli_status) && WEXITSTATUS(cli_status) == 1) << cli_status;
  EXPECT_NE(testing::Slurp((dir.path() / "cli.log").string()).find("model kdd99-anomaly"),
            std::string::npos);
  ASSERT_EQ(cli.size(), events.size()) << testing::Slurp((dir.path() / "cli.log").string());
  ASSERT_EQ(py.size(), events.size()) << testing::Slurp((dir.path() / "py.log").string());

  json first = json::parse(cli[0].body);
  EXPECT_FALSE(first["predictions"][0]["anomaly"].get<bool>());  // the study's normal example
  EXPECT_TRUE(json::parse(cli[1].body)["predictions"][0]["anomaly"].get<bool>());  // huge upload
  EXPECT_EQ(first["model"]["name"], "kdd99-anomaly");
  EXPECT_EQ(first["model"]["version"], "1");
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(cli[i].kind, py[i].kind) << events[i];
    json c = json::parse(cli[i].body), p = json::parse(py[i].body);
    if (cli[i].kind == PostedResult::Kind::kError) {
      EXPECT_EQ(c, p);
      continue;
    }
    testing::ExpectSamePredictions(c, p);
  }
}

TEST(RuntimeCliTest, HttpAdapterModeServesTheSameAnswersAsMlfaasRuntime) {
  TempDir dir("mlfaas-runtime-cli-http-test");
  const auto task = dir.path() / "task";
  std::filesystem::create_directories(task);
  testing::WriteTaskRoot(task);
  const std::map<std::string, std::string> env = {{"LAMBDA_TASK_ROOT", task.string()},
                                                  {"AWS_LAMBDA_FUNCTION_NAME", "fraud"}};
  testing::AdapterProcess cli({MLFAAS_BIN, "runtime", "--http", "127.0.0.1:0"}, env,
                              (dir.path() / "cli.log").string());
  testing::AdapterProcess standalone({MLFAAS_RUNTIME_BIN, "--http", "127.0.0.1:0"}, env,
                                     (dir.path() / "standalone.log").string());
  ASSERT_NE(cli.port(), 0) << cli.log();
  ASSERT_NE(standalone.port(), 0) << standalone.log();
  testing::HttpClient a(cli.port()), b(standalone.port());
  for (const std::string& event : testing::TestEvents()) {
    auto x = a.Post("/", event), y = b.Post("/", event);
    EXPECT_EQ(x.status, y.status) << event;
    EXPECT_EQ(x.body, y.body) << event;
  }
  EXPECT_EQ(a.Get("/v2/models/fraud").body, b.Get("/v2/models/fraud").body);
  const int status = cli.process().StopWith(SIGTERM, std::chrono::seconds(10));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << cli.log();
}

}  // namespace
}  // namespace mlfaas::runtime
