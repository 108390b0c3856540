// The SAM template and the deployment zip of `mlfaas export lambda` (src/deploy/lambda_export.h).
#include "deploy/lambda_export.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>
#include <zip.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

#include "common/fs.h"
#include "deploy/export_fixtures.h"

namespace mlfaas::deploy {
namespace {

using testing::HostileStrings;
using testing::MakeAlias;
using testing::MakeInput;
using testing::ZipEntries;

YAML::Node Sam(const ExportInput& in, std::vector<std::string>* warnings = nullptr) {
  auto g = SamTemplate(in);
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (!g.ok()) return {};
  if (warnings) *warnings = g->warnings;
  return YAML::Load(g->text);
}

bool AnyContains(const std::vector<std::string>& lines, const std::string& part) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

TEST(LambdaExportTest, MapsTheConfiguration) {
  ExportInput in = MakeInput("3");
  registry::FunctionConfig& c = in.version.config;
  c.memory_mb = 1024;
  c.timeout_s = 30;
  c.ephemeral_storage_mb = 2048;
  c.environment = {{"THRESHOLD", "0.7"}};
  c.reserved_concurrency = 10;
  c.model_loading = "lazy";
  c.description = "scores card payments";
  YAML::Node t = Sam(in);
  EXPECT_EQ(t["AWSTemplateFormatVersion"].as<std::string>(), "2010-09-09");
  EXPECT_EQ(t["Transform"].as<std::string>(), "AWS::Serverless-2016-10-31");
  YAML::Node fn = t["Resources"]["Function"];
  EXPECT_EQ(fn["Type"].as<std::string>(), "AWS::Serverless::Function");
  YAML::Node p = fn["Properties"];
  EXPECT_EQ(p["FunctionName"].as<std::string>(), "fraud-check");
  EXPECT_EQ(p["Description"].as<std::string>(), "scores card payments");
  EXPECT_EQ(p["Runtime"].as<std::string>(), "provided.al2023");
  EXPECT_EQ(p["Handler"].as<std::string>(), "predict");
  EXPECT_EQ(p["CodeUri"].as<std::string>(), "function.zip");
  EXPECT_EQ(p["MemorySize"].as<int>(), 1024);
  EXPECT_EQ(p["Timeout"].as<int>(), 30);
  EXPECT_EQ(p["EphemeralStorage"]["Size"].as<int>(), 2048);
  EXPECT_EQ(p["Environment"]["Variables"]["THRESHOLD"].as<std::string>(), "0.7");
  EXPECT_EQ(p["Environment"]["Variables"]["MLFAAS_MODEL_LOADING"].as<std::string>(), "lazy");
  EXPECT_EQ(p["ReservedConcurrentExecutions"].as<int>(), 10);
  EXPECT_FALSE(p["AutoPublishAlias"]);
  EXPECT_FALSE(p["ProvisionedConcurrencyConfig"]);
  EXPECT_FALSE(p["CapacityProviderConfig"]);
  // The exported version, kept when a later export replaces it in the stack.
  YAML::Node v = t["Resources"]["Version3"];
  EXPECT_EQ(v["Type"].as<std::string>(), "AWS::Lambda::Version");
  EXPECT_EQ(v["DeletionPolicy"].as<std::string>(), "Retain");
  EXPECT_EQ(v["Properties"]["FunctionName"]["Ref"].as<std::string>(), "Function");
  EXPECT_EQ(t["Outputs"]["LambdaVersionOfV3"]["Value"]["Fn::GetAtt"][0].as<std::string>(),
            "Version3");
  EXPECT_FALSE(t["Parameters"]);
}

TEST(LambdaExportTest, DefaultsLeaveOptionalPropertiesOut) {
  for (const char* loading : {"init", "eager"}) {
    ExportInput in = MakeInput("1");
    in.version.config.model_loading = loading;
    YAML::Node p = Sam(in)["Resources"]["Function"]["Properties"];
    EXPECT_FALSE(p["Environment"]) << loading;
    EXPECT_FALSE(p["ReservedConcurrentExecutions"]);
    EXPECT_FALSE(p["Description"]);
    EXPECT_EQ(p["MemorySize"].as<int>(), 512);
    EXPECT_EQ(p["Timeout"].as<int>(), 3);
    EXPECT_EQ(p["EphemeralStorage"]["Size"].as<int>(), 512);
  }
}

TEST(LambdaExportTest, ProvisionedConcurrencyPublishesAnAlias) {
  ExportInput in = MakeInput("3");
  in.version.config.provisioned_concurrency = 2;
  in.aliases = {MakeAlias("live", "3")};
  YAML::Node t = Sam(in);
  YAML::Node p = t["Resources"]["Function"]["Properties"];
  EXPECT_EQ(p["AutoPublishAlias"].as<std::string>(), "mlfaas-v3");
  EXPECT_EQ(p["ProvisionedConcurrencyConfig"]["ProvisionedConcurrentExecutions"].as<int>(), 2);
  EXPECT_FALSE(t["Resources"]["Version3"]) << "SAM publishes the version itself";
  YAML::Node ref = t["Resources"]["AliasLive"]["Properties"]["FunctionVersion"]["Fn::GetAtt"];
  EXPECT_EQ(ref[0].as<std::string>(), "Function.Version");
  EXPECT_EQ(ref[1].as<std::string>(), "Version");

  in.aliases.push_back(MakeAlias("mlfaas-v3", "3"));
  EXPECT_EQ(Sam(in)["Resources"]["Function"]["Properties"]["AutoPublishAlias"].as<std::string>(),
            "mlfaas-v3-auto");
}

TEST(LambdaExportTest, AliasesCarryCanaryWeights) {
  ExportInput in = MakeInput("3");
  in.aliases = {MakeAlias("live", "3", "2", 0.1), MakeAlias("stable", "1"),
                MakeAlias("next", "2", "3", 0.0)};
  std::vector<std::string> warnings;
  YAML::Node t = Sam(in, &warnings);
  YAML::Node live = t["Resources"]["AliasLive"];
  EXPECT_EQ(live["Type"].as<std::string>(), "AWS::Lambda::Alias");
  EXPECT_EQ(live["Properties"]["Name"].as<std::string>(), "live");
  EXPECT_EQ(live["Properties"]["FunctionName"]["Ref"].as<std::string>(), "Function");
  EXPECT_EQ(live["Properties"]["FunctionVersion"]["Fn::GetAtt"][0].as<std::string>(), "Version3");
  YAML::Node weights = live["Properties"]["RoutingConfig"]["AdditionalVersionWeights"];
  ASSERT_EQ(weights.size(), 1u);
  EXPECT_EQ(weights[0]["FunctionVersion"]["Ref"].as<std::string>(), "LambdaVersionOfV2");
  EXPECT_DOUBLE_EQ(weights[0]["FunctionWeight"].as<double>(), 0.1);
  YAML::Node stable = t["Resources"]["AliasStable"]["Properties"];
  EXPECT_EQ(stable["FunctionVersion"]["Ref"].as<std::string>(), "LambdaVersionOfV1");
  EXPECT_FALSE(stable["RoutingConfig"]);
  EXPECT_FALSE(t["Resources"]["AliasNext"]["Properties"]["RoutingConfig"]) << "weight 0";
  EXPECT_EQ(t["Parameters"]["LambdaVersionOfV1"]["Type"].as<std::string>(), "String");
  EXPECT_TRUE(t["Parameters"]["LambdaVersionOfV2"]);
  EXPECT_FALSE(t["Parameters"]["LambdaVersionOfV3"]);
  EXPECT_TRUE(AnyContains(warnings, "LambdaVersionOfV1"));
  EXPECT_TRUE(AnyContains(warnings, "LambdaVersionOfV2"));
}

TEST(LambdaExportTest, AliasResourceIdsAreUnique) {
  ExportInput in = MakeInput("3");
  in.aliases = {MakeAlias("a-b", "3"), MakeAlias("ab", "3"), MakeAlias("a_b", "3")};
  YAML::Node r = Sam(in)["Resources"];
  EXPECT_EQ(r["AliasAb"]["Properties"]["Name"].as<std::string>(), "a-b");
  EXPECT_EQ(r["AliasAb2"]["Properties"]["Name"].as<std::string>(), "ab");
  EXPECT_EQ(r["AliasAb3"]["Properties"]["Name"].as<std::string>(), "a_b");
}

TEST(LambdaExportTest, PerInstanceConcurrencyUsesManagedInstances) {
  ExportInput in = MakeInput("3");
  in.version.config.max_concurrency_per_instance = 64;
  in.version.config.provisioned_concurrency = 2;
  in.version.config.reserved_concurrency = 8;
  std::vector<std::string> warnings;
  YAML::Node t = Sam(in, &warnings);
  YAML::Node p = t["Resources"]["Function"]["Properties"];
  EXPECT_EQ(p["CapacityProviderConfig"]["PerExecutionEnvironmentMaxConcurrency"].as<int>(), 64);
  EXPECT_EQ(p["CapacityProviderConfig"]["Arn"]["Fn::GetAtt"][0].as<std::string>(),
            "CapacityProvider");
  EXPECT_EQ(p["FunctionScalingConfig"]["MinExecutionEnvironments"].as<int>(), 2);
  EXPECT_EQ(p["FunctionScalingConfig"]["MaxExecutionEnvironments"].as<int>(), 8);
  // SAM refuses ProvisionedConcurrencyConfig beside CapacityProviderConfig.
  EXPECT_FALSE(p["ProvisionedConcurrencyConfig"]);
  EXPECT_FALSE(p["AutoPublishAlias"]);
  EXPECT_FALSE(p["ReservedConcurrentExecutions"]);
  YAML::Node cp = t["Resources"]["CapacityProvider"];
  EXPECT_EQ(cp["Type"].as<std::string>(), "AWS::Serverless::CapacityProvider");
  EXPECT_EQ(cp["Properties"]["VpcConfig"]["SubnetIds"]["Ref"].as<std::string>(),
            "CapacityProviderSubnetIds");
  EXPECT_EQ(t["Parameters"]["CapacityProviderSubnetIds"]["Type"].as<std::string>(),
            "List<AWS::EC2::Subnet::Id>");
  EXPECT_TRUE(AnyContains(warnings, "Managed Instances"));

  in.version.config.max_concurrency_per_instance = 1;
  EXPECT_FALSE(Sam(in)["Resources"]["Function"]["Properties"]["CapacityProviderConfig"]);
}

TEST(LambdaExportTest, LatestHasNoVersionResource) {
  ExportInput in = MakeInput(registry::kLatest);
  in.aliases = {MakeAlias("live", "3")};
  YAML::Node t = Sam(in);
  for (auto it = t["Resources"].begin(); it != t["Resources"].end(); ++it) {
    EXPECT_NE(it->second["Type"].as<std::string>(), "AWS::Lambda::Version") << it->first;
  }
  EXPECT_EQ(t["Resources"]["AliasLive"]["Properties"]["FunctionVersion"]["Ref"].as<std::string>(),
            "LambdaVersionOfV3");
  EXPECT_FALSE(t["Outputs"]["LambdaVersionOfV3"]);
}

TEST(LambdaExportTest, HostileStringsStayStrings) {
  ExportInput in = MakeInput("3");
  const std::vector<std::string> values = HostileStrings();
  for (size_t i = 0; i < values.size(); ++i) {
    in.version.config.environment["V" + std::to_string(i)] = values[i];
  }
  in.version.config.description = "desc: \"x\" # y\n\xE2\x98\x83";
  in.aliases = {MakeAlias("live", "3")};
  in.aliases[0].description = "it's \"live\": #1\n";
  auto g = SamTemplate(in);
  ASSERT_TRUE(g.ok()) << g.status().message();
  YAML::Node t = YAML::Load(g->text);
  YAML::Node vars = t["Resources"]["Function"]["Properties"]["Environment"]["Variables"];
  for (size_t i = 0; i < values.size(); ++i) {
    YAML::Node v = vars["V" + std::to_string(i)];
    ASSERT_TRUE(v.IsScalar()) << i;
    EXPECT_EQ(v.as<std::string>(), values[i]) << i;
    EXPECT_EQ(v.Tag(), "!") << "not quoted: " << values[i];
  }
  EXPECT_EQ(t["Resources"]["Function"]["Properties"]["Description"].as<std::string>(),
            in.version.config.description);
  EXPECT_EQ(t["Resources"]["AliasLive"]["Properties"]["Description"].as<std::string>(),
            in.aliases[0].description);
  EXPECT_EQ(g->text.find_first_of("\x01\x7F"), std::string::npos) << "control bytes escaped";
}

TEST(LambdaExportTest, RefusesBadInput) {
  ExportInput bad_utf8 = MakeInput("3");
  bad_utf8.version.config.environment["X1"] = "\xFF\xFE";
  EXPECT_EQ(SamTemplate(bad_utf8).status().code(), StatusCode::kInvalidArgument);
  ExportInput overlong = MakeInput("3");
  overlong.version.config.environment["X1"] = "\xC0\xAF";
  EXPECT_FALSE(SamTemplate(overlong).ok());
  ExportInput truncated = MakeInput("3");
  truncated.version.config.environment["X1"] = "ok\xE2\x98";
  EXPECT_FALSE(SamTemplate(truncated).ok());
  ExportInput latest_alias = MakeInput("3");
  latest_alias.aliases = {MakeAlias("live", registry::kLatest)};
  EXPECT_FALSE(SamTemplate(latest_alias).ok());
  ExportInput weight = MakeInput("3");
  weight.aliases = {MakeAlias("live", "3", "2", 1.5)};
  EXPECT_FALSE(SamTemplate(weight).ok());
  ExportInput memory = MakeInput("3");
  memory.version.config.memory_mb = 64;
  EXPECT_FALSE(SamTemplate(memory).ok());
}

TEST(LambdaZipTest, HoldsAnExecutableBootstrapAndTheManifest) {
  TempDir dir("lambda_zip");
  const std::string bootstrap_bytes = "#!/bin/sh\necho static runtime\n";
  ASSERT_TRUE(WriteFileAtomic(dir.path() / "boot", bootstrap_bytes).ok());
  const std::string manifest = R"({"format_version":1,"name":"m"})";
  const auto zip = dir.path() / "function.zip";
  ASSERT_TRUE(WriteLambdaZip(zip, dir.path() / "boot", manifest).ok());
  auto entries = ZipEntries(zip);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries["bootstrap"].first, 0755u);
  EXPECT_EQ(entries["bootstrap"].second, bootstrap_bytes);
  EXPECT_EQ(entries["manifest.json"].first, 0644u);
  EXPECT_EQ(entries["manifest.json"].second, manifest);

  // Never overwrites; a missing bootstrap leaves no zip behind.
  EXPECT_FALSE(WriteLambdaZip(zip, dir.path() / "boot", manifest).ok());
  const auto other = dir.path() / "other.zip";
  EXPECT_FALSE(WriteLambdaZip(other, dir.path() / "missing", manifest).ok());
  EXPECT_FALSE(std::filesystem::exists(other));
}

}  // namespace
}  // namespace mlfaas::deploy
