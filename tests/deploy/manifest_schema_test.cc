// The generated template.yaml and service.yaml against the upstream schemas kept in schemas/
// (README.md there), checked by validate_manifests.py with Debian's python3-jsonschema; and
// documents broken on purpose, which the same check must refuse.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/fs.h"
#include "deploy/export_fixtures.h"
#include "deploy/knative_export.h"
#include "deploy/lambda_export.h"
#include "testing/subprocess.h"

namespace mlfaas::deploy {
namespace {

using testing::MakeAlias;
using testing::MakeInput;

constexpr char kPython[] = "/usr/bin/python3";

class ManifestSchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kPython, X_OK) != 0) GTEST_SKIP() << kPython << " is missing";
  }
  // What validate_manifests.py says of each of `texts`: the exit status it has on that document
  // alone, and the errors it prints on stderr. One python process for all of them (--each): it
  // starts once instead of once per document.
  struct Verdict {
    int status = -1;
    std::string errors;
  };
  std::vector<Verdict> Validate(const std::string& kind, const std::vector<std::string>& texts) {
    const std::string src = MLFAAS_SOURCE_DIR;
    std::vector<std::string> argv = {kPython, src + "/tests/deploy/validate_manifests.py", "--each",
                                     src + "/tests/deploy/schemas", kind};
    for (const std::string& text : texts) {
      const auto file = dir_.path() / ("doc" + std::to_string(++n_) + ".yaml");
      EXPECT_TRUE(WriteFileAtomic(file, text).ok());
      argv.push_back(file.string());
    }
    auto r = mlfaas::testing::RunCommand(argv, {}, std::chrono::seconds(60));
    std::vector<Verdict> out(texts.size());
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (r.exit_code != 0 || !j.is_array() || j.size() != texts.size()) {
      ADD_FAILURE() << "validate_manifests.py --each: exit " << r.exit_code << "\n"
                    << r.out << r.err;
      return out;
    }
    for (size_t i = 0; i < texts.size(); ++i) {
      out[i].status = j[i]["status"].get<int>();
      out[i].errors = j[i]["errors"].get<std::string>();
    }
    return out;
  }
  // `text` with one change made through yaml-cpp.
  static std::string Edited(const std::string& text, const std::function<void(YAML::Node)>& edit) {
    YAML::Node doc = YAML::Load(text);
    edit(doc);
    YAML::Emitter out;
    out << doc;
    return out.c_str();
  }

  TempDir dir_{"manifest_schema"};
  int n_ = 0;
};

// The configurations the generators distinguish.
std::vector<ExportInput> Inputs() {
  std::vector<ExportInput> all;
  all.push_back(MakeInput("1"));
  ExportInput full = MakeInput("3");
  full.version.config.memory_mb = 2048;
  full.version.config.timeout_s = 900;
  full.version.config.ephemeral_storage_mb = 10240;
  full.version.config.reserved_concurrency = 10;
  full.version.config.model_loading = "lazy";
  full.version.config.description = "scores: \"payments\" # v3";
  full.version.config.environment = {{"MODE", "strict"}, {"ODD", "a: b\n# c"}};
  full.aliases = {MakeAlias("live", "3", "2", 0.1), MakeAlias("stable", "1")};
  full.aliases[1].description = "the old one";
  all.push_back(full);
  ExportInput provisioned = full;
  provisioned.version.config.provisioned_concurrency = 3;
  provisioned.via_alias = "live";
  all.push_back(provisioned);
  ExportInput managed = full;
  managed.version.config.max_concurrency_per_instance = 1600;
  managed.version.config.provisioned_concurrency = 1;
  all.push_back(managed);
  ExportInput latest = full;
  latest.version.version = registry::kLatest;
  all.push_back(latest);
  ExportInput hostile = MakeInput("2");
  const auto values = testing::HostileStrings();
  for (size_t i = 0; i < values.size(); ++i) {
    hostile.version.config.environment["VAR" + std::to_string(i)] = values[i];
  }
  all.push_back(hostile);
  return all;
}

TEST_F(ManifestSchemaTest, TemplatesMatchTheSamAndCloudFormationSchemas) {
  std::vector<std::string> texts;
  for (const ExportInput& in : Inputs()) {
    auto g = SamTemplate(in);
    ASSERT_TRUE(g.ok()) << g.status().message();
    texts.push_back(g->text);
  }
  const auto verdicts = Validate("sam", texts);
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(verdicts[i].status, 0) << verdicts[i].errors << "\n" << texts[i];
  }
}

TEST_F(ManifestSchemaTest, BrokenTemplatesAreRefused) {
  ExportInput in = Inputs()[1];
  in.version.config.max_concurrency_per_instance = 8;
  auto g = SamTemplate(in);
  ASSERT_TRUE(g.ok());
  auto fn = [](YAML::Node d) { return d["Resources"]["Function"]["Properties"]; };
  const std::vector<std::pair<std::string, std::function<void(YAML::Node)>>> breaks = {
      {"MemorySize", [&](YAML::Node d) { fn(d)["MemorySize"] = "lots"; }},
      {"EphemeralStorage", [&](YAML::Node d) { fn(d)["EphemeralStorage"]["Size"] = 100; }},
      {"Timeout", [&](YAML::Node d) { fn(d)["Timeout"] = 901; }},
      {"EnvName", [&](YAML::Node d) { fn(d)["Environment"]["Variables"]["9"] = "x"; }},
      {"PerExecutionEnvironmentMaxConcurrency",
       [&](YAML::Node d) {
         fn(d)["CapacityProviderConfig"]["PerExecutionEnvironmentMaxConcurrency"] = "many";
       }},
      {"FunctionScalingConfig",
       [&](YAML::Node d) { fn(d)["FunctionScalingConfig"]["MinExecutionEnvironments"] = -1; }},
      {"Name", [](YAML::Node d) { d["Resources"]["AliasLive"]["Properties"].remove("Name"); }},
      {"FunctionWeight",
       [](YAML::Node d) {
         d["Resources"]["AliasLive"]["Properties"]["RoutingConfig"]["AdditionalVersionWeights"][0]
          ["FunctionWeight"] = "ten percent";
       }},
      {"Unknown", [](YAML::Node d) { d["Resources"]["Version3"]["Properties"]["Colour"] = "red"; }},
  };
  // The template as generated (valid), then each broken copy (refused).
  std::vector<std::string> texts = {g->text};
  for (const auto& [name, edit] : breaks) texts.push_back(Edited(g->text, edit));
  const auto verdicts = Validate("sam", texts);
  ASSERT_EQ(verdicts[0].status, 0) << verdicts[0].errors;
  for (size_t i = 0; i < breaks.size(); ++i) {
    EXPECT_EQ(verdicts[i + 1].status, 1) << breaks[i].first << ": " << verdicts[i + 1].errors;
  }
}

TEST_F(ManifestSchemaTest, ServicesMatchTheKnativeCrdSchema) {
  std::vector<std::string> texts;
  for (const ExportInput& in : Inputs()) {
    auto g = KnativeService(in, {"registry.example/fraud-check:3", ""});
    ASSERT_TRUE(g.ok()) << g.status().message();
    texts.push_back(g->text);
  }
  const auto verdicts = Validate("knative", texts);
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(verdicts[i].status, 0) << verdicts[i].errors << "\n" << texts[i];
  }
}

TEST_F(ManifestSchemaTest, BrokenServicesAreRefused) {
  auto g = KnativeService(Inputs()[2], {"registry.example/fraud-check:3", ""});
  ASSERT_TRUE(g.ok());
  auto spec = [](YAML::Node d) { return d["spec"]["template"]["spec"]; };
  const std::vector<std::pair<std::string, std::function<void(YAML::Node)>>> breaks = {
      {"containerConcurrency", [&](YAML::Node d) { spec(d)["containerConcurrency"] = "lots"; }},
      {"memory",
       [&](YAML::Node d) {
         spec(d)["containers"][0]["resources"]["limits"]["memory"] = "lots of memory";
       }},
      {"percent", [](YAML::Node d) { d["spec"]["traffic"][0]["percent"] = "50%"; }},
      {"annotation",
       [](YAML::Node d) {
         d["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"] =
             YAML::Load("[1]");
       }},
      {"containers", [&](YAML::Node d) { spec(d).remove("containers"); }},
      {"metadata.name", [](YAML::Node d) { d["metadata"]["name"] = YAML::Load("{a: b}"); }},
      {"metadata.extra", [](YAML::Node d) { d["metadata"]["colour"] = "red"; }},
      {"kind", [](YAML::Node d) { d["kind"] = "Deployment"; }},
  };
  // The service as generated (valid), then each broken copy (refused).
  std::vector<std::string> texts = {g->text};
  for (const auto& [name, edit] : breaks) texts.push_back(Edited(g->text, edit));
  const auto verdicts = Validate("knative", texts);
  ASSERT_EQ(verdicts[0].status, 0) << verdicts[0].errors;
  for (size_t i = 0; i < breaks.size(); ++i) {
    EXPECT_EQ(verdicts[i + 1].status, 1) << breaks[i].first << ": " << verdicts[i + 1].errors;
  }
}

}  // namespace
}  // namespace mlfaas::deploy
