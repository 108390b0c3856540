// Models beyond mlfaas's own logistic regression, as a data scientist brings them: trained by
// python3-xgboost and python3-sklearn (Debian's), packaged with `mlfaas package create`, and
// trained by `mlfaas train --algo xgboost`. Predictions through `mlfaas predict` (the package)
// and through the served endpoint (the worker) must equal the libraries' own, within 1e-6.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/fs.h"
#include "gateway/serve_fixture.h"
#include "testing/reference_data.h"
#include "testing/subprocess.h"

namespace mlfaas::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
constexpr auto kModelsTimeout = std::chrono::seconds(180);

// Scores eval.csv with the booster of an mlfaas package (its manifest's model.booster, saved by
// the test as booster.json) with xgboost's own predict. argv: booster.json eval.csv out.json
constexpr const char* kXgboostPredict = R"PY(
import json, sys
import numpy as np, xgboost as xgb
booster = xgb.Booster(model_file=sys.argv[1])
ev = np.loadtxt(sys.argv[2], delimiter=",", skiprows=1)
json.dump(booster.predict(xgb.DMatrix(np.log(ev + 0.1))).tolist(), open(sys.argv[3], "w"))
)PY";

class ServeModelsTest : public ServeFixture {
 protected:
  CommandResult Python(const char* script, std::vector<std::string> args) {
    const fs::path path = tmp_.path() / "script.py";
    std::ofstream(path) << script;
    args.insert(args.begin(), {"/usr/bin/python3", path.string()});
    return RunCommand(args, {}, kModelsTimeout);
  }

  // `mlfaas predict --data eval.csv --out ...` with `pkg`: the probability column.
  std::vector<double> PredictWithPackage(const fs::path& pkg) {
    const fs::path out = tmp_.path() / (pkg.stem().string() + "-pred.csv");
    auto r = Mlfaas({"predict", "--package", pkg.string(), "--data", (ref_ / "eval.csv").string(),
                     "--out", out.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<double> p;
    std::istringstream in(Slurp(out.string()));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) p.push_back(std::stod(line.substr(0, line.find(','))));
    return p;
  }

  // The served function `fn`, invoked once with every evaluation row.
  std::vector<double> PredictServed(uint16_t port, const std::string& fn, const json& rows) {
    json instances = json::array();
    for (const auto& r : rows) {
      instances.push_back({{"duration", r[0]}, {"src_bytes", r[1]}, {"dst_bytes", r[2]}});
    }
    auto reply = HttpClient(port).Post("/2015-03-31/functions/" + fn + "/invocations",
                                       json{{"instances", instances}}.dump());
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.header("x-amz-function-error"), "") << reply.body;
    std::vector<double> p;
    const json body = json::parse(reply.body, nullptr, false);
    EXPECT_TRUE(body.contains("predictions")) << reply.body.substr(0, 500);
    if (!body.contains("predictions")) return p;
    for (const auto& pr : body["predictions"]) p.push_back(pr["probability"].get<double>());
    return p;
  }

  static void ExpectClose(const std::vector<double>& got, const std::vector<double>& want,
                          const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
    EXPECT_LE(worst, 1e-6) << what << ": max |mlfaas - library| = " << worst;
  }

  fs::path ref_;  // the models trained elsewhere (read only)
};

TEST_F(ServeModelsTest, ModelsTrainedElsewhereAndByXgboostServeTheLibrariesPredictions) {
  const fs::path dir = tmp_.path();
  // Trained by scikit-learn and python3-xgboost at build time (models_elsewhere_reference.py):
  // lr.json (exported by examples/sklearn/export_logreg.py), xgb.json, eval.csv, expected.json.
  const ReferenceData trained = LoadReferenceData("models-trained-elsewhere");
  ASSERT_EQ(trained.error, "") << trained.log
                               << " (scripts/deps.sh installs python3-xgboost "
                                  "and python3-sklearn)";
  ref_ = trained.dir;
  const json expected = json::parse(Slurp((ref_ / "expected.json").string()));

  // Bring your own model: both kinds.
  for (const char* kind : {"logistic_regression", "xgboost"}) {
    const std::string file = std::string(kind) == "xgboost" ? "xgb.json" : "lr.json";
    auto r = Mlfaas({"package", "create", "--kind", kind, "--model", (ref_ / file).string(),
                     "--features", "duration,src_bytes,dst_bytes", "--transform", "log0.1", "--out",
                     (dir / (std::string(kind) + ".zip")).string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ExpectClose(PredictWithPackage(dir / (std::string(kind) + ".zip")),
                expected[kind].get<std::vector<double>>(), std::string(kind) + " package");
    ASSERT_EQ(Mlfaas({"function", "create", std::string("byo-") + kind, "--package",
                      (dir / (std::string(kind) + ".zip")).string()})
                  .exit_code,
              0);
  }
  // A model that does not fit the features is refused, and no package is left behind.
  auto wrong =
      Mlfaas({"package", "create", "--kind", "xgboost", "--model", (ref_ / "xgb.json").string(),
              "--features", "duration,src_bytes", "--out", (dir / "wrong.zip").string()});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("the model has 3 features, expected 2"), std::string::npos) << wrong.err;
  EXPECT_FALSE(fs::exists(dir / "wrong.zip"));

  // Trained by mlfaas through libxgboost: quality reported, and the package's booster scored by
  // xgboost itself gives what mlfaas serves.
  auto ours = Mlfaas({"train", "--algo", "xgboost", "--param", "max_depth=4", "--param",
                      "n_estimators=8", "--param", "nthread=1", "--data", MLFAAS_DATA_FILE, "--out",
                      (dir / "trees.zip").string(), "--json"});
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  const json report = json::parse(ours.out);
  EXPECT_EQ(report["kind"], "xgboost");
  EXPECT_GT(report["metrics"]["auc"].get<double>(), 0.99) << report.dump();
  EXPECT_GT(report["metrics"]["f1"].get<double>(), 0.95) << report.dump();
  EXPECT_EQ(report["training"]["rounds"], 8);
  auto inspect = Mlfaas({"package", "inspect", "--json", (dir / "trees.zip").string()});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  std::ofstream(dir / "booster.json")
      << json::parse(inspect.out)["manifest"]["model"]["booster"].dump();
  auto lib = Python(kXgboostPredict, {(dir / "booster.json").string(), (ref_ / "eval.csv").string(),
                                      (dir / "lib.json").string()});
  ASSERT_EQ(lib.exit_code, 0) << lib.err;
  const auto lib_proba = json::parse(Slurp((dir / "lib.json").string())).get<std::vector<double>>();
  ExpectClose(PredictWithPackage(dir / "trees.zip"), lib_proba, "mlfaas-trained package");
  ASSERT_EQ(
      Mlfaas({"function", "create", "trees", "--package", (dir / "trees.zip").string()}).exit_code,
      0);

  // Served: the worker's evaluator, through the Lambda Invoke API.
  const uint16_t port = Serve();
  ASSERT_NE(port, 0);
  for (const char* kind : {"logistic_regression", "xgboost"}) {
    ExpectClose(PredictServed(port, std::string("byo-") + kind, expected["rows"]),
                expected[kind].get<std::vector<double>>(), std::string(kind) + " served");
  }
  ExpectClose(PredictServed(port, "trees", expected["rows"]), lib_proba, "mlfaas-trained served");
  EXPECT_EQ(server_->StopWith(SIGTERM, std::chrono::seconds(15)), 0) << Slurp(log_);
}

}  // namespace
}  // namespace mlfaas::testing
