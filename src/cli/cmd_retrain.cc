// `mlfaas dataset add|list` and `mlfaas retrain FUNCTION` / `mlfaas retrain history FUNCTION`:
// retraining behind a quality gate (docs/retraining.md).
//
// A retrain run:
//   1. reads the manifest of the version the alias points at: its kind, features, transform,
//      options, the dataset(s) it was trained on (by digest) and the split (test share, seed);
//   2. assembles the rows: every dataset split as it was (StratifiedSplit, same share and
//      seed), plus the function's labelled feedback, split by a hash of each row's id
//      (registry/feedback.h IsHeldOut), so a held-out row is never trained on, in any run;
//   3. trains a candidate of the same kind and options on the training side, and scores both
//      the candidate and the current version on the same held-out side;
//   4. publishes the candidate as a version, and moves the alias (or gives the candidate the
//      canary weight) only when the gate passes;
//   5. records the run, whatever its outcome, in the registry (`retrain history`).
#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/audited_registry.h"
#include "auth/auth_store.h"
#include "cli/cli.h"
#include "cli/model_cli.h"
#include "cli/registry_cli.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/sha256.h"
#include "loadtest/duration.h"
#include "model/csv_reader.h"
#include "model/gate.h"
#include "model/metrics.h"
#include "model/model_kind.h"
#include "model/predictor.h"
#include "model/split.h"
#include "model/trainer.h"
#include "model/xgboost_kind.h"
#include "model/xgboost_trainer.h"
#include "package/manifest.h"
#include "package/package.h"
#include "registry/feedback.h"
#include "registry/registry.h"
#include "registry/retrain_rows.h"
#include "registry/training_store.h"

namespace mlfaas::cli {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- datasets ----

// A dataset name for a file registered by `train --data FILE`: its base name when that is a
// valid name, else "data-" and the first 12 hex digits of its digest.
std::string DatasetNameForFile(const fs::path& file, const std::string& sha256) {
  const std::string base = file.filename().string();
  if (registry::IsValidDatasetName(base)) return base;
  return "data-" + sha256.substr(0, 12);
}

StatusOr<registry::DatasetInfo> RegisterDataFile(registry::TrainingStore& store,
                                                 const fs::path& file) {
  std::string name = file.filename().string();
  if (!registry::IsValidDatasetName(name)) {  // only then is the digest needed for the name
    auto sha = Sha256File(file);
    if (!sha.ok()) return InvalidArgument(sha.status().message());
    name = DatasetNameForFile(file, *sha);
  }
  return store.AddDataset(name, file);
}

StatusOr<registry::DatasetInfo> RegisterDataFile(const fs::path& home, const fs::path& file) {
  SystemClock clock;
  MLFAAS_ASSIGN_OR_RETURN(auto store, registry::TrainingStore::Open(home, clock));
  return RegisterDataFile(*store, file);
}

StatusOr<ResolvedDataset> ResolveDataset(const fs::path& home, const std::string& name) {
  SystemClock clock;
  MLFAAS_ASSIGN_OR_RETURN(auto store, registry::TrainingStore::Open(home, clock));
  MLFAAS_ASSIGN_OR_RETURN(registry::DatasetInfo info, store->GetDataset(name));
  MLFAAS_ASSIGN_OR_RETURN(fs::path path, store->DatasetPath(info.sha256));
  return ResolvedDataset{info, path};
}

// ---- canary steps that decide ----

void AddCanaryFlags(CLI::App* cmd, CanaryFlags& f) {
  f.bake_opt = cmd->add_option(
      "--bake", f.bake,
      "Let the canary decide: promote it after this long healthy (e.g. 10m), roll it back as "
      "soon as it does worse");
  f.linear_opt =
      cmd->add_option("--linear", f.linear,
                      "Linear steps, e.g. 10%/1m: +10% after each healthy minute, then promote");
  f.error_opt = cmd->add_option("--max-error-rate-increase", f.max_error_rate_increase,
                                "Roll back when the canary's error rate exceeds the primary's by "
                                "more than this (0.01)");
  f.p99_opt = cmd->add_option("--max-p99-ratio", f.max_p99_ratio,
                              "Roll back when the canary's p99 exceeds the primary's times this "
                              "(1.5)");
}

namespace {
StatusOr<int64_t> DurationMs(const std::string& flag, const std::string& text) {
  auto d = loadtest::ParseDuration(text);
  if (!d.ok()) return InvalidArgument(flag + ": " + d.status().message());
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
  if (ms < 1000 || ms > int64_t{7} * 24 * 3600 * 1000) {
    return InvalidArgument(flag + " must be between 1s and 7 days");
  }
  return ms;
}
}  // namespace

StatusOr<registry::CanaryDeployment> CanaryFrom(const CanaryFlags& f, const std::string& function,
                                                const std::string& alias,
                                                const std::string& canary_version, double weight) {
  registry::CanaryDeployment d;
  if (!f.Given()) {
    if (f.error_opt->count() + f.p99_opt->count() > 0) {
      return InvalidArgument(
          "--max-error-rate-increase and --max-p99-ratio need --bake or --linear");
    }
    return d;
  }
  d.function = function;
  d.alias = alias;
  d.canary_version = canary_version;
  if (!(f.max_error_rate_increase >= 0 && f.max_error_rate_increase <= 1)) {
    return InvalidArgument("--max-error-rate-increase must be in [0, 1]");
  }
  if (!(f.max_p99_ratio >= 1 && f.max_p99_ratio <= 1000)) {
    return InvalidArgument("--max-p99-ratio must be in [1, 1000]");
  }
  d.max_error_rate_increase = f.max_error_rate_increase;
  d.max_p99_ratio = f.max_p99_ratio;
  if (f.bake_opt->count() > 0 && f.linear_opt->count() > 0) {
    return InvalidArgument("give --bake or --linear PCT/INTERVAL (whose interval is the bake)");
  }
  if (f.linear_opt->count() > 0) {
    const size_t slash = f.linear.find('/');
    std::string pct = f.linear.substr(0, slash);
    if (slash == std::string::npos || pct.empty()) {
      return InvalidArgument("--linear must look like 10%/1m, got '" + f.linear + "'");
    }
    if (pct.back() == '%') pct.pop_back();
    char* end = nullptr;
    const double p = std::strtod(pct.c_str(), &end);
    if (end != pct.c_str() + pct.size() || !(p > 0 && p < 100)) {
      return InvalidArgument("--linear: the step must be a percentage in (0, 100), got '" +
                             f.linear.substr(0, slash) + "'");
    }
    d.step = p / 100;
    MLFAAS_ASSIGN_OR_RETURN(d.bake_ms, DurationMs("--linear", f.linear.substr(slash + 1)));
  } else {
    MLFAAS_ASSIGN_OR_RETURN(d.bake_ms, DurationMs("--bake", f.bake));
  }
  d.weight = weight > 0 ? weight : d.step;
  if (!(d.weight > 0 && d.weight < 1)) {
    return InvalidArgument("a canary that decides needs a weight in (0, 1) (--canary-weight)");
  }
  return d;
}

Status StartCanary(const fs::path& home, const registry::CanaryDeployment& d) {
  SystemClock clock;
  MLFAAS_ASSIGN_OR_RETURN(auto store, registry::TrainingStore::Open(home, clock));
  return store->PutCanary(d);
}

namespace retrain {
namespace {

json DatasetJson(const registry::DatasetInfo& d) {
  return {{"name", d.name}, {"sha256", d.sha256}, {"bytes", d.bytes}, {"added_at", d.added_at}};
}

void RegisterDatasetCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* ds = app.add_subcommand("dataset", "Training datasets kept in the registry");
  ds->require_subcommand(1);
  struct AddFlags {
    std::string name, file;
    bool json = false;
  };
  auto af = std::make_shared<AddFlags>();
  CLI::App* add = ds->add_subcommand("add", "Store a CSV (plain or .gz) as a named dataset");
  add->add_option("name", af->name, "Dataset name ([A-Za-z0-9_.-], 1-64)")->required();
  add->add_option("file", af->file, "CSV file with a header (plain or .gz)")->required();
  add->add_flag("--json", af->json, "Print one JSON object");
  add->callback([&ctx, af] {
    ctx.action = [&ctx, af]() -> Status {
      SystemClock clock;
      MLFAAS_ASSIGN_OR_RETURN(auto store, registry::TrainingStore::Open(ctx.home, clock));
      MLFAAS_ASSIGN_OR_RETURN(registry::DatasetInfo d, store->AddDataset(af->name, af->file));
      if (af->json) {
        std::cout << DatasetJson(d).dump() << "\n";
      } else {
        fmt::print("dataset {} -> {} ({} bytes)\n", d.name, d.sha256, d.bytes);
      }
      return Status::Ok();
    };
  });
  auto list_json = std::make_shared<bool>(false);
  CLI::App* list = ds->add_subcommand("list", "List the datasets");
  list->add_flag("--json", *list_json, "Print a JSON array");
  list->callback([&ctx, list_json] {
    ctx.action = [&ctx, list_json]() -> Status {
      SystemClock clock;
      MLFAAS_ASSIGN_OR_RETURN(auto store, registry::TrainingStore::Open(ctx.home, clock));
      MLFAAS_ASSIGN_OR_RETURN(auto all, store->ListDatasets());
      if (*list_json) {
        json out = json::array();
        for (const auto& d : all) out.push_back(DatasetJson(d));
        std::cout << out.dump(2) << "\n";
        return Status::Ok();
      }
      fmt::print("{:<32} {:<14} {:>12}  {}\n", "NAME", "SHA256", "BYTES", "ADDED");
      for (const auto& d : all) {
        fmt::print("{:<32} {:<14} {:>12}  {}\n", d.name, d.sha256.substr(0, 12), d.bytes,
                   d.added_at);
      }
      return Status::Ok();
    };
  });
}

// ---- feedback ----

// The model features of a function's $LATEST (empty when its code has no manifest).
StatusOr<std::vector<std::string>> LatestFeatures(registry::Registry& reg,
                                                  const std::string& function) {
  MLFAAS_ASSIGN_OR_RETURN(registry::FunctionInfo fn, reg.GetFunction(function));
  if (fn.latest.model_digest.empty()) return std::vector<std::string>{};
  MLFAAS_ASSIGN_OR_RETURN(std::string pkg, reg.PackagePath(fn.latest.code_digest));
  MLFAAS_ASSIGN_OR_RETURN(package::Manifest m, package::ReadPackage(pkg));
  return m.model.features;
}

void RegisterFeedbackCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* fb = app.add_subcommand(
      "feedback", "Labelled rows for retraining (as POST /v1/functions/{name}/feedback)");
  fb->require_subcommand(1);
  struct Flags {
    std::string function, file;
    bool json = false;
  };
  auto af = std::make_shared<Flags>();
  CLI::App* add = fb->add_subcommand(
      "add", "Store labelled rows: FILE holds {\"rows\": [{\"id\", \"label\", \"features\"}]}");
  add->add_option("function", af->function, "Function")->required();
  add->add_option("file", af->file, "JSON file (- for standard input)")->required();
  add->add_flag("--json", af->json, "Print one JSON object");
  add->callback([&ctx, af] {
    ctx.action = [&ctx, af]() -> Status {
      std::string body;
      if (af->file == "-") {
        body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      } else {
        MLFAAS_ASSIGN_OR_RETURN(body, ReadFile(af->file));
      }
      MLFAAS_ASSIGN_OR_RETURN(std::unique_ptr<registry::Registry> reg,
                              registry::OpenRegistry(ctx.home, ctx.registry));
      MLFAAS_ASSIGN_OR_RETURN(std::vector<std::string> features,
                              LatestFeatures(*reg, af->function));
      MLFAAS_ASSIGN_OR_RETURN(auto rows, registry::ParseFeedback(body, features));
      SystemClock clock;
      MLFAAS_ASSIGN_OR_RETURN(auto store, registry::TrainingStore::Open(ctx.home, clock));
      MLFAAS_ASSIGN_OR_RETURN(registry::FeedbackCounts c, store->AddFeedback(af->function, rows));
      if (af->json) {
        std::cout << json{{"function", af->function},
                          {"added", c.added},
                          {"replaced", c.replaced},
                          {"total", c.total}}
                         .dump()
                  << "\n";
      } else {
        fmt::print("feedback {}: {} added, {} replaced, {} in all\n", af->function, c.added,
                   c.replaced, c.total);
      }
      return Status::Ok();
    };
  });
  auto cf = std::make_shared<std::string>();
  CLI::App* count = fb->add_subcommand("count", "How many labelled rows a function has");
  count->add_option("function", *cf, "Function")->required();
  count->callback([&ctx, cf] {
    ctx.action = [&ctx, cf]() -> Status {
      SystemClock clock;
      MLFAAS_ASSIGN_OR_RETURN(auto store, registry::TrainingStore::Open(ctx.home, clock));
      MLFAAS_ASSIGN_OR_RETURN(int64_t n, store->FeedbackCount(*cf));
      fmt::print("{}\n", n);
      return Status::Ok();
    };
  });
}

// ---- retrain ----

struct RetrainFlags {
  std::string function, alias = "live", data, gate = model::kDefaultGate, trigger = "manual";
  double canary_weight = 0;
  bool json = false;
  CanaryFlags canary;  // --bake / --linear: the canary then decides by itself
};

// What the current version was trained with, from its manifest.
struct Recipe {
  package::Manifest manifest;
  std::vector<std::string> datasets;  // digests: the base dataset, then data added by retrains
  double test_size = 0.2;
  uint64_t seed = 0;
  std::string label = "label";
  bool skip_invalid = false;
};

StatusOr<Recipe> RecipeOf(const package::Manifest& m) {
  Recipe r;
  r.manifest = m;
  if (m.kind != model::kLogisticRegression && m.kind != model::kXgboost) {
    return FailedPrecondition("retrain handles logistic_regression and xgboost, not '" + m.kind +
                              "'");
  }
  const json& t = m.training;
  std::string base = m.training_data_sha256;
  if (const json* d = JsonField(t, "dataset")) base = JsonString(*d, "sha256", base);
  if (base.size() != 64) {
    return FailedPrecondition("the current version's manifest does not name its training data");
  }
  r.datasets.push_back(base);
  if (const json* extra = JsonField(t, "extra_datasets"); extra && extra->is_array()) {
    for (const json& e : *extra) {
      if (e.is_string() && e.get_ref<const std::string&>().size() == 64) {
        r.datasets.push_back(e.get<std::string>());
      }
    }
  }
  r.test_size = JsonNumber(t, "test_size").value_or(0.2);
  const double seed = JsonNumber(t, "seed").value_or(0);
  if (!(r.test_size > 0 && r.test_size < 1) || !(seed >= 0 && seed < 4294967296.0)) {
    return FailedPrecondition("the current version's manifest has a bad test_size or seed");
  }
  r.seed = static_cast<uint64_t>(seed);
  r.label = JsonString(t, "label", "label");
  r.skip_invalid = JsonBool(t, "skip_invalid").value_or(false);
  return r;
}

using Assembled = registry::RetrainRows;

// A file read as the recipe's training data (its features, label, transform).
StatusOr<model::Dataset> ReadRecipeCsv(const Recipe& r, const fs::path& file) {
  model::CsvOptions csv{r.manifest.model.features, r.label, false, r.manifest.model.transform,
                        r.skip_invalid};
  return model::ReadCsv(file, csv);
}

// The current version's metrics on the held-out rows, scored as serving scores them.
StatusOr<model::BinaryMetrics> ScoreCurrent(const package::Manifest& m, const Assembled& a) {
  MLFAAS_ASSIGN_OR_RETURN(auto predictor, model::BuildPredictor(m.kind, m.model, m.params));
  const size_t d = m.model.features.size();
  std::vector<double> x(a.split.test.size() * d), proba(a.split.test.size());
  std::vector<uint8_t> y(a.split.test.size());
  for (size_t k = 0; k < a.split.test.size(); ++k) {
    const double* row = a.data.row(a.split.test[k]);
    std::copy(row, row + d, x.begin() + static_cast<ptrdiff_t>(k * d));
    y[k] = a.data.y[a.split.test[k]];
  }
  predictor->PredictProbaParallel(x, proba, 2);
  return model::ComputeMetrics(proba, y, m.model.threshold);
}

struct Candidate {
  package::Manifest manifest;
  model::BinaryMetrics metrics;
};

// What both trainers' options share: the recipe's transform, threshold and split, and the run's
// own rows instead of a split of their own.
template <typename Options>
Options RecipeOptions(const Recipe& r, const Assembled& a) {
  Options o;
  o.transform = r.manifest.model.transform;
  o.threshold = r.manifest.model.threshold;
  o.test_size = r.test_size;
  o.seed = r.seed;
  o.split = &a.split;
  return o;
}

StatusOr<Candidate> TrainCandidate(const Recipe& r, const Assembled& a) {
  Candidate c;
  package::Manifest& m = c.manifest;
  m = r.manifest;
  json training = r.manifest.training;
  if (r.manifest.kind == model::kXgboost) {
    auto o = RecipeOptions<model::XgboostTrainOptions>(r, a);
    if (const json* p = JsonField(training, "params"); p && p->is_object()) {
      for (const auto& [k, v] : p->items()) {
        if (v.is_string()) o.params[k] = v.get<std::string>();
      }
    }
    if (auto rounds = JsonInt(training, "rounds"); rounds && *rounds > 0) {
      o.rounds = static_cast<int>(*rounds);
    }
    MLFAAS_ASSIGN_OR_RETURN(model::XgboostTrainResult t, model::TrainXgboost(a.data, o));
    MLFAAS_ASSIGN_OR_RETURN(m.params, model::XgboostParams(t.model_json));
    c.metrics = t.test_metrics;
    training["rounds"] = t.rounds;
    training["params"] = t.params;
  } else {
    auto o = RecipeOptions<model::TrainOptions>(r, a);
    o.solver.balanced = JsonString(training, "class_weight", "none") == "balanced";
    o.solver.threads = 2;  // as `mlfaas train`: the summation order, hence the digest, is fixed
    MLFAAS_ASSIGN_OR_RETURN(model::TrainResult t, model::Train(a.data, o));
    m.model = t.model;
    c.metrics = t.test_metrics;
    training["iterations"] = t.fit.iterations;
    training["warm_start_iterations"] = t.fit.warm_start_iterations;
    training["converged"] = t.fit.converged;
    training["loss"] = t.fit.loss;
  }
  training["dataset"] = {{"sha256", r.datasets[0]}};
  if (const json* d = JsonField(r.manifest.training, "dataset"); d && d->is_object()) {
    training["dataset"] = *d;
  }
  training["extra_datasets"] = std::vector<std::string>(r.datasets.begin() + 1, r.datasets.end());
  training["feedback"] = {{"train", a.feedback_train},
                          {"held_out", a.feedback_held_out},
                          {"skipped", a.feedback_skipped},
                          {"held_out_share", r.test_size},
                          {"held_out_rule", "sha256(id) < share"}};
  m.training = training;
  m.metrics = model::MetricsToJson(c.metrics);
  m.rows = {{"train", a.split.train.size()},
            {"test", a.split.test.size()},
            {"invalid", a.data.invalid_rows}};
  m.created_at = NowRfc3339();
  m.producer = "mlfaas " MLFAAS_VERSION;
  return c;
}

std::string Num(double v) { return std::isfinite(v) ? fmt::format("{:.5f}", v) : "n/a"; }

void PrintReport(const registry::RetrainRun& run, const model::BinaryMetrics& cur,
                 const model::BinaryMetrics& cand, const Assembled& a) {
  fmt::print("retrain {} (alias {}): current version {}, candidate version {}\n", run.function,
             run.alias, run.current_version,
             run.candidate_version.empty() ? "-" : run.candidate_version);
  fmt::print("  rows        train {} ({} feedback)  held out {} ({} feedback)", run.train_rows,
             a.feedback_train, run.test_rows, a.feedback_held_out);
  if (a.feedback_skipped > 0) fmt::print("  feedback skipped {}", a.feedback_skipped);
  fmt::print("\n\n  {:<12} {:>14} {:>14}\n", "", "current v" + run.current_version,
             "candidate v" + run.candidate_version);
  const std::pair<const char*, const char*> rows[] = {
      {"ROC-AUC", "auc"},         {"PR-AUC", "pr_auc"}, {"F1", "f1"},
      {"precision", "precision"}, {"recall", "recall"}, {"accuracy", "accuracy"}};
  for (const auto& [label, key] : rows) {
    fmt::print("  {:<12} {:>14} {:>14}\n", label, Num(model::MetricValue(cur, key)),
               Num(model::MetricValue(cand, key)));
  }
  fmt::print("  {:<12} {:>14} {:>14}\n", "TP/FP", fmt::format("{}/{}", cur.cm.tp, cur.cm.fp),
             fmt::format("{}/{}", cand.cm.tp, cand.cm.fp));
  fmt::print("  {:<12} {:>14} {:>14}\n", "FN/TN", fmt::format("{}/{}", cur.cm.fn, cur.cm.tn),
             fmt::format("{}/{}", cand.cm.fn, cand.cm.tn));
  fmt::print("\n  gate        {}\n              {}\n", run.gate, run.reason);
  fmt::print("  decision    {}\n", run.decision);
}

// What the flags ask for, checked before anything is read or trained: the gate's terms, and the
// canary deployment when --bake or --linear is given (its version filled in once published).
struct RetrainPlan {
  std::vector<model::GateTerm> gate;
  registry::CanaryDeployment canary;
};

// Steps 1-4 of a run (the header comment); fills `run` as it goes. `cur`/`cand` get the
// metrics for the report.
Status Retrain(const RetrainFlags& f, const RetrainPlan& plan, registry::Registry& reg,
               registry::TrainingStore& store, registry::RetrainRun& run, model::BinaryMetrics& cur,
               model::BinaryMetrics& cand, Assembled& a) {
  MLFAAS_ASSIGN_OR_RETURN(registry::AliasInfo alias, reg.GetAlias(f.function, f.alias));
  run.current_version = alias.version;
  MLFAAS_ASSIGN_OR_RETURN(registry::VersionInfo current, reg.GetVersion(f.function, alias.version));
  MLFAAS_ASSIGN_OR_RETURN(std::string pkg, reg.PackagePath(current.code_digest));
  auto manifest = package::ReadPackage(pkg);
  if (!manifest.ok()) {
    return FailedPrecondition(
        "version " + alias.version + " of " + f.function +
        " is not a model package mlfaas trained: " + manifest.status().message());
  }
  MLFAAS_ASSIGN_OR_RETURN(Recipe recipe, RecipeOf(*manifest));
  // --data is read as this model's training data before it is registered (a file that is not
  // one never becomes a dataset), and those rows are used as read.
  model::Dataset added_rows;
  std::string added_digest;
  if (!f.data.empty()) {
    MLFAAS_ASSIGN_OR_RETURN(added_rows, ReadRecipeCsv(recipe, f.data));
    MLFAAS_ASSIGN_OR_RETURN(registry::DatasetInfo added, RegisterDataFile(store, f.data));
    added_digest = added.sha256;
    bool known = false;
    for (const std::string& d : recipe.datasets) known = known || d == added.sha256;
    if (!known) recipe.datasets.push_back(added.sha256);
  }
  for (const std::string& digest : recipe.datasets) {
    auto path = store.DatasetPath(digest);
    if (!path.ok()) {
      return FailedPrecondition("dataset " + digest.substr(0, 12) + ", which version " +
                                alias.version +
                                " was trained on, is not in the registry; add "
                                "the same file with `mlfaas dataset add NAME FILE`");
    }
    if (digest == added_digest) {
      MLFAAS_RETURN_IF_ERROR(
          registry::AddDatasetRows(added_rows, recipe.test_size, recipe.seed, &a));
      continue;
    }
    Progress("reading dataset " + digest.substr(0, 12));
    MLFAAS_ASSIGN_OR_RETURN(model::Dataset ds, ReadRecipeCsv(recipe, *path));
    MLFAAS_RETURN_IF_ERROR(registry::AddDatasetRows(ds, recipe.test_size, recipe.seed, &a));
  }
  MLFAAS_ASSIGN_OR_RETURN(auto feedback, store.Feedback(f.function));
  registry::AddFeedbackRows(feedback, recipe.manifest.model.features,
                            recipe.manifest.model.transform, recipe.test_size, &a);
  run.train_rows = static_cast<int64_t>(a.split.train.size());
  run.test_rows = static_cast<int64_t>(a.split.test.size());
  run.feedback_rows = a.feedback_train + a.feedback_held_out;

  Progress(fmt::format("training a {} candidate on {} rows", recipe.manifest.kind,
                       a.split.train.size()));
  MLFAAS_ASSIGN_OR_RETURN(Candidate candidate, TrainCandidate(recipe, a));
  cand = candidate.metrics;
  MLFAAS_ASSIGN_OR_RETURN(cur, ScoreCurrent(recipe.manifest, a));
  run.current_metrics = model::MetricsToJson(cur).dump();
  run.candidate_metrics = model::MetricsToJson(cand).dump();

  // Publish the candidate: it becomes $LATEST's code, then a version; unless a published version
  // already holds the same model (same manifest digest: the same rows trained it), which is
  // then the candidate, so that retraining on unchanged data publishes nothing new.
  const std::string digest = package::ComputeDigest(package::ToJson(candidate.manifest));
  std::optional<registry::VersionInfo> same;
  MLFAAS_ASSIGN_OR_RETURN(auto versions, reg.ListVersions(f.function));
  for (const registry::VersionInfo& v : versions) {
    if (v.version != registry::kLatest && v.model_digest == digest) same = v;
  }
  registry::VersionInfo published;
  if (same) {
    published = *same;
  } else {
    TempDir tmp("mlfaas-retrain");
    const fs::path zip = tmp.path() / "candidate.zip";
    MLFAAS_RETURN_IF_ERROR(package::WritePackage(zip, candidate.manifest));
    MLFAAS_RETURN_IF_ERROR(reg.UpdateCode(f.function, zip.string()).status());
    MLFAAS_ASSIGN_OR_RETURN(
        published, reg.PublishVersion(f.function, "retrained from version " + alias.version));
  }
  run.candidate_version = published.version;

  const model::GateVerdict verdict = model::EvaluateGate(plan.gate, cur, cand);
  run.reason = verdict.reason;
  if (!verdict.pass) {
    run.decision = "rejected";
    return Status::Ok();
  }
  if (published.version == alias.version) {
    run.decision = "promoted";
    run.reason += "; the candidate is the current version (nothing changed)";
    return Status::Ok();
  }
  registry::AliasInfo moved = alias;
  if (f.canary_weight > 0 || f.canary.Given()) {
    moved.canary_version = published.version;
    moved.canary_weight = f.canary.Given() ? plan.canary.weight : f.canary_weight;
    run.decision = "canary";
  } else {
    moved.version = published.version;
    moved.canary_version.reset();
    moved.canary_weight = 0;
    run.decision = "promoted";
  }
  MLFAAS_RETURN_IF_ERROR(reg.UpdateAlias(moved).status());
  return Status::Ok();
}

Status RunRetrain(const RetrainFlags& f, const fs::path& home,
                  const registry::RegistryLocation& where) {
  if (f.function.empty()) return InvalidArgument("retrain needs a FUNCTION");
  if (!(f.canary_weight >= 0 && f.canary_weight < 1)) {
    return InvalidArgument("--canary-weight must be in [0, 1)");
  }
  if (f.trigger != "manual" && f.trigger != "schedule" && f.trigger != "labels") {
    return InvalidArgument("--trigger must be manual, schedule or labels");
  }
  // The gate and the canary settings are checked before anything is read or trained: a typo
  // never costs a training run.
  RetrainPlan plan;
  MLFAAS_ASSIGN_OR_RETURN(plan.gate, model::ParseGate(f.gate));
  MLFAAS_ASSIGN_OR_RETURN(plan.canary,
                          CanaryFrom(f.canary, f.function, f.alias, "", f.canary_weight));
  SystemClock clock;
  MLFAAS_ASSIGN_OR_RETURN(std::unique_ptr<registry::Registry> base,
                          registry::OpenRegistry(home, where));
  MLFAAS_ASSIGN_OR_RETURN(auto audit, auth::AuthStore::Open(home));
  auth::AuditedRegistry reg(*base, *audit, auth::LocalPrincipal(), "cli");
  MLFAAS_RETURN_IF_ERROR(reg.GetFunction(f.function).status());
  MLFAAS_ASSIGN_OR_RETURN(auto store, registry::TrainingStore::Open(home, clock));

  registry::RetrainRun run;
  run.function = f.function;
  run.alias = f.alias;
  run.trigger = f.trigger;
  run.gate = f.gate;
  run.started_at = Rfc3339Millis(clock.EpochMillis());
  model::BinaryMetrics cur, cand;
  Assembled a;
  Status st = Retrain(f, plan, reg, *store, run, cur, cand, a);
  if (!st.ok()) {
    run.decision = "failed";
    run.reason = st.message();
  }
  run.finished_at = Rfc3339Millis(clock.EpochMillis());
  auto id = store->AddRetrainRun(run);
  if (!id.ok()) {
    return st.ok() ? id.status().WithPrefix("the run's record was not stored") : st;
  }
  run.id = *id;
  if (!st.ok()) return st;
  if (run.decision == "canary" && f.canary.Given()) {
    // The canary decides by itself from here (the gateway's canary controller), and writes its
    // outcome into this run.
    registry::CanaryDeployment d = plan.canary;
    d.canary_version = run.candidate_version;
    d.retrain_run = run.id;
    MLFAAS_RETURN_IF_ERROR(store->PutCanary(d));
    run.reason += fmt::format("; baking {} s at {:.0f}%", d.bake_ms / 1000, d.weight * 100);
  }
  if (f.json) {
    std::cout << registry::RetrainRunJson(run).dump() << "\n";
  } else {
    PrintReport(run, cur, cand, a);
  }
  return Status::Ok();
}

Status RunHistory(const std::string& function, bool as_json, const fs::path& home) {
  SystemClock clock;
  MLFAAS_ASSIGN_OR_RETURN(auto store, registry::TrainingStore::Open(home, clock));
  MLFAAS_ASSIGN_OR_RETURN(auto runs, store->RetrainRuns(function));
  if (as_json) {
    json out = json::array();
    for (const auto& r : runs) out.push_back(registry::RetrainRunJson(r));
    std::cout << out.dump(2) << "\n";
    return Status::Ok();
  }
  fmt::print("{:>4}  {:<24}  {:<8}  {:<6}  {:>7}  {:>9}  {:<9}  {}\n", "RUN", "STARTED", "TRIGGER",
             "ALIAS", "CURRENT", "CANDIDATE", "DECISION", "REASON");
  for (const auto& r : runs) {
    fmt::print("{:>4}  {:<24}  {:<8}  {:<6}  {:>7}  {:>9}  {:<9}  {}\n", r.id, r.started_at,
               r.trigger, r.alias, r.current_version,
               r.candidate_version.empty() ? "-" : r.candidate_version, r.decision, r.reason);
  }
  return Status::Ok();
}

}  // namespace
}  // namespace retrain

void RegisterRetrainCommands(CLI::App& app, CliContext& ctx) {
  retrain::RegisterDatasetCommands(app, ctx);
  retrain::RegisterFeedbackCommands(app, ctx);
  auto f = std::make_shared<retrain::RetrainFlags>();
  CLI::App* cmd = app.add_subcommand(
      "retrain",
      "Train a candidate on the function's data and feedback; move the alias if it passes the "
      "gate");
  cmd->add_option("function", f->function, "Function to retrain");
  cmd->add_option("--alias", f->alias, "Alias whose version is the baseline and moves (live)");
  cmd->add_option("--data", f->data, "Additional labelled CSV (registered as a dataset)");
  cmd->add_option("--gate", f->gate,
                  std::string("Quality gate, e.g. \"auc>=current-0.001,f1>=0.99\" (") +
                      model::kDefaultGate + ")");
  cmd->add_option("--canary-weight", f->canary_weight,
                  "On a pass, route this share (0-1) to the candidate instead of moving the alias");
  cmd->add_option("--trigger", f->trigger, "What started the run: manual | schedule | labels");
  AddCanaryFlags(cmd, f->canary);
  cmd->add_flag("--json", f->json, "Print one JSON object");
  auto hist_function = std::make_shared<std::string>();
  auto hist_json = std::make_shared<bool>(false);
  CLI::App* history = cmd->add_subcommand("history", "Every retrain run of a function");
  history->add_option("function", *hist_function, "Function")->required();
  history->add_flag("--json", *hist_json, "Print a JSON array");
  history->callback([&ctx, hist_function, hist_json] {
    ctx.action = [&ctx, hist_function, hist_json] {
      return retrain::RunHistory(*hist_function, *hist_json, ctx.home);
    };
  });
  cmd->callback([&ctx, f, history] {
    if (history->parsed()) return;
    ctx.action = [&ctx, f] { return retrain::RunRetrain(*f, ctx.home, ctx.registry); };
  });
}

}  // namespace mlfaas::cli
