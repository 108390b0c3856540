// mlfaas-bootstrap, the static build of the worker for AWS Lambda's provided.al2023: no dynamic
// dependency, and the Lambda contract as Lambda runs it: a clean directory, only the variables
// Lambda sets, the package extracted in LAMBDA_TASK_ROOT, an HTTP Runtime API.
//
// The Runtime API here is FakeRuntimeApi (a real Beast HTTP server on 127.0.0.1:0): the
// gateway's own Runtime API (gateway/pool/runtime_api.cc) exists only per instance, inside
// `mlfaas serve`, listening where the gateway started that instance and admitting only its
// uid, so a process the test starts cannot be pointed at it. bootstrap_serve_test.cc runs the
// bootstrap under the real gateway as a `provided` function instead.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "common/fs.h"
#include "package/package.h"
#include "runtime/fake_runtime_api.h"
#include "runtime/model_handler.h"
#include "runtime/test_model.h"
#include "testing/subprocess.h"

namespace mlfaas::runtime {
namespace {

using nlohmann::json;
using testing::FakeRuntimeApi;
using testing::PostedResult;

constexpr auto kBootstrapTimeout = std::chrono::seconds(20);

class BootstrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(task_root_);
    std::filesystem::create_directories(cwd_);
    testing::WriteTaskRoot(task_root_);
    std::filesystem::remove(dir_.path() / "task.zip");  // only the extracted package stays
  }

  // `env -i -C <empty dir>` + the variables Lambda sets for a provided.al2023 function
  // (AWS Lambda Developer Guide, "Defined runtime environment variables"; PATH, LANG and
  // LD_LIBRARY_PATH as the base image sets them) + the bootstrap.
  std::vector<std::string> LambdaArgv(const std::string& runtime_api) const {
    const std::string root = task_root_.string();
    return {"/usr/bin/env",
            "-i",
            "-C",
            cwd_.string(),
            "AWS_LAMBDA_RUNTIME_API=" + runtime_api,
            "_HANDLER=predict",
            "LAMBDA_TASK_ROOT=" + root,
            "LAMBDA_RUNTIME_DIR=/var/runtime",
            "AWS_LAMBDA_FUNCTION_NAME=kdd99-anomaly",
            "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
            "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/kdd99-anomaly",
            "AWS_LAMBDA_LOG_STREAM_NAME=2025/01/01/[$LATEST]0123456789abcdef",
            "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
            "AWS_REGION=us-east-1",
            "AWS_DEFAULT_REGION=us-east-1",
            "TZ=:UTC",
            "LANG=en_US.UTF-8",
            "PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
            "LD_LIBRARY_PATH=/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:" + root + ":" + root +
                "/lib:/opt/lib",
            MLFAAS_BOOTSTRAP_BIN};
  }

  TempDir dir_{"mlfaas-bootstrap-test"};
  std::filesystem::path task_root_ = dir_.path() / "task";
  std::filesystem::path cwd_ = dir_.path() / "cwd";
  std::string log_ = (dir_.path() / "bootstrap.log").string();
};

TEST_F(BootstrapTest, HasNoDynamicDependency) {
  auto ldd = testing::RunCommand({"ldd", MLFAAS_BOOTSTRAP_BIN}, {}, kBootstrapTimeout);
  EXPECT_NE((ldd.out + ldd.err).find("not a dynamic executable"), std::string::npos)
      << ldd.out << ldd.err;
  EXPECT_EQ(ldd.out.find(".so"), std::string::npos) << ldd.out;
}

TEST_F(BootstrapTest, ServesTheLambdaContractInACleanEnvironment) {
  const std::vector<std::string> events = testing::TestEvents();
  FakeRuntimeApi api(events);
  testing::BackgroundProcess bootstrap(LambdaArgv(api.endpoint()), {}, log_);
  ASSERT_TRUE(api.Serve(kBootstrapTimeout, [&] { return testing::ChildAlive(bootstrap.pid()); }))
      << testing::Slurp(log_);
  // The events ran out, so the API closed the connection: one line, exit status 1.
  const int status = bootstrap.StopWith(0, kBootstrapTimeout);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;

  auto manifest = package::ReadManifestFile(task_root_ / "manifest.json");
  ASSERT_TRUE(manifest.ok());
  ModelHandler reference(std::make_shared<const model::Predictor>(testing::TestManifest().model),
                         ModelInfo{manifest->name, "$LATEST", manifest->digest});
  ASSERT_EQ(api.results().size(), events.size()) << testing::Slurp(log_);
  EXPECT_EQ(api.connections(), 1);
  for (size_t i = 0; i < events.size(); ++i) {
    const PostedResult& r = api.results()[i];
    const Response want = reference.HandleEvent(events[i]);
    EXPECT_EQ(r.request_id, "req-" + std::to_string(i));
    if (want.is_error) {
      EXPECT_EQ(r.kind, PostedResult::Kind::kError) << events[i];
      EXPECT_EQ(r.error_type_header, want.error_type);
      EXPECT_EQ(json::parse(r.body),
                json({{"errorType", want.error_type}, {"errorMessage", want.error_message}}));
    } else {
      EXPECT_EQ(r.kind, PostedResult::Kind::kResponse) << events[i];
      EXPECT_EQ(r.body, want.payload);
    }
  }
  const std::string log = testing::Slurp(log_);
  EXPECT_NE(log.find("function kdd99-anomaly version $LATEST model kdd99-test"), std::string::npos)
      << log;
  // Nothing was written where it ran.
  EXPECT_TRUE(std::filesystem::is_empty(cwd_));
}

TEST_F(BootstrapTest, SigtermEndsItWhileItWaitsForAnInvocation) {
  FakeRuntimeApi api({R"({"duration":0,"src_bytes":215,"dst_bytes":45076})"});
  api.ParkWhenExhausted();  // the next /next is a long poll that never returns
  testing::BackgroundProcess bootstrap(LambdaArgv(api.endpoint()), {}, log_);
  bool sent = false;
  // Called on Serve's thread between requests: once the one answer is in, stop the worker.
  EXPECT_TRUE(api.Serve(kBootstrapTimeout, [&] {
    if (!sent && api.results().size() == 1) sent = kill(bootstrap.pid(), SIGTERM) == 0;
    return testing::ChildAlive(bootstrap.pid());
  })) << testing::Slurp(log_);
  const int status = bootstrap.StopWith(0, kBootstrapTimeout);
  EXPECT_TRUE(sent);
  // The Runtime API mode keeps SIGTERM's default action, as on Lambda (nothing to flush).
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  ASSERT_EQ(api.results().size(), 1u);
  EXPECT_EQ(api.results()[0].kind, PostedResult::Kind::kResponse);
}

TEST_F(BootstrapTest, OpensNoSharedObjectAndResolvesNoName) {
  const std::string trace = (dir_.path() / "strace.txt").string();
  FakeRuntimeApi api({R"({"duration":0,"src_bytes":215,"dst_bytes":45076})"});
  std::vector<std::string> argv = {"strace", "-f", "-qq", "-e", "trace=open,openat,execve,connect",
                                   "-o",     trace};
  for (const std::string& a : LambdaArgv(api.endpoint())) argv.push_back(a);
  testing::BackgroundProcess traced(argv, {}, log_);
  ASSERT_TRUE(api.Serve(kBootstrapTimeout, [&] { return testing::ChildAlive(traced.pid()); }));
  traced.StopWith(0, kBootstrapTimeout);
  const std::string text = testing::Slurp(trace);
  const size_t exec = text.find(std::string("execve(\"") + MLFAAS_BOOTSTRAP_BIN);
  if (exec == std::string::npos) GTEST_SKIP() << "strace cannot trace here: " << text;
  ASSERT_EQ(api.results().size(), 1u) << testing::Slurp(log_);
  const std::string after = text.substr(exec);
  EXPECT_EQ(after.find(".so"), std::string::npos) << after;            // no dlopen, no NSS module
  EXPECT_EQ(after.find("nsswitch.conf"), std::string::npos) << after;  // no name service
  EXPECT_EQ(after.find("/etc/hosts"), std::string::npos) << after;
  EXPECT_NE(after.find("manifest.json"), std::string::npos) << after;  // it did run its init
}

}  // namespace
}  // namespace mlfaas::runtime
