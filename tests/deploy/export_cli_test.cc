// `mlfaas export lambda|knative` through the real binary on a real home: a function with two
// versions and a canary alias, exported; what the files hold; bad input refused with one line
// and nothing written; and `podman build` of the Knative build context.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>
#include <zip.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/fs.h"
#include "deploy/export_fixtures.h"
#include "gateway/http_client.h"
#include "package/package.h"
#include "registry/registry.h"
#include "registry/test_packages.h"
#include "testing/mlfaas_server.h"
#include "testing/subprocess.h"

namespace mlfaas {
namespace {

namespace fs = std::filesystem;
using deploy::testing::ZipEntries;
using testing::CommandResult;
using testing::RunCommand;

size_t Lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

class ExportCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("export_cli");
    const fs::path p1 = dir_->path() / "v1.zip", p2 = dir_->path() / "v2.zip";
    registry::testing::WriteModelPackage(p1, 0);
    registry::testing::WriteModelPackage(p2, 1);
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"function", "create", "fraud_check", "--package", p1.string(), "--memory", "1024",
              "--env", "GREETING=hi: \"there\" #1", "--reserved-concurrency", "6"},
             {"function", "publish", "fraud_check"},
             {"function", "update-code", "fraud_check", "--package", p2.string()},
             {"function", "publish", "fraud_check"},
             {"alias", "create", "fraud_check", "live", "--version", "1", "--canary-version", "2",
              "--canary-weight", "0.2"}}) {
      CommandResult r = Run(args);
      ASSERT_EQ(r.exit_code, 0) << args[0] << " " << args[1] << ": " << r.err;
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {MLFAAS_BIN, "--home", (dir_->path() / "home").string()});
    return RunCommand(args, {}, std::chrono::seconds(120));
  }
  static fs::path Out(const std::string& name) { return dir_->path() / name; }
  static std::string ModelDigest(const std::string& version) {
    auto reg = registry::OpenRegistry(dir_->path() / "home");
    if (!reg.ok()) return "";
    auto v = (*reg)->GetVersion("fraud_check", version);
    return v.ok() ? v->model_digest : "";
  }
  // Exit 1, one line on stderr, and `out` not created.
  static void ExpectRefused(const std::vector<std::string>& args, const fs::path& out,
                            const std::string& says) {
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(Lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out)) << out;
  }

  static TempDir* dir_;
};
TempDir* ExportCliTest::dir_ = nullptr;

TEST_F(ExportCliTest, LambdaWritesTheZipAndTheTemplate) {
  const fs::path out = Out("lambda");
  // A bootstrap of our own, a shell script as many Lambda custom runtimes are: the zip must hold
  // it byte for byte, executable. (A 20 MB binary would spend 3 s of the test deflating it; the
  // default bootstrap, a 7 MB one, goes through the same path in TheDefaultBootstrapSitsBeside-
  // Mlfaas and TheExportedZipServesOnMlfaasAsTheVersionItCameFrom.)
  const fs::path bootstrap = Out("lambda-bootstrap.sh");
  std::string script = "#!/bin/sh\n# a custom runtime's bootstrap\n";
  for (int i = 0; i < 2000; ++i) script += "echo line " + std::to_string(i) + " >/dev/null\n";
  ASSERT_TRUE(WriteFileAtomic(bootstrap, script).ok());
  ASSERT_EQ(::chmod(bootstrap.c_str(), 0755), 0);
  CommandResult r = Run({"export", "lambda", "fraud_check:live", "--out", out.string(),
                         "--bootstrap", bootstrap.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("template.yaml"), std::string::npos) << r.out;

  auto zip = ZipEntries(out / "function.zip");
  ASSERT_EQ(zip.size(), 2u);
  EXPECT_EQ(zip["bootstrap"].first, 0755u);
  EXPECT_EQ(zip["bootstrap"].second, script);
  const fs::path manifest = out / "extracted-manifest.json";
  ASSERT_TRUE(WriteFileAtomic(manifest, zip["manifest.json"].second).ok());
  auto m = package::ReadManifestFile(manifest);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->digest, ModelDigest("1")) << "the alias's primary version";

  YAML::Node t = YAML::LoadFile((out / "template.yaml").string());
  YAML::Node p = t["Resources"]["Function"]["Properties"];
  EXPECT_EQ(p["FunctionName"].as<std::string>(), "fraud_check");
  EXPECT_EQ(p["MemorySize"].as<int>(), 1024);
  EXPECT_EQ(p["ReservedConcurrentExecutions"].as<int>(), 6);
  EXPECT_EQ(p["Environment"]["Variables"]["GREETING"].as<std::string>(), "hi: \"there\" #1");
  YAML::Node live = t["Resources"]["AliasLive"]["Properties"];
  EXPECT_EQ(live["FunctionVersion"]["Fn::GetAtt"][0].as<std::string>(), "Version1");
  YAML::Node w = live["RoutingConfig"]["AdditionalVersionWeights"][0];
  EXPECT_EQ(w["FunctionVersion"]["Ref"].as<std::string>(), "LambdaVersionOfV2");
  EXPECT_DOUBLE_EQ(w["FunctionWeight"].as<double>(), 0.2);
  EXPECT_NE(r.err.find("LambdaVersionOfV2"), std::string::npos) << "warned: " << r.err;
}

TEST_F(ExportCliTest, KnativeWritesABuildContextAndTheService) {
  const fs::path out = Out("knative");
  CommandResult r = Run({"export", "knative", "fraud_check:2", "--image", "localhost/fraud-check:2",
                         "--out", out.string(), "--bootstrap", MLFAAS_RUNTIME_BIN});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat((out / "bootstrap").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  auto m = package::ReadManifestFile(out / "manifest.json");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->digest, ModelDigest("2"));
  EXPECT_NE(ReadFile(out / "Containerfile")->find("FROM scratch"), std::string::npos);

  YAML::Node s = YAML::LoadFile((out / "service.yaml").string());
  EXPECT_EQ(s["metadata"]["name"].as<std::string>(), "fraud-check");
  EXPECT_EQ(s["spec"]["template"]["metadata"]["name"].as<std::string>(), "fraud-check-v2");
  YAML::Node traffic = s["spec"]["traffic"];
  ASSERT_EQ(traffic.size(), 2u);
  EXPECT_EQ(traffic[0]["revisionName"].as<std::string>(), "fraud-check-v2");
  EXPECT_EQ(traffic[1]["tag"].as<std::string>(), "live");
  EXPECT_EQ(traffic[1]["revisionName"].as<std::string>(), "fraud-check-v1");
}

TEST_F(ExportCliTest, BadInputIsRefusedWithOneLine) {
  const std::string boot = MLFAAS_RUNTIME_BIN;
  const fs::path out = Out("refused");
  const std::string o = out.string();
  ExpectRefused({"export", "lambda", "nosuch", "--out", o, "--bootstrap", boot}, out, "nosuch");
  ExpectRefused({"export", "lambda", "fraud_check:99", "--out", o, "--bootstrap", boot}, out, "99");
  ExpectRefused({"export", "lambda", "fraud_check:nosuch", "--out", o, "--bootstrap", boot}, out,
                "nosuch");
  ExpectRefused({"export", "lambda", "fraud_check:", "--out", o, "--bootstrap", boot}, out,
                "qualifier");
  ExpectRefused({"export", "lambda", "bad name!", "--out", o, "--bootstrap", boot}, out,
                "function name");
  ExpectRefused({"export", "lambda", "fraud_check", "--bootstrap", boot}, out, "--out");
  ExpectRefused({"export", "knative", "fraud_check", "--out", o, "--bootstrap", boot}, out,
                "--image");
  ExpectRefused({"export", "lambda", "fraud_check", "--out", o, "--bootstrap",
                 (dir_->path() / "missing").string()},
                out, "missing");
  const fs::path plain = dir_->path() / "not-executable";
  ASSERT_TRUE(WriteFileAtomic(plain, "#!/bin/sh\n").ok());
  ExpectRefused({"export", "lambda", "fraud_check", "--out", o, "--bootstrap", plain.string()}, out,
                "not executable");
  ExpectRefused({"export", "knative", "fraud_check", "--image", "img", "--name", "Bad_Name",
                 "--out", o, "--bootstrap", boot},
                out, "--name");

  // An existing, non-empty --out is left alone.
  const fs::path full = Out("full");
  fs::create_directories(full);
  ASSERT_TRUE(WriteFileAtomic(full / "keep.txt", "mine").ok());
  CommandResult r =
      Run({"export", "lambda", "fraud_check", "--out", full.string(), "--bootstrap", boot});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1u) << r.err;
  EXPECT_EQ(*ReadFile(full / "keep.txt"), "mine");
  EXPECT_FALSE(fs::exists(full / "template.yaml"));
  // No staging directory is left behind by any of the above.
  for (const auto& e : fs::directory_iterator(dir_->path())) {
    EXPECT_NE(e.path().filename().string().rfind(".refused", 0), 0u) << e.path();
  }
}

TEST_F(ExportCliTest, TheDefaultBootstrapSitsBesideMlfaas) {
  const fs::path out = Out("default-bootstrap");
  const fs::path beside = fs::path(MLFAAS_BIN).parent_path() / "mlfaas-bootstrap";
  CommandResult r = Run({"export", "lambda", "fraud_check:1", "--out", out.string()});
  if (::access(beside.c_str(), X_OK) == 0) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ZipEntries(out / "function.zip")["bootstrap"].second, *ReadFile(beside));
  } else {
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(Lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("mlfaas-bootstrap"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out));
  }
}

TEST_F(ExportCliTest, PodmanBuildsTheKnativeImage) {
  constexpr char kPodman[] = "/usr/bin/podman";
  if (::access(kPodman, X_OK) != 0) GTEST_SKIP() << kPodman << " is not installed";
  const fs::path out = Out("podman");
  CommandResult r = Run({"export", "knative", "fraud_check:1", "--image", "localhost/unused:1",
                         "--out", out.string(), "--bootstrap", MLFAAS_RUNTIME_BIN});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string tag = "localhost/mlfaas-export-test:" + std::to_string(::getpid());
  CommandResult build = RunCommand({kPodman, "build", "--quiet", "-t", tag, out.string()}, {},
                                   std::chrono::minutes(5));
  ASSERT_EQ(build.exit_code, 0) << build.out << build.err;
  CommandResult inspect =
      RunCommand({kPodman, "image", "inspect", "--format", "{{json .Config.Entrypoint}}", tag}, {},
                 std::chrono::minutes(1));
  CommandResult rmi = RunCommand({kPodman, "rmi", "-f", tag}, {}, std::chrono::minutes(1));
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find(R"(["/var/task/bootstrap","--http",":8080"])"), std::string::npos)
      << inspect.out;
  EXPECT_EQ(rmi.exit_code, 0) << rmi.err;
}

// The exported zip is what Lambda runs. Deployed back on mlfaas as a `provided` function, its
// `bootstrap` (mlfaas-bootstrap, the export's default) is started by `mlfaas serve` in a confined
// instance with Lambda's environment, from the zip's files alone, and talks to the gateway's own
// HTTP Runtime API; it answers every event as the exported version does on the built-in runtime.
TEST_F(ExportCliTest, TheExportedZipServesOnMlfaasAsTheVersionItCameFrom) {
  const fs::path out = Out("lambda-roundtrip");
  CommandResult r = Run({"export", "lambda", "fraud_check:1", "--out", out.string()});
  if (r.exit_code != 0 && r.err.find("mlfaas-bootstrap") != std::string::npos) {
    GTEST_SKIP() << "this build has no mlfaas-bootstrap (sanitizer builds): " << r.err;
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CommandResult created = Run({"function", "create", "exported", "--package",
                               (out / "function.zip").string(), "--runtime", "provided"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  testing::MlfaasServer server(dir_->path() / "home", (dir_->path() / "serve.log").string());
  ASSERT_NE(server.port(), 0) << server.log();
  testing::HttpClient client(server.port());
  int answered = 0, refused = 0;
  for (const char* event :
       {R"({"duration":0,"src_bytes":215,"dst_bytes":45076})",
        R"({"duration":7,"src_bytes":250000,"dst_bytes":12})", R"({"duration":0,"src_bytes":1})",
        R"({"instances":[{"duration":1,"src_bytes":2,"dst_bytes":3},)"
        R"({"duration":0,"src_bytes":54540,"dst_bytes":8314}]})"}) {
    SCOPED_TRACE(event);
    auto want = client.Post("/2015-03-31/functions/fraud_check/invocations?Qualifier=1", event);
    auto got = client.Post("/2015-03-31/functions/exported/invocations", event);
    ASSERT_EQ(want.status, 200) << want.body;
    ASSERT_EQ(got.status, 200) << got.body << server.log();
    EXPECT_EQ(got.header("x-amz-function-error"), want.header("x-amz-function-error"));
    auto a = nlohmann::json::parse(want.body, nullptr, false);
    auto b = nlohmann::json::parse(got.body, nullptr, false);
    ASSERT_FALSE(a.is_discarded() || b.is_discarded()) << want.body << " / " << got.body;
    // The same model and answer; only the version it reports differs ("1" / "$LATEST").
    if (a.contains("model") && b.contains("model")) {
      EXPECT_EQ(a["model"]["digest"], b["model"]["digest"]);
      a.erase("model");
      b.erase("model");
    }
    EXPECT_EQ(a, b);
    ++(want.header("x-amz-function-error").empty() ? answered : refused);
  }
  EXPECT_EQ(answered, 3);
  EXPECT_EQ(refused, 1);  // the event missing dst_bytes: the same error from both
}

}  // namespace
}  // namespace mlfaas
