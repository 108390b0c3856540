// The Knative Service and Containerfile of `mlfaas export knative`
// (src/deploy/knative_export.h).
#include "deploy/knative_export.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>

#include "deploy/export_fixtures.h"

namespace mlfaas::deploy {
namespace {

using testing::HostileStrings;
using testing::MakeAlias;
using testing::MakeInput;

const KnativeOptions kOptions{"registry.example/fraud-check:3", ""};

YAML::Node Service(const ExportInput& in, std::vector<std::string>* warnings = nullptr,
                   const KnativeOptions& o = kOptions) {
  auto g = KnativeService(in, o);
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (!g.ok()) return {};
  if (warnings) *warnings = g->warnings;
  return YAML::Load(g->text);
}

std::map<std::string, std::string> EnvOf(const YAML::Node& svc) {
  std::map<std::string, std::string> env;
  for (const auto& e : svc["spec"]["template"]["spec"]["containers"][0]["env"]) {
    env[e["name"].as<std::string>()] = e["value"].as<std::string>();
  }
  return env;
}

int PercentSum(const YAML::Node& svc) {
  int sum = 0;
  for (const auto& t : svc["spec"]["traffic"]) sum += t["percent"].as<int>();
  return sum;
}

TEST(KnativeExportTest, MapsTheConfiguration) {
  ExportInput in = MakeInput("3");
  registry::FunctionConfig& c = in.version.config;
  c.memory_mb = 1769;
  c.timeout_s = 30;
  c.ephemeral_storage_mb = 1024;
  c.provisioned_concurrency = 2;
  c.reserved_concurrency = 8;
  c.idle_timeout_s = 600;
  c.max_concurrency_per_instance = 4;
  c.model_loading = "per-invoke";
  c.environment = {{"THRESHOLD", "0.7"}};
  YAML::Node s = Service(in);
  EXPECT_EQ(s["apiVersion"].as<std::string>(), "serving.knative.dev/v1");
  EXPECT_EQ(s["kind"].as<std::string>(), "Service");
  EXPECT_EQ(s["metadata"]["name"].as<std::string>(), "fraud-check");
  YAML::Node tmpl = s["spec"]["template"];
  EXPECT_EQ(tmpl["metadata"]["name"].as<std::string>(), "fraud-check-v3");
  YAML::Node ann = tmpl["metadata"]["annotations"];
  EXPECT_EQ(ann["autoscaling.knative.dev/min-scale"].as<std::string>(), "2");
  EXPECT_EQ(ann["autoscaling.knative.dev/max-scale"].as<std::string>(), "8");
  EXPECT_EQ(ann["autoscaling.knative.dev/scale-to-zero-pod-retention-period"].as<std::string>(),
            "600s");
  EXPECT_EQ(tmpl["spec"]["containerConcurrency"].as<int>(), 4);
  EXPECT_EQ(tmpl["spec"]["timeoutSeconds"].as<int>(), 30);
  YAML::Node box = tmpl["spec"]["containers"][0];
  EXPECT_EQ(box["image"].as<std::string>(), "registry.example/fraud-check:3");
  EXPECT_EQ(box["ports"][0]["containerPort"].as<int>(), 8080);
  for (const char* kind : {"requests", "limits"}) {
    EXPECT_EQ(box["resources"][kind]["cpu"].as<std::string>(), "1000m") << kind;
    EXPECT_EQ(box["resources"][kind]["memory"].as<std::string>(), "1769Mi") << kind;
    EXPECT_EQ(box["resources"][kind]["ephemeral-storage"].as<std::string>(), "1024Mi") << kind;
  }
  auto env = EnvOf(s);
  EXPECT_EQ(env["THRESHOLD"], "0.7");
  EXPECT_EQ(env["MLFAAS_MODEL_LOADING"], "per-invoke");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_NAME"], "fraud-check");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_VERSION"], "3");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "1769");
  EXPECT_EQ(env["AWS_LAMBDA_MAX_CONCURRENCY"], "4");
  ASSERT_EQ(s["spec"]["traffic"].size(), 1u);
  EXPECT_EQ(s["spec"]["traffic"][0]["revisionName"].as<std::string>(), "fraud-check-v3");
  EXPECT_EQ(s["spec"]["traffic"][0]["percent"].as<int>(), 100);
}

TEST(KnativeExportTest, DefaultsKeepOneRequestPerInstance) {
  YAML::Node s = Service(MakeInput("1"));
  YAML::Node tmpl = s["spec"]["template"];
  EXPECT_EQ(tmpl["spec"]["containerConcurrency"].as<int>(), 1);
  EXPECT_FALSE(tmpl["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"]);
  EXPECT_FALSE(tmpl["metadata"]["annotations"]["autoscaling.knative.dev/max-scale"]);
  auto env = EnvOf(s);
  EXPECT_EQ(env.count("MLFAAS_MODEL_LOADING"), 0u);
  EXPECT_EQ(env.count("AWS_LAMBDA_MAX_CONCURRENCY"), 0u);
  EXPECT_EQ(tmpl["spec"]["containers"][0]["resources"]["limits"]["cpu"].as<std::string>(), "290m");
}

TEST(KnativeExportTest, CpuFollowsLambdasRatio) {
  EXPECT_EQ(MilliCpuFor(1769), 1000);
  EXPECT_EQ(MilliCpuFor(3538), 2000);
  EXPECT_EQ(MilliCpuFor(128), 73);  // 72.4, rounded up
  EXPECT_EQ(MilliCpuFor(10240), 5789);
}

TEST(KnativeExportTest, AliasesBecomeTags) {
  ExportInput in = MakeInput("3");
  in.aliases = {MakeAlias("live", "3", "2", 0.1), MakeAlias("Stable_Old", "1")};
  std::vector<std::string> warnings;
  YAML::Node s = Service(in, &warnings);
  YAML::Node t = s["spec"]["traffic"];
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0]["revisionName"].as<std::string>(), "fraud-check-v3");
  EXPECT_EQ(t[0]["percent"].as<int>(), 100);
  EXPECT_EQ(t[1]["tag"].as<std::string>(), "live");
  EXPECT_EQ(t[1]["revisionName"].as<std::string>(), "fraud-check-v3");
  EXPECT_EQ(t[1]["percent"].as<int>(), 0);
  EXPECT_EQ(t[2]["tag"].as<std::string>(), "stable-old");
  EXPECT_EQ(t[2]["revisionName"].as<std::string>(), "fraud-check-v1");
  EXPECT_EQ(PercentSum(s), 100);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("canary"), std::string::npos);
}

TEST(KnativeExportTest, TheExportedAliasSplitsTheTraffic) {
  ExportInput in = MakeInput("3");
  in.via_alias = "live";
  in.aliases = {MakeAlias("live", "3", "4", 0.25), MakeAlias("old", "1")};
  YAML::Node s = Service(in);
  YAML::Node t = s["spec"]["traffic"];
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0]["tag"].as<std::string>(), "live");
  EXPECT_EQ(t[0]["revisionName"].as<std::string>(), "fraud-check-v3");
  EXPECT_EQ(t[0]["percent"].as<int>(), 75);
  EXPECT_FALSE(t[1]["tag"]);
  EXPECT_EQ(t[1]["revisionName"].as<std::string>(), "fraud-check-v4");
  EXPECT_EQ(t[1]["percent"].as<int>(), 25);
  EXPECT_EQ(t[2]["tag"].as<std::string>(), "old");
  EXPECT_EQ(t[2]["percent"].as<int>(), 0);
}

TEST(KnativeExportTest, PercentsAlwaysSumTo100) {
  for (double w : {0.0, 0.004, 0.005, 0.333, 0.5, 0.995, 1.0}) {
    ExportInput in = MakeInput("3");
    in.via_alias = "live";
    in.aliases = {MakeAlias("live", "3", "4", w)};
    std::vector<std::string> warnings;
    YAML::Node s = Service(in, &warnings);
    EXPECT_EQ(PercentSum(s), 100) << w;
    EXPECT_EQ(warnings.size(), w == 0.004 ? 1u : 0u) << w;
  }
}

TEST(KnativeExportTest, LatestFollowsTheLatestRevision) {
  ExportInput in = MakeInput(registry::kLatest);
  in.aliases = {MakeAlias("live", "2")};
  YAML::Node s = Service(in);
  EXPECT_FALSE(s["spec"]["template"]["metadata"]["name"]);
  EXPECT_TRUE(s["spec"]["traffic"][0]["latestRevision"].as<bool>());
  EXPECT_EQ(s["spec"]["traffic"][0]["percent"].as<int>(), 100);
  EXPECT_EQ(s["spec"]["traffic"][1]["revisionName"].as<std::string>(), "fraud-check-v2");
  EXPECT_EQ(EnvOf(s)["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
}

TEST(KnativeExportTest, KnativeBoundsBecomeWarnings) {
  ExportInput in = MakeInput("3");
  in.version.config.idle_timeout_s = 7200;
  in.version.config.reserved_concurrency = 0;
  in.version.config.timeout_s = 900;
  std::vector<std::string> warnings;
  YAML::Node ann = Service(in, &warnings)["spec"]["template"]["metadata"]["annotations"];
  EXPECT_EQ(ann["autoscaling.knative.dev/scale-to-zero-pod-retention-period"].as<std::string>(),
            "3600s");
  EXPECT_FALSE(ann["autoscaling.knative.dev/max-scale"]);
  EXPECT_EQ(warnings.size(), 3u);
}

TEST(KnativeExportTest, NamesMustBeDnsLabels) {
  EXPECT_EQ(*KnativeServiceName("My_Func-2"), "my-func-2");
  EXPECT_FALSE(KnativeServiceName("9lives").ok());
  EXPECT_FALSE(KnativeServiceName("trailing-").ok());
  EXPECT_FALSE(KnativeServiceName(std::string(56, 'a')).ok());
  EXPECT_TRUE(KnativeServiceName(std::string(55, 'a')).ok());

  ExportInput in = MakeInput("3");
  EXPECT_FALSE(KnativeService(in, {"img", "Bad_Name"}).ok());
  EXPECT_FALSE(KnativeService(in, {"", ""}).ok());
  EXPECT_FALSE(KnativeService(in, {"img with space", ""}).ok());
  EXPECT_EQ(Service(in, nullptr, {"img", "custom"})["spec"]["template"]["metadata"]["name"]
                .as<std::string>(),
            "custom-v3");

  in.aliases = {MakeAlias("Live", "3"), MakeAlias("live", "3")};
  EXPECT_FALSE(KnativeService(in, kOptions).ok()) << "two aliases, one tag";
  in.aliases = {MakeAlias("_x", "3")};
  EXPECT_FALSE(KnativeService(in, kOptions).ok()) << "tag must start with a letter";
}

TEST(KnativeExportTest, HostileStringsStayStrings) {
  ExportInput in = MakeInput("3");
  const std::vector<std::string> values = HostileStrings();
  for (size_t i = 0; i < values.size(); ++i) {
    in.version.config.environment["V" + std::to_string(i)] = values[i];
  }
  auto g = KnativeService(in, kOptions);
  ASSERT_TRUE(g.ok()) << g.status().message();
  YAML::Node s = YAML::Load(g->text);
  std::map<std::string, YAML::Node> env;
  for (const auto& e : s["spec"]["template"]["spec"]["containers"][0]["env"]) {
    env[e["name"].as<std::string>()] = e["value"];
  }
  for (size_t i = 0; i < values.size(); ++i) {
    YAML::Node v = env["V" + std::to_string(i)];
    ASSERT_TRUE(v.IsScalar()) << i;
    EXPECT_EQ(v.as<std::string>(), values[i]) << i;
    EXPECT_EQ(v.Tag(), "!") << "not quoted: " << values[i];
  }
}

TEST(ContainerfileTest, RunsTheHttpAdapterFromScratch) {
  const std::string text = Containerfile(MakeInput("3"));
  EXPECT_NE(text.find("\nFROM scratch\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nCOPY bootstrap /var/task/bootstrap\n"), std::string::npos);
  EXPECT_NE(text.find("\nCOPY manifest.json /var/task/manifest.json\n"), std::string::npos);
  EXPECT_NE(text.find("\nENV LAMBDA_TASK_ROOT=/var/task\n"), std::string::npos);
  EXPECT_NE(text.find("\nENTRYPOINT [\"/var/task/bootstrap\", \"--http\", \":8080\"]\n"),
            std::string::npos);
}

}  // namespace
}  // namespace mlfaas::deploy
