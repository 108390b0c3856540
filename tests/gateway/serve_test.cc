// `mlfaas serve` / `mlfaas status` as a user runs them: real binary, real registry under a temp
// home, port 0, a python custom runtime and the built-in mlfaas-runtime with a trained package.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "common/fs.h"
#include "gateway/serve_fixture.h"
#include "testing/kdd_package.h"
#include "testing/subprocess.h"

namespace mlfaas::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ServeTest : public ServeFixture {
 protected:
  // Trains, creates and serves the model with the built-in runtime under `flags`, and calls it
  // as a user would: cold, warm batch, bad input, log tail.
  void ServeModel(const std::vector<std::string>& flags) {
    fs::path pkg = tmp_.path() / "model.zip";
    const TrainedKdd trained = CopyTrainedKddPackage(pkg);
    ASSERT_TRUE(trained.ok) << trained.err;
    // A generous timeout: the 130,000-row batch below takes seconds in sanitizer builds.
    ASSERT_EQ(Mlfaas({"function", "create", "kdd99-anomaly", "--package", pkg.string(), "--timeout",
                      "60"})
                  .exit_code,
              0);
    uint16_t port = Serve(flags);
    ASSERT_NE(port, 0);
    HttpClient c(port);
    const std::string path = "/2015-03-31/functions/kdd99-anomaly/invocations";
    auto r = c.Post(path, R"({"duration":0,"src_bytes":215,"dst_bytes":45076})");
    ASSERT_EQ(r.status, 200) << r.body << Slurp(log_);
    EXPECT_EQ(r.header("x-mlfaas-cold-start"), "true");
    auto j = json::parse(r.body);
    ASSERT_TRUE(j.contains("predictions")) << r.body;
    EXPECT_EQ(j["predictions"].size(), 1u);
    EXPECT_EQ(j["model"]["version"], "$LATEST");
    auto warm = c.Post(path, R"({"instances":[{"duration":0,"src_bytes":215,"dst_bytes":45076},)"
                             R"({"duration":2,"src_bytes":0,"dst_bytes":0}]})");
    EXPECT_EQ(warm.header("x-mlfaas-cold-start"), "false");
    EXPECT_EQ(json::parse(warm.body)["predictions"].size(), 2u) << warm.body;
    auto bad = c.Post(path, R"({"duration":"x"})");
    EXPECT_EQ(bad.status, 200);
    EXPECT_EQ(bad.header("x-amz-function-error"), "Unhandled");
    EXPECT_NE(bad.body.find("InvalidInput"), std::string::npos) << bad.body;
    auto tail =
        c.Post(path, R"({"duration":0,"src_bytes":1,"dst_bytes":1})", {{"X-Amz-Log-Type", "Tail"}});
    EXPECT_FALSE(tail.header("x-amz-log-result").empty());
    // A result over Lambda's 6 MiB limit fails the invocation; the request itself fits.
    std::string big = R"({"instances":[)";
    for (int i = 0; i < 130000; ++i) {
      if (i) big += ',';
      big += R"({"duration":0,"src_bytes":0,"dst_bytes":0})";
    }
    big += "]}";
    ASSERT_LT(big.size(), 6u << 20);
    auto huge = c.Post(path, big);
    EXPECT_EQ(huge.status, 200);
    EXPECT_EQ(huge.header("x-amz-function-error"), "Unhandled");
    EXPECT_NE(huge.body.find("Function.ResponseSizeTooLarge"), std::string::npos)
        << huge.body.substr(0, 300);
    EXPECT_EQ(c.Post(path, R"({"duration":0,"src_bytes":1,"dst_bytes":1})").status, 200);
    EXPECT_EQ(WorkerPids(port).size(), 1u) << "sequential calls reuse one warm instance";
    EXPECT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(15)), 0);
  }
};

TEST_F(ServeTest, ServesCustomRuntimeAndStopsCleanlyOnSigterm) {
  auto created = Mlfaas({"function", "create", "echo", "--package", BootstrapZip().string(),
                         "--runtime", "provided"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  uint16_t port = Serve();
  ASSERT_NE(port, 0);
  HttpClient c(port);
  auto r = c.Post("/2015-03-31/functions/echo/invocations", R"({"msg":"hi"})");
  ASSERT_EQ(r.status, 200) << r.body << Slurp(log_);
  EXPECT_EQ(json::parse(r.body)["echo"]["msg"], "hi");
  EXPECT_EQ(r.header("x-mlfaas-cold-start"), "true");

  auto status = Mlfaas({"status", "--endpoint", "http://127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("echo:$LATEST"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("Idle"), std::string::npos) << status.out;

  // One request in flight while SIGTERM arrives: it completes, then everything stops.
  HttpReply slow;
  std::thread t([&] {
    HttpClient c2(port);
    slow = c2.Post("/2015-03-31/functions/echo/invocations", R"({"action":"sleep","seconds":0.5})");
  });
  std::vector<int> pids;
  for (int i = 0; i < 500; ++i) {
    HttpClient probe(port);
    if (json::parse(probe.Get("/v1/status").body)["in_flight"] == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pids = WorkerPids(port);  // the warm instance, now busy with the slow request
  // Every process the gateway started: the busy instance plus its waiting stem cells.
  std::set<pid_t> children;
  for (int i = 0; i < 1000 && children.size() != 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    children = ChildrenOf(server_->pid());
  }
  ASSERT_EQ(children.size(), 5u);  // --stem-cells defaults to 4
  int st = server_->StopWith(SIGTERM, std::chrono::seconds(15));
  t.join();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st << Slurp(log_);
  EXPECT_EQ(slow.status, 200) << slow.body;
  ASSERT_EQ(pids.size(), 1u);
  for (int pid : pids) EXPECT_NE(kill(pid, 0), 0) << "worker " << pid << " survived";
  for (pid_t pid : children) EXPECT_NE(kill(pid, 0), 0) << "process " << pid << " survived";
}

TEST_F(ServeTest, ServesATrainedModelWithTheBuiltInRuntime) {
  ServeModel({});  // defaults: stem cells, worker protocol
}

TEST_F(ServeTest, ServesTheModelWithoutStemCells) { ServeModel({"--stem-cells", "0"}); }

TEST_F(ServeTest, ServesTheModelOverTheHttpRuntimeApi) {
  ServeModel({"--worker-transport", "http"});
}

// Several invocations per instance with the built-in runtime (the pipelined worker protocol),
// over the worker socket and over the HTTP Runtime API: the same predictions as one at a time,
// and the callers share one instance.
TEST_F(ServeTest, ServesTheModelWithSeveralInvocationsPerInstance) {
  fs::path pkg = tmp_.path() / "model.zip";
  const TrainedKdd trained = CopyTrainedKddPackage(pkg);
  ASSERT_TRUE(trained.ok) << trained.err;
  ASSERT_EQ(Mlfaas({"function", "create", "one", "--package", pkg.string()}).exit_code, 0);
  for (const char* loading : {"init", "snapshot"}) {
    ASSERT_EQ(Mlfaas({"function", "create", std::string("multi-") + loading, "--package",
                      pkg.string(), "--memory", "3538", "--max-concurrency-per-instance", "8",
                      "--model-loading", loading, "--timeout", "30"})
                  .exit_code,
              0);
  }
  EXPECT_NE(Mlfaas({"function", "create", "bad", "--package", pkg.string(),
                    "--max-concurrency-per-instance", "1601"})
                .err.find("max_concurrency_per_instance must be between 1 and 1600"),
            std::string::npos);
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{{}, {"--worker-transport", "http"}}) {
    SCOPED_TRACE(flags.empty() ? "socket" : "http");
    uint16_t port = Serve(flags);
    ASSERT_NE(port, 0);
    auto path = [](const std::string& fn) {
      return "/2015-03-31/functions/" + fn + "/invocations";
    };
    auto event = [](int i) {
      return R"({"duration":)" + std::to_string(i % 7) + R"(,"src_bytes":)" +
             std::to_string(100 + i * 37) + R"(,"dst_bytes":)" + std::to_string(i * 1009) + "}";
    };
    constexpr int kCallers = 6, kCalls = 30;
    std::vector<std::string> want(kCallers * kCalls);
    HttpClient one(port);
    for (int i = 0; i < kCallers * kCalls; ++i) {
      auto r = one.Post(path("one"), event(i));
      ASSERT_EQ(r.status, 200) << r.body;
      want[i] = json::parse(r.body)["predictions"].dump();
    }
    for (const char* fn : {"multi-init", "multi-snapshot"}) {
      SCOPED_TRACE(fn);
      std::vector<std::string> got(want.size());
      std::vector<std::thread> callers;
      for (int t = 0; t < kCallers; ++t) {
        callers.emplace_back([&, t] {
          HttpClient c(port);
          for (int k = 0; k < kCalls; ++k) {
            const int i = t * kCalls + k;
            auto r = c.Post(path(fn), event(i));
            got[i] = r.status == 200 ? json::parse(r.body)["predictions"].dump()
                                     : std::to_string(r.status) + " " + r.body;
          }
        });
      }
      for (auto& t : callers) t.join();
      for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "event " << i;
      // Six callers, eight slots: they all went to the first instance (the first calls waited
      // for its init inside it).
      json st = json::parse(HttpClient(port).Get("/v1/status").body);
      for (const auto& f : st["functions"]) {
        if (f["name"] != fn) continue;
        ASSERT_EQ(f["versions"][0]["instances"].size(), 1u) << f.dump();
        EXPECT_EQ(f["versions"][0]["instances"][0]["invocations"], kCallers * kCalls);
        EXPECT_EQ(f["versions"][0]["instances"][0]["max_concurrency"], 8);
      }
    }
    ASSERT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(15)), 0) << Slurp(log_);
  }
}

TEST_F(ServeTest, BootstrapThatCannotRunIsAnInitErrorNamingTheCause) {
  // Its interpreter does not exist: execve fails with ENOENT.
  auto created =
      Mlfaas({"function", "create", "noexec", "--package",
              BootstrapZip("#!/nonexistent/interpreter\n").string(), "--runtime", "provided"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  for (const char* stems : {"2", "0"}) {  // launched by a stem cell, then by fork/exec
    uint16_t port = Serve({"--stem-cells", stems});
    ASSERT_NE(port, 0);
    HttpClient c(port);
    auto r = c.Post("/2015-03-31/functions/noexec/invocations", "{}");
    EXPECT_EQ(r.status, 502) << stems << ": " << r.body;
    EXPECT_NE(r.body.find("cannot execute"), std::string::npos) << stems << ": " << r.body;
    EXPECT_NE(r.body.find("No such file or directory"), std::string::npos)
        << stems << ": " << r.body;
    EXPECT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(15)), 0);
  }
}

TEST_F(ServeTest, RejectsBadTransportAndStemFlags) {
  auto r = Mlfaas({"serve", "--port", "0", "--worker-transport", "pigeon"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--worker-transport must be socket or http"), std::string::npos) << r.err;
  r = Mlfaas({"serve", "--port", "0", "--stem-cells", "-1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--stem-cells"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mlfaas::testing
