// examples/java end to end: the Java bundle published as a `provided` function and served by
// `mlfaas serve` (strict isolation, its cgroup limits), invoked through the Lambda Invoke API,
// answers like the built-in runtime serving the same model package; with model_loading =
// snapshot too (instances forked from a python3 template, each starting its own JVM).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "gateway/serve_fixture.h"
#include "testing/kdd_package.h"
#include "testing/subprocess.h"
#include "testing/system_python.h"

namespace mlfaas::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool OnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    if (access((fs::path(dirs.substr(start, end - start)) / name).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

class ServeJavaTest : public ServeFixture {};

TEST_F(ServeJavaTest, JavaRuntimeAnswersLikeTheBuiltInOne) {
  ASSERT_TRUE(OnPath("javac") && OnPath("java"))
      << "javac/java not found: the Java example needs a JDK 17 (scripts/deps.sh installs "
         "default-jdk-headless)";
  const fs::path pkg = tmp_.path() / "model.zip", bundle = tmp_.path() / "java.zip";
  // Trained as `mlfaas train --data <the shipped data>` does, as the model kdd99-anomaly.
  const TrainedKdd trained = CopyTrainedKddPackage(pkg);
  ASSERT_TRUE(trained.ok) << trained.err;
  // The jar cache runtime_test's JavaRuntimeTest fills (<build>/java-jar-cache): javac is slow.
  std::error_code ec;
  const fs::path cache = fs::read_symlink("/proc/self/exe", ec).parent_path().parent_path();
  auto made = RunCommand(
      {std::string(MLFAAS_SOURCE_DIR) + "/examples/java/make_bundle.sh", pkg.string(),
       bundle.string()},
      WithSystemPython(
          {{"MLFAAS_JAVA_JAR_CACHE", (ec ? tmp_.path() : cache / "java-jar-cache").string()}}),
      kServeTimeout);
  ASSERT_EQ(made.exit_code, 0) << made.err;

  ASSERT_EQ(Mlfaas({"function", "create", "kdd99-anomaly", "--package", pkg.string()}).exit_code,
            0);
  auto created = Mlfaas({"function", "create", "kdd99-java", "--package", bundle.string(),
                         "--runtime", "provided", "--memory", "1024", "--timeout", "10"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  // The same bundle with model_loading = snapshot: mlfaas starts a template, which cannot be a
  // JVM; the bundle's python3 template forks each instance and the instance starts its own JVM.
  auto snap =
      Mlfaas({"function", "create", "kdd99-java-snap", "--package", bundle.string(), "--runtime",
              "provided", "--memory", "1024", "--timeout", "10", "--model-loading", "snapshot"});
  ASSERT_EQ(snap.exit_code, 0) << snap.err;
  auto published = Mlfaas({"function", "publish", "kdd99-java"});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  ASSERT_EQ(published.out.substr(0, published.out.find_last_not_of("\n") + 1), "1");

  const uint16_t port = Serve();
  ASSERT_NE(port, 0);
  HttpClient c(port);
  const std::vector<std::string> events = {
      R"({"duration":0,"src_bytes":215,"dst_bytes":45076})",
      R"({"instances":[{"duration":0,"src_bytes":181,"dst_bytes":5450},)"
      R"({"duration":2,"src_bytes":54540,"dst_bytes":8314},)"
      R"({"src_bytes":1e6,"dst_bytes":0,"duration":12.5},{"duration":0,"src_bytes":0,"dst_bytes":0}]})",
      R"({"duration":0,"src_bytes":-1,"dst_bytes":45076})",
      R"({"instances":[{"duration":0,"src_bytes":1,"dst_bytes":2},{"duration":0,"dst_bytes":1}]})",
      R"({"instances":[{"duration":0,"src_bytes":1,"dst_bytes":2}],"extra":1})",
  };
  for (size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE(events[i]);
    // The snapshot function answers the first event (its cold start) and the batch.
    const std::string fn = i == 1 ? "kdd99-java-snap" : "kdd99-java:1";
    auto java = c.Post(InvokePath(fn), events[i]);
    ASSERT_EQ(java.status, 200) << java.body;
    EXPECT_EQ(java.header("x-mlfaas-cold-start"), i <= 1 ? "true" : "false");
    if (i <= 1) {
      EXPECT_FALSE(java.header("x-mlfaas-init-duration-ms").empty());
    }
    auto builtin = c.Post(InvokePath("kdd99-anomaly"), events[i]);
    ASSERT_EQ(builtin.status, 200) << builtin.body;
    EXPECT_EQ(java.header("x-amz-function-error"), builtin.header("x-amz-function-error"));
    json j = json::parse(java.body, nullptr, false), b = json::parse(builtin.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << java.body;
    ASSERT_TRUE(b.is_object()) << builtin.body;
    if (b.contains("errorType")) {
      EXPECT_EQ(j["errorType"], b["errorType"]);
      EXPECT_EQ(j["errorMessage"], b["errorMessage"]);
      continue;
    }
    EXPECT_EQ(j["model"]["name"], b["model"]["name"]);
    EXPECT_EQ(j["model"]["digest"], b["model"]["digest"]);
    EXPECT_EQ(j["model"]["version"], i == 1 ? "$LATEST" : "1");
    ASSERT_EQ(j["predictions"].size(), b["predictions"].size()) << java.body;
    for (size_t k = 0; k < b["predictions"].size(); ++k) {
      EXPECT_EQ(j["predictions"][k]["anomaly"], b["predictions"][k]["anomaly"]);
      const double pj = j["predictions"][k]["probability"], pb = b["predictions"][k]["probability"];
      EXPECT_LE(std::fabs(pj - pb), 1e-12 * std::max(std::fabs(pj), std::fabs(pb)))
          << pj << " " << pb;
    }
  }
  // The snapshot function's instance was forked from its template.
  json status = json::parse(c.Get("/v1/status").body, nullptr, false);
  bool forked = false;
  for (const auto& f : status.value("functions", json::array())) {
    for (const auto& v : f.value("versions", json::array())) {
      for (const auto& inst : v.value("instances", json::array())) {
        if (f.value("name", "") == "kdd99-java-snap") forked = inst.value("forked", false);
      }
    }
  }
  EXPECT_TRUE(forked) << status.dump();
  EXPECT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(15)), 0);
}

}  // namespace
}  // namespace mlfaas::testing
