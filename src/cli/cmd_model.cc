// `mlfaas train`: the model side of the command line (`predict` and `package inspect` are in
// cmd_predict.cc).
// Tables by default, one JSON object with --json. Progress goes to stderr only on a TTY.
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/model_cli.h"
#include "common/fs.h"
#include "common/sha256.h"
#include "model/csv_reader.h"
#include "model/metrics.h"
#include "model/model_kind.h"
#include "model/predictor.h"
#include "model/trainer.h"
#include "model/xgboost_kind.h"
#include "model/xgboost_trainer.h"
#include "package/package.h"

namespace mlfaas::cli {

namespace fs = std::filesystem;
using nlohmann::json;

double SecondsSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

void Progress(const std::string& line) {
  if (::isatty(STDERR_FILENO)) std::cerr << "... " << line << std::endl;
}

std::string NowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status CheckWritable(const fs::path& out) {
  fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return InvalidArgument("cannot write " + out.string() + ": directory " + dir.string() +
                           " does not exist");
  }
  return Status::Ok();
}

namespace {
std::string Fmt(double v) { return std::isfinite(v) ? fmt::format("{:.5f}", v) : "n/a"; }
}  // namespace

void PrintMetrics(const model::BinaryMetrics& m, const std::string& what) {
  const model::ConfusionMatrix& c = m.cm;
  fmt::print("\nconfusion matrix ({}, threshold {})\n", what, m.threshold);
  fmt::print("              predicted 0    predicted 1\n");
  fmt::print("  actual 0    TN {:>10}   FP {:>10}\n", c.tn, c.fp);
  fmt::print("  actual 1    FN {:>10}   TP {:>10}\n\n", c.fn, c.tp);
  fmt::print("  accuracy    {}\n  precision   {}\n  recall      {}\n  F1          {}\n",
             Fmt(m.accuracy), Fmt(m.precision), Fmt(m.recall), Fmt(m.f1));
  fmt::print("  ROC-AUC     {}\n  PR-AUC      {}\n  rows        {} ({} anomalies)\n", Fmt(m.auc),
             Fmt(m.average_precision), m.rows, m.positives);
}

namespace {

// ---- train ----

struct TrainFlags {
  std::string data, out, name = "kdd99-anomaly", label = "label";
  std::string features = "duration,src_bytes,dst_bytes", transform = "log0.1";
  std::string class_weight = "none";
  double test_size = 0.2, threshold = 0.5;
  uint64_t seed = 0;
  bool skip_invalid = false, json = false;
  std::string algo = "logistic_regression";  // model/model_kind.h: a kind that can be trained
  std::vector<std::string> params;           // --param k=v (xgboost)
  std::string dataset;                       // --dataset NAME (instead of --data)
  fs::path home;                             // the registry home (datasets)
};

}  // namespace

StatusOr<std::vector<std::string>> SplitFeatures(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    std::string f = s.substr(start, comma - start);
    if (f.empty()) return InvalidArgument("--features has an empty name: '" + s + "'");
    for (const std::string& g : out) {
      if (g == f) return InvalidArgument("--features names '" + f + "' twice");
    }
    out.push_back(f);
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

namespace {

StatusOr<model::TrainOptions> TrainOptionsFrom(const TrainFlags& f) {
  model::TrainOptions o;
  if (!model::ParseTransform(f.transform, &o.transform)) {
    return InvalidArgument("--transform must be log0.1 or none, got '" + f.transform + "'");
  }
  if (f.class_weight != "none" && f.class_weight != "balanced") {
    return InvalidArgument("--class-weight must be none or balanced, got '" + f.class_weight + "'");
  }
  if (!(f.test_size > 0 && f.test_size < 1))
    return InvalidArgument("--test-size must be in (0, 1)");
  if (!(f.threshold >= 0 && f.threshold <= 1))
    return InvalidArgument("--threshold must be in [0, 1]");
  if (f.seed > 0xffffffffULL) return InvalidArgument("--seed must be < 2^32");
  o.test_size = f.test_size;
  o.seed = f.seed;
  o.threshold = f.threshold;
  o.solver.balanced = f.class_weight == "balanced";
  o.solver.threads = 2;  // fixed (not per machine) so the summation order, hence digest, is too
  return o;
}

package::Manifest MakeManifest(const TrainFlags& f, const model::TrainResult& r,
                               const model::Dataset& ds, const std::string& data_sha) {
  package::Manifest m;
  m.name = f.name;
  m.model = r.model;
  m.metrics = model::MetricsToJson(r.test_metrics);
  m.training_data_sha256 = data_sha;
  m.rows = {{"train", r.train_rows}, {"test", r.test_rows}, {"invalid", ds.invalid_rows}};
  m.training = {{"solver", "newton"},
                {"penalty", "l2"},
                {"C", 1.0},
                {"class_weight", f.class_weight},
                {"tolerance", 1e-8},
                {"iterations", r.fit.iterations},
                {"warm_start_iterations", r.fit.warm_start_iterations},
                {"converged", r.fit.converged},
                {"loss", r.fit.loss},
                {"seed", f.seed},
                {"test_size", f.test_size},
                {"split", "stratified (scikit-learn train_test_split compatible)"},
                {"label", f.label}};
  m.created_at = NowRfc3339();
  m.producer = "mlfaas " MLFAAS_VERSION;
  return m;
}

void PrintTrainTable(const TrainFlags& f, const model::TrainResult& r, const model::Dataset& ds,
                     const std::string& digest, double load_s) {
  fmt::print("trained {} -> {}\n", f.name, f.out);
  fmt::print("  digest      {}\n", digest);
  fmt::print("  rows        train {}  test {}  invalid skipped {}\n", r.train_rows, r.test_rows,
             ds.invalid_rows);
  fmt::print("  model       {} -> standardize -> logistic regression (L2, C=1, class_weight={})\n",
             model::TransformName(r.model.transform), f.class_weight);
  fmt::print(
      "  solver      newton: {} iterations (+{} on a 1/16 sample), loss {:.6f}, {} "
      "(|grad|inf {:.2e})\n",
      r.fit.iterations, r.fit.warm_start_iterations, r.fit.loss,
      r.fit.converged ? "converged" : "NOT converged", r.fit.grad_inf);
  fmt::print("  time        load {:.3f} s, prepare {:.3f} s, fit {:.3f} s, evaluate {:.3f} s\n",
             load_s, r.prepare_seconds, r.fit_seconds, r.eval_seconds);
  PrintMetrics(r.test_metrics, "test split");
  for (const std::string& e : ds.invalid_examples) fmt::print("  skipped: {}\n", e);
}

// The training file, read once for either algorithm: its rows, how long reading took, and the
// dataset it is in the registry (name and the sha256 of its bytes: the manifest's
// training_data_sha256).
struct TrainingData {
  model::Dataset ds;
  double load_s = 0;
  std::string sha256;
  std::string dataset;  // its name in the registry
};

// The manifest's record of the data and split, which `mlfaas retrain` repeats.
void RecordData(const TrainFlags& f, const TrainingData& td, json& training) {
  training["dataset"] = {{"name", td.dataset}, {"sha256", td.sha256}};
  training["skip_invalid"] = f.skip_invalid;
}

StatusOr<TrainingData> ReadTrainingData(const TrainFlags& f, const model::TrainOptions& opts,
                                        const std::vector<std::string>& features) {
  MLFAAS_RETURN_IF_ERROR(CheckWritable(f.out));
  model::CsvOptions csv{features, f.label, false, opts.transform, f.skip_invalid};
  TrainingData td;
  fs::path file = f.data;
  if (!f.dataset.empty()) {
    MLFAAS_ASSIGN_OR_RETURN(ResolvedDataset rd, ResolveDataset(f.home, f.dataset));
    file = rd.path;
    td.dataset = rd.info.name;
    td.sha256 = rd.info.sha256;
  }
  Progress("reading " + (f.dataset.empty() ? f.data : "dataset " + f.dataset));
  auto t0 = SteadyClock::now();
  MLFAAS_ASSIGN_OR_RETURN(td.ds, model::ReadCsv(file, csv));
  td.load_s = SecondsSince(t0);
  if (f.dataset.empty()) {
    // Registered only once it reads as training data.
    MLFAAS_ASSIGN_OR_RETURN(registry::DatasetInfo info, RegisterDataFile(f.home, f.data));
    td.dataset = info.name;
    td.sha256 = info.sha256;
  }
  return td;
}

// `mlfaas train --algo xgboost`: gradient-boosted trees through libxgboost; the package holds
// the booster's JSON and serving scores it with mlfaas's own evaluator.
Status RunTrainXgboost(const TrainFlags& f, const model::TrainOptions& opts,
                       const std::vector<std::string>& features) {
  model::XgboostTrainOptions xo;
  xo.transform = opts.transform;
  xo.test_size = opts.test_size;
  xo.seed = opts.seed;
  xo.threshold = opts.threshold;
  for (const std::string& kv : f.params) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("--param expects KEY=VALUE, got '" + kv + "'");
    }
    xo.params[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  MLFAAS_ASSIGN_OR_RETURN(TrainingData td, ReadTrainingData(f, opts, features));
  const model::Dataset& ds = td.ds;
  const double load_s = td.load_s;
  Progress(
      fmt::format("training xgboost on {} rows ({} invalid skipped)", ds.rows(), ds.invalid_rows));
  MLFAAS_ASSIGN_OR_RETURN(model::XgboostTrainResult r, model::TrainXgboost(ds, xo));
  package::Manifest m;
  m.name = f.name;
  m.kind = std::string(model::kXgboost);
  m.model.features = ds.features;
  m.model.transform = opts.transform;
  m.model.threshold = opts.threshold;
  MLFAAS_ASSIGN_OR_RETURN(m.params, model::XgboostParams(r.model_json));
  m.metrics = model::MetricsToJson(r.test_metrics);
  m.training_data_sha256 = td.sha256;
  m.rows = {{"train", r.train_rows}, {"test", r.test_rows}, {"invalid", ds.invalid_rows}};
  m.training = {{"algo", "xgboost"},
                {"library", "libxgboost " + model::XgboostVersion()},
                {"rounds", r.rounds},
                {"params", r.params},
                {"seed", f.seed},
                {"test_size", f.test_size},
                {"split", "stratified (scikit-learn train_test_split compatible)"},
                {"label", f.label}};
  RecordData(f, td, m.training);
  m.created_at = NowRfc3339();
  m.producer = "mlfaas " MLFAAS_VERSION;
  Progress("writing " + f.out);
  MLFAAS_RETURN_IF_ERROR(package::WritePackage(f.out, m));
  MLFAAS_ASSIGN_OR_RETURN(package::Manifest written, package::ReadPackage(f.out));
  if (f.json) {
    json out = {
        {"package", f.out},
        {"digest", written.digest},
        {"name", f.name},
        {"kind", written.kind},
        {"metrics", written.metrics},
        {"rows", written.rows},
        {"training", written.training},
        {"seconds", {{"load", load_s}, {"fit", r.fit_seconds}, {"evaluate", r.eval_seconds}}}};
    std::cout << out.dump() << "\n";
    return Status::Ok();
  }
  fmt::print("trained {} -> {}\n", f.name, f.out);
  fmt::print("  digest      {}\n", written.digest);
  fmt::print("  rows        train {}  test {}  invalid skipped {}\n", r.train_rows, r.test_rows,
             ds.invalid_rows);
  std::string params;
  for (const auto& [k, v] : r.params) params += (params.empty() ? "" : ", ") + k + "=" + v;
  fmt::print("  model       {} -> xgboost gradient-boosted trees, {} rounds ({})\n",
             model::TransformName(opts.transform), r.rounds, params);
  fmt::print("  time        load {:.3f} s, fit {:.3f} s, evaluate {:.3f} s\n", load_s,
             r.fit_seconds, r.eval_seconds);
  PrintMetrics(r.test_metrics, "test split");
  for (const std::string& e : ds.invalid_examples) fmt::print("  skipped: {}\n", e);
  return Status::Ok();
}

Status RunTrain(const TrainFlags& f) {
  MLFAAS_ASSIGN_OR_RETURN(model::TrainOptions opts, TrainOptionsFrom(f));
  if (f.algo == model::kXgboost) {
    MLFAAS_ASSIGN_OR_RETURN(std::vector<std::string> xf, SplitFeatures(f.features));
    return RunTrainXgboost(f, opts, xf);
  }
  if (f.algo != model::kLogisticRegression) {
    return InvalidArgument("--algo must be logistic_regression or xgboost, not '" + f.algo + "'");
  }
  if (!f.params.empty()) return InvalidArgument("--param is for --algo xgboost");
  MLFAAS_ASSIGN_OR_RETURN(std::vector<std::string> features, SplitFeatures(f.features));
  MLFAAS_ASSIGN_OR_RETURN(TrainingData td, ReadTrainingData(f, opts, features));
  const model::Dataset& ds = td.ds;
  const double load_s = td.load_s;
  Progress(fmt::format("training on {} rows ({} invalid skipped)", ds.rows(), ds.invalid_rows));
  MLFAAS_ASSIGN_OR_RETURN(model::TrainResult r, model::Train(ds, opts));
  Progress("writing " + f.out);
  package::Manifest manifest = MakeManifest(f, r, ds, td.sha256);
  RecordData(f, td, manifest.training);
  MLFAAS_RETURN_IF_ERROR(package::WritePackage(f.out, manifest));
  MLFAAS_ASSIGN_OR_RETURN(package::Manifest written, package::ReadPackage(f.out));
  if (!f.json) {
    PrintTrainTable(f, r, ds, written.digest, load_s);
    return Status::Ok();
  }
  json out = {
      {"package", f.out},
      {"digest", written.digest},
      {"name", f.name},
      {"metrics", written.metrics},
      {"rows", {{"train", r.train_rows}, {"test", r.test_rows}, {"invalid", ds.invalid_rows}}},
      {"training", written.training},
      {"model",
       {{"features", r.model.features},
        {"coefficients", r.model.coef},
        {"intercept", r.model.intercept},
        {"threshold", r.model.threshold}}},
      {"seconds",
       {{"load", load_s},
        {"prepare", r.prepare_seconds},
        {"fit", r.fit_seconds},
        {"evaluate", r.eval_seconds}}},
  };
  std::cout << out.dump() << "\n";
  return Status::Ok();
}

void RegisterTrain(CLI::App& app, CliContext& ctx) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand("train",
                                     "Train the model on a CSV (plain or gzip) and "
                                     "write a package zip with a quality report");
  CLI::Option* data = cmd->add_option("--data", f->data,
                                      "CSV file with a header (plain or .gz); registered as a "
                                      "dataset in the registry home");
  cmd->add_option("--dataset", f->dataset, "A dataset in the registry (mlfaas dataset list)")
      ->excludes(data);
  cmd->add_option("--out", f->out, "Package zip to write")->required();
  cmd->add_option("--name", f->name, "Model name (default kdd99-anomaly)");
  cmd->add_option("--label", f->label, "Label column, values 0/1 (default label)");
  cmd->add_option("--features", f->features,
                  "Comma-separated feature columns (default duration,src_bytes,dst_bytes)");
  cmd->add_option("--transform", f->transform, "log0.1 (log(x+0.1)) | none (default log0.1)");
  cmd->add_option("--test-size", f->test_size, "Test share of the stratified split (0.2)");
  cmd->add_option("--seed", f->seed, "Split seed (0); splits equal scikit-learn's");
  cmd->add_option("--class-weight", f->class_weight, "none | balanced (none)");
  cmd->add_option("--threshold", f->threshold, "Decision threshold (0.5)");
  cmd->add_option("--algo", f->algo,
                  "logistic_regression | xgboost (gradient-boosted trees through libxgboost)");
  cmd->add_option("--param", f->params,
                  "xgboost parameter KEY=VALUE, repeatable (max_depth=6, eta=0.3, "
                  "n_estimators=100, ...)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("--skip-invalid", f->skip_invalid, "Drop invalid rows (and count them)");
  cmd->add_flag("--json", f->json, "Print one JSON object");
  cmd->callback([&ctx, f] {
    ctx.action = [&ctx, f] {
      if (f->data.empty() == f->dataset.empty()) {
        return InvalidArgument("train needs --data FILE or --dataset NAME");
      }
      f->home = ctx.home;
      return RunTrain(*f);
    };
  });
}

}  // namespace

void RegisterModelCommands(CLI::App& app, CliContext& ctx) {
  RegisterTrain(app, ctx);
  RegisterPredictCommands(app, ctx);
}

}  // namespace mlfaas::cli
