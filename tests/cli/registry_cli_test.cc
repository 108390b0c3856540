// The real `mlfaas` binary end to end on a temp --home: function, version and alias commands.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/fs.h"
#include "registry/test_packages.h"
#include "testing/subprocess.h"

namespace mlfaas::cli {
namespace {

using mlfaas::testing::CommandResult;
using mlfaas::testing::RunCommand;

class RegistryCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pkg_ = (dir_.path() / "model.zip").string();
    pkg2_ = (dir_.path() / "model2.zip").string();
    registry::testing::WriteModelPackage(pkg_, 0);
    registry::testing::WriteModelPackage(pkg2_, 1);
  }

  CommandResult Run(std::vector<std::string> args) const {
    args.insert(args.begin(), {MLFAAS_BIN, "--home", (dir_.path() / "home").string()});
    return RunCommand(args, {}, std::chrono::seconds(60));
  }
  // Runs, expects exit 0 and returns stdout.
  std::string Ok(const std::vector<std::string>& args) const {
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << " " << args[1] << ": " << r.err;
    return r.out;
  }
  nlohmann::json Json(const std::vector<std::string>& args) const {
    return nlohmann::json::parse(Ok(args), nullptr, false);
  }
  // Runs, expects exit 1 and exactly the stderr line "mlfaas: <message>".
  void ExpectError(const std::vector<std::string>& args, const std::string& message) const {
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_EQ(r.err, "mlfaas: " + message + "\n");
  }

  TempDir dir_;
  std::string pkg_, pkg2_;
};

TEST_F(RegistryCliTest, CreatePublishAliasAndRollback) {
  std::string table = Ok({"function", "create", "kdd99", "--package", pkg_, "--memory", "256"});
  EXPECT_NE(table.find("kdd99"), std::string::npos);
  EXPECT_NE(table.find("Memory (MB):"), std::string::npos);
  EXPECT_EQ(Ok({"function", "publish", "kdd99"}), "1\n");
  EXPECT_EQ(Ok({"function", "publish", "kdd99"}), "1\n");  // nothing changed
  Ok({"function", "update-code", "kdd99", "--package", pkg2_});
  auto v2 = Json({"function", "publish", "kdd99", "--description", "new model", "--json"});
  EXPECT_EQ(v2["version"], "2");
  EXPECT_EQ(v2["description"], "new model");

  Ok({"alias", "create", "kdd99", "live", "--version", "2"});
  auto canary = Json({"alias", "update", "kdd99", "live", "--canary-version", "1",
                      "--canary-weight", "0.1", "--json"});
  EXPECT_EQ(canary["version"], "2");
  EXPECT_EQ(canary["canary_version"], "1");
  EXPECT_DOUBLE_EQ(canary["canary_weight"].get<double>(), 0.1);
  // Rollback: point the alias back at version 1 and drop the canary.
  Ok({"alias", "update", "kdd99", "live", "--version", "1", "--no-canary"});
  auto live = Json({"alias", "get", "kdd99", "live", "--json"});
  EXPECT_EQ(live["version"], "1");
  EXPECT_TRUE(live["canary_version"].is_null());
  EXPECT_NE(Ok({"alias", "list", "kdd99"}).find("live"), std::string::npos);

  auto versions = Json({"version", "list", "kdd99", "--json"});
  ASSERT_EQ(versions.size(), 3u);
  EXPECT_EQ(versions[0]["version"], "$LATEST");
  EXPECT_EQ(versions[2]["version"], "2");
  Ok({"version", "delete", "kdd99", "2"});  // no alias uses it after the rollback
  auto fns = Json({"function", "list", "--json"});
  ASSERT_EQ(fns.size(), 1u);
  EXPECT_EQ(fns[0]["name"], "kdd99");
  Ok({"alias", "delete", "kdd99", "live"});
  Ok({"function", "delete", "kdd99"});
  EXPECT_EQ(Json({"function", "list", "--json"}).size(), 0u);
}

TEST_F(RegistryCliTest, PublishesAPackageTrainedOnTheShippedData) {
  std::string trained = (dir_.path() / "trained.zip").string();
  Ok({"train", "--data", MLFAAS_DATA_FILE, "--out", trained});
  auto inspect = Json({"package", "inspect", trained, "--json"});
  ASSERT_TRUE(inspect.contains("manifest")) << inspect.dump();
  auto f = Json({"function", "create", "kdd99-anomaly", "--package", trained, "--json"});
  EXPECT_EQ(f["latest"]["model_digest"], inspect["manifest"]["digest"]);
  EXPECT_EQ(f["latest"]["code_digest"], inspect["sha256"]);
  EXPECT_EQ(Ok({"function", "publish", "kdd99-anomaly"}), "1\n");
}

TEST_F(RegistryCliTest, UpdateConfigChangesOnlyGivenFlags) {
  Ok({"function", "create", "f", "--package", pkg_, "--memory", "256", "--timeout", "10", "--env",
      "A=1", "--env", "B=x=y", "--reserved-concurrency", "4", "--model-loading", "lazy"});
  Ok({"function", "update-config", "f", "--timeout", "20"});
  auto f = Json({"function", "get", "f", "--json"});
  const auto& c = f["latest"]["config"];
  EXPECT_EQ(c["memory_mb"], 256);
  EXPECT_EQ(c["timeout_s"], 20);
  EXPECT_EQ(c["environment"], (nlohmann::json{{"A", "1"}, {"B", "x=y"}}));
  EXPECT_EQ(c["reserved_concurrency"], 4);
  EXPECT_EQ(c["model_loading"], "lazy");
  Ok({"function", "update-config", "f", "--no-env", "--no-reserved-concurrency"});
  auto g = Json({"function", "get", "f", "--json"});
  EXPECT_TRUE(g["latest"]["config"]["environment"].empty());
  EXPECT_TRUE(g["latest"]["config"]["reserved_concurrency"].is_null());
}

TEST_F(RegistryCliTest, ErrorsAreOneLineAndExitOne) {
  Ok({"function", "create", "f", "--package", pkg_});
  EXPECT_EQ(Ok({"function", "publish", "f"}), "1\n");
  ExpectError({"function", "create", "f", "--package", pkg_}, "function 'f' already exists");
  ExpectError({"function", "create", "g", "--package", pkg_, "--memory", "64"},
              "memory_mb must be between 128 and 10240, got 64");
  ExpectError({"function", "create", "g", "--package", pkg_, "--env", "NOVALUE"},
              "--env expects K=V, got 'NOVALUE'");
  ExpectError({"function", "get", "nope"}, "function 'nope' does not exist");
  ExpectError({"alias", "create", "f", "live", "--version", "9"},
              "alias version: function 'f' has no version 9");
  Ok({"alias", "create", "f", "live", "--version", "1"});
  ExpectError({"version", "delete", "f", "1"},
              "version 1 of 'f' is used by alias 'live'; update or delete the alias first");
  ExpectError({"version", "delete", "f", "5"}, "function 'f' has no version 5");
  ExpectError({"alias", "update", "f", "live", "--version", "$LATEST"},
              "version must be a published version, not $LATEST");
  CommandResult bad_flag = Run({"function", "create", "h"});  // --package missing
  EXPECT_EQ(bad_flag.exit_code, 1);
  EXPECT_NE(bad_flag.err.find("--package"), std::string::npos) << bad_flag.err;
}

TEST_F(RegistryCliTest, ConcurrentPublishersGetDistinctVersions) {
  Ok({"function", "create", "f", "--package", pkg_});
  constexpr int kWorkers = 4, kRounds = 4;
  std::vector<std::vector<std::string>> outs(kWorkers);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kRounds; ++i) {
        std::string mem = std::to_string(200 + w * 10 + i);
        if (Run({"function", "update-config", "f", "--memory", mem}).exit_code != 0) return;
        CommandResult r = Run({"function", "publish", "f"});
        if (r.exit_code == 0) outs[w].push_back(r.out);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> seen;
  for (const auto& o : outs) {
    EXPECT_EQ(o.size(), static_cast<size_t>(kRounds));
    seen.insert(o.begin(), o.end());
  }
  auto versions = Json({"version", "list", "f", "--json"});
  ASSERT_EQ(versions.size(), seen.size() + 1);  // every version reported, plus $LATEST
  for (size_t i = 1; i < versions.size(); ++i) {
    EXPECT_EQ(versions[i]["version"], std::to_string(i));
  }
}

}  // namespace
}  // namespace mlfaas::cli
