// `mlfaas dataset`, `feedback`, `train --dataset` and `retrain` through the real binary, on a
// small synthetic dataset (the shipped one works the same, slower): the gate passes and the alias
// moves; the gate fails and it does not; canaries; every model kind; bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/fs.h"
#include "common/sha256.h"
#include "registry/training_store.h"
#include "testing/subprocess.h"

namespace mlfaas {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CommandResult;
using ::testing::HasSubstr;
using testing::RunCommand;

// Deterministic rows: anomalies (label 1) have large src_bytes and small dst_bytes, with 3% of
// labels flipped so the metrics are good but not perfect.
struct Row {
  double duration, src, dst;
  int label;
};
std::vector<Row> Synthetic(size_t n, uint64_t seed) {
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  auto next = [&s] {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(s >> 11) / 9007199254740992.0;
  };
  std::vector<Row> rows;
  for (size_t i = 0; i < n; ++i) {
    const bool anomaly = next() < 0.2;
    Row r{static_cast<double>(static_cast<int>(next() * 3)),
          anomaly ? 2000 + next() * 50000 : 100 + next() * 400,
          anomaly ? next() * 100 : 1000 + next() * 40000, anomaly ? 1 : 0};
    if (next() < 0.03) r.label = 1 - r.label;
    rows.push_back(r);
  }
  return rows;
}

class RetrainCliTest : public ::testing::Test {
 protected:
  CommandResult Mlfaas(std::vector<std::string> args) {
    args.insert(args.begin(), {MLFAAS_BIN, "--home", (dir_.path() / "home").string()});
    return RunCommand(args, {}, std::chrono::seconds(120));
  }
  json MlfaasJson(std::vector<std::string> args) {
    CommandResult r = Mlfaas(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }
  std::string Path(const std::string& name) { return (dir_.path() / name).string(); }
  std::string WriteCsv(const std::string& name, const std::vector<Row>& rows) {
    std::ofstream out(Path(name));
    out << "duration,src_bytes,dst_bytes,label\n";
    for (const Row& r : rows)
      out << r.duration << "," << r.src << "," << r.dst << "," << r.label << "\n";
    return Path(name);
  }
  // {"rows": [...]} with ids prefix-0.., labels flipped when `poison`.
  std::string WriteFeedback(const std::string& name, const std::vector<Row>& rows,
                            const std::string& prefix, bool poison) {
    json body = {{"rows", json::array()}};
    for (size_t i = 0; i < rows.size(); ++i) {
      body["rows"].push_back({{"id", prefix + std::to_string(i)},
                              {"label", poison ? 1 - rows[i].label : rows[i].label},
                              {"features",
                               {{"duration", rows[i].duration},
                                {"src_bytes", rows[i].src},
                                {"dst_bytes", rows[i].dst}}}});
    }
    std::ofstream(Path(name)) << body.dump();
    return Path(name);
  }
  // Trains on `csv` with extra train flags, creates `fn`, publishes version 1, alias live -> 1.
  void Deploy(const std::string& fn, const std::string& csv, std::vector<std::string> extra = {}) {
    std::vector<std::string> train = {"train", "--data", csv, "--out", Path(fn + ".zip")};
    train.insert(train.end(), extra.begin(), extra.end());
    CommandResult t = Mlfaas(train);
    ASSERT_EQ(t.exit_code, 0) << t.err;
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"function", "create", fn, "--package", Path(fn + ".zip")},
             {"function", "publish", fn},
             {"alias", "create", fn, "live", "--version", "1"}}) {
      CommandResult r = Mlfaas(args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }
  json Alias(const std::string& fn) { return MlfaasJson({"alias", "get", fn, "live", "--json"}); }

  TempDir dir_{"retrain_cli"};
};

TEST_F(RetrainCliTest, TrainRegistersItsDataAndTrainsFromADatasetByName) {
  const std::string csv = WriteCsv("synth.csv", Synthetic(3000, 1));
  ASSERT_NO_FATAL_FAILURE(Deploy("f", csv));
  json list = MlfaasJson({"dataset", "list", "--json"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "synth.csv");
  EXPECT_EQ(list[0]["sha256"], Sha256Hex(*ReadFile(csv)));

  json added = MlfaasJson({"dataset", "add", "again", csv, "--json"});
  EXPECT_EQ(added["sha256"], list[0]["sha256"]);
  json by_name =
      MlfaasJson({"train", "--dataset", "again", "--out", Path("by-name.zip"), "--json"});
  EXPECT_EQ(by_name["training"]["dataset"]["name"], "again");
  EXPECT_EQ(by_name["training"]["dataset"]["sha256"], list[0]["sha256"]);
  EXPECT_EQ(by_name["training"]["test_size"], 0.2);
  EXPECT_EQ(by_name["training"]["seed"], 0);

  CommandResult missing = Mlfaas({"train", "--dataset", "nope", "--out", Path("x.zip")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("dataset 'nope' not found"));
  CommandResult both =
      Mlfaas({"train", "--dataset", "again", "--data", csv, "--out", Path("x.zip")});
  EXPECT_NE(both.exit_code, 0);
  CommandResult neither = Mlfaas({"train", "--out", Path("x.zip")});
  EXPECT_EQ(neither.exit_code, 1);
  EXPECT_THAT(neither.err, HasSubstr("--data FILE or --dataset NAME"));
  CommandResult bad_name = Mlfaas({"dataset", "add", "a/b", csv});
  EXPECT_EQ(bad_name.exit_code, 1);
  EXPECT_EQ(MlfaasJson({"dataset", "list", "--json"}).size(), 2u);
}

TEST_F(RetrainCliTest, APassingGateMovesTheAliasAndAFailingOneDoesNot) {
  const std::vector<Row> rows = Synthetic(3000, 2);
  ASSERT_NO_FATAL_FAILURE(Deploy("f", WriteCsv("synth.csv", rows)));

  // Good feedback: the candidate is at least as good, the alias moves to it.
  json fb = MlfaasJson({"feedback", "add", "f",
                        WriteFeedback("good.json", Synthetic(800, 3), "good-", false), "--json"});
  EXPECT_EQ(fb["added"], 800);
  json run = MlfaasJson({"retrain", "f", "--json"});
  EXPECT_EQ(run["decision"], "promoted") << run.dump();
  EXPECT_EQ(run["current_version"], "1");
  EXPECT_EQ(run["candidate_version"], "2");
  EXPECT_EQ(run["feedback_rows"], 800);
  EXPECT_TRUE(run["current_metrics"]["auc"].is_number());
  EXPECT_TRUE(run["candidate_metrics"]["auc"].is_number());
  // Both were scored on the same held-out rows: the dataset's test split plus ~20% of feedback.
  const int64_t test_rows = run["rows"]["test"];
  EXPECT_EQ(run["current_metrics"]["rows"], test_rows);
  EXPECT_EQ(run["candidate_metrics"]["rows"], test_rows);
  EXPECT_GT(test_rows, 600 + 100);
  EXPECT_LT(test_rows, 600 + 260);
  EXPECT_EQ(Alias("f")["version"], "2");
  // The same rows again train the same model: nothing new is published.
  run = MlfaasJson({"retrain", "f", "--json"});
  EXPECT_EQ(run["candidate_version"], "2") << run.dump();
  EXPECT_NE(run["reason"].get<std::string>().find("nothing changed"), std::string::npos);

  // Poisoned feedback (labels flipped): the candidate is worse; the gate fails, the alias stays,
  // the candidate is still published (as version 3) for inspection.
  MlfaasJson({"feedback", "add", "f",
              WriteFeedback("poison.json", Synthetic(3000, 4), "poison-", true), "--json"});
  run = MlfaasJson({"retrain", "f", "--json"});
  EXPECT_EQ(run["decision"], "rejected") << run.dump();
  EXPECT_THAT(run["reason"].get<std::string>(), HasSubstr("FAIL"));
  EXPECT_EQ(run["candidate_version"], "3");
  EXPECT_EQ(Alias("f")["version"], "2");

  // An absolute gate no model meets.
  run = MlfaasJson({"retrain", "f", "--gate", "f1>=1.5", "--json"});
  EXPECT_EQ(run["decision"], "rejected");
  EXPECT_EQ(Alias("f")["version"], "2");

  json history = MlfaasJson({"retrain", "history", "f", "--json"});
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[0]["decision"], "promoted");
  EXPECT_EQ(history[2]["decision"], "rejected");
  EXPECT_EQ(history[3]["gate"], "f1>=1.5");
  EXPECT_TRUE(history[2]["candidate_metrics"]["f1"].is_number());
  CommandResult table = Mlfaas({"retrain", "history", "f"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.out, HasSubstr("rejected"));
}

TEST_F(RetrainCliTest, ACanaryWeightRoutesAShareInsteadOfMovingTheAlias) {
  ASSERT_NO_FATAL_FAILURE(Deploy("f", WriteCsv("synth.csv", Synthetic(2000, 5))));
  MlfaasJson({"feedback", "add", "f", WriteFeedback("good.json", Synthetic(300, 6), "g-", false),
              "--json"});
  json run = MlfaasJson({"retrain", "f", "--canary-weight", "0.1", "--json"});
  EXPECT_EQ(run["decision"], "canary") << run.dump();
  json alias = Alias("f");
  EXPECT_EQ(alias["version"], "1");
  EXPECT_EQ(alias["canary_version"], "2") << alias.dump();
  EXPECT_DOUBLE_EQ(alias["canary_weight"].get<double>(), 0.1);

  // With --linear the canary decides by itself: a deployment the gateway's controller takes
  // up (canary_controller_test.cc), tied to this run. (New feedback first: the same rows would
  // train the same model, which publishing returns as the existing version 2.)
  MlfaasJson({"feedback", "add", "f", WriteFeedback("more.json", Synthetic(300, 16), "m-", false),
              "--json"});
  run = MlfaasJson({"retrain", "f", "--linear", "25%/2m", "--json"});
  EXPECT_EQ(run["decision"], "canary") << run.dump();
  alias = Alias("f");
  EXPECT_EQ(alias["canary_version"], "3");
  EXPECT_DOUBLE_EQ(alias["canary_weight"].get<double>(), 0.25);
  SystemClock clock;
  auto store = registry::TrainingStore::Open(dir_.path() / "home", clock);
  ASSERT_TRUE(store.ok());
  auto deployments = (*store)->Canaries(true);
  ASSERT_TRUE(deployments.ok());
  ASSERT_EQ(deployments->size(), 1u);
  const registry::CanaryDeployment& d = (*deployments)[0];
  EXPECT_EQ(d.canary_version, "3");
  EXPECT_DOUBLE_EQ(d.step, 0.25);
  EXPECT_EQ(d.bake_ms, 120'000);
  EXPECT_EQ(d.retrain_run, run["id"].get<int64_t>());
}

TEST_F(RetrainCliTest, GradientBoostedTreesRetrainToo) {
  ASSERT_NO_FATAL_FAILURE(Deploy("t", WriteCsv("synth.csv", Synthetic(2000, 7)),
                                 {"--algo", "xgboost", "--param", "n_estimators=5", "--param",
                                  "max_depth=3", "--param", "nthread=1"}));
  MlfaasJson({"feedback", "add", "t", WriteFeedback("good.json", Synthetic(300, 8), "g-", false),
              "--json"});
  json run = MlfaasJson({"retrain", "t", "--gate", "auc>=0.5", "--json"});
  EXPECT_EQ(run["decision"], "promoted") << run.dump();
  // The candidate keeps the kind and the options: inspect the published package (its blob).
  std::string digest;
  for (const json& v : MlfaasJson({"version", "list", "t", "--json"})) {
    if (v["version"] == "2") digest = v["code_digest"];
  }
  ASSERT_EQ(digest.size(), 64u);
  const fs::path blob = dir_.path() / "home" / "blobs" / "sha256" / digest.substr(0, 2) / digest;
  ASSERT_TRUE(fs::exists(blob)) << blob;
  json inspect = MlfaasJson({"package", "inspect", blob.string(), "--json"})["manifest"];
  EXPECT_EQ(inspect["kind"], "xgboost") << inspect.dump();
  EXPECT_EQ(inspect["training"]["rounds"], 5);
  EXPECT_EQ(inspect["training"]["feedback"]["train"].get<int>() +
                inspect["training"]["feedback"]["held_out"].get<int>(),
            300);
}

TEST_F(RetrainCliTest, BadInputFailsWithOneLineAndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(Deploy("f", WriteCsv("synth.csv", Synthetic(2000, 9))));
  const auto versions = [&] { return MlfaasJson({"version", "list", "f", "--json"}).size(); };
  const size_t before = versions();

  CommandResult r = Mlfaas({"retrain", "f", "--gate", "auc>=current,latency<5"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unknown metric 'latency'"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const char* gate : {"", "auc", "auc>>1", "auc>=current*2", "auc>=x", "auc>=0.9,"}) {
    r = Mlfaas({"retrain", "f", "--gate", gate});
    EXPECT_EQ(r.exit_code, 1) << gate;
  }
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"--canary-weight", "1.5"},
           {"--bake", "10m"},  // a canary that decides needs a weight
           {"--canary-weight", "0.1", "--bake", "soon"},
           {"--canary-weight", "0.1", "--bake", "0s"},
           {"--linear", "10"},
           {"--linear", "150%/1m"},
           {"--canary-weight", "0.1", "--bake", "1m", "--linear", "10%/1m"},
           {"--canary-weight", "0.1", "--bake", "1m", "--max-p99-ratio", "0.5"},
           {"--max-error-rate-increase", "0.1"}}) {
    std::vector<std::string> args = {"retrain", "f"};
    args.insert(args.end(), bad.begin(), bad.end());
    r = Mlfaas(args);
    EXPECT_EQ(r.exit_code, 1) << bad[0] << " " << bad[1];
  }
  r = Mlfaas({"retrain", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("nope"));
  EXPECT_EQ(versions(), before);  // nothing was published
  EXPECT_TRUE(MlfaasJson({"retrain", "history", "f", "--json"}).empty());

  // --data that is not training data for this model fails the run and is not registered.
  std::ofstream(Path("notcsv.json")) << R"({"rows": []})";
  r = Mlfaas({"retrain", "f", "--data", Path("notcsv.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(MlfaasJson({"dataset", "list", "--json"}).size(), 1u);
  EXPECT_EQ(versions(), before);
  ASSERT_EQ(MlfaasJson({"retrain", "history", "f", "--json"}).size(), 1u);

  // A missing alias fails the run: recorded, nothing published.
  r = Mlfaas({"retrain", "f", "--alias", "prod"});
  EXPECT_EQ(r.exit_code, 1);
  json history = MlfaasJson({"retrain", "history", "f", "--json"});
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["decision"], "failed");
  EXPECT_EQ(history[1]["decision"], "failed");
  EXPECT_EQ(versions(), before);

  // Feedback that does not fit the function's features is refused whole.
  std::ofstream(Path("bad.json")) << R"({"rows": [{"id": "a", "label": 1, "features": {"x": 1}}]})";
  r = Mlfaas({"feedback", "add", "f", Path("bad.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unknown feature 'x'"));
  r = Mlfaas({"feedback", "count", "f"});
  EXPECT_EQ(r.out, "0\n");
}

}  // namespace
}  // namespace mlfaas
