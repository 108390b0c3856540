// `mlfaas predict | package inspect | package create`: scoring with a package, reading its
// manifest, and packaging a model trained elsewhere.
// Tables by default, one JSON object with --json.
#include <fmt/core.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/model_cli.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/sha256.h"
#include "model/csv_reader.h"
#include "model/model_kind.h"
#include "model/predictor.h"
#include "model/xgboost_kind.h"
#include "package/package.h"

namespace mlfaas::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- predict ----

struct PredictFlags {
  std::string package, data, out, input;
  bool skip_invalid = false, json = false;
};

Status PredictInput(const model::Predictor& p, const std::string& input) {
  json row;
  try {
    row = json::parse(input);
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("--input is not valid JSON: ") + e.what());
  }
  std::vector<double> values;
  MLFAAS_RETURN_IF_ERROR(p.ParseRow(row, &values).WithPrefix("--input"));
  model::Prediction pred = p.PredictOne(values);
  std::cout << json{{"anomaly", pred.anomaly}, {"probability", pred.probability}}.dump() << "\n";
  return Status::Ok();
}

Status WritePredictions(const fs::path& out, const std::vector<double>& proba, double threshold) {
  std::string text = "probability,anomaly\n";
  text.reserve(proba.size() * 26);
  for (double v : proba)
    fmt::format_to(std::back_inserter(text), "{},{}\n", v, v >= threshold ? 1 : 0);
  return WriteFileAtomic(out, text);
}

Status PredictData(const package::Manifest& m, const model::Predictor& p, const PredictFlags& f) {
  if (!f.out.empty()) MLFAAS_RETURN_IF_ERROR(CheckWritable(f.out));
  std::string label = m.training.value("label", std::string("label"));
  model::CsvOptions csv{m.model.features, label, true, m.model.transform, f.skip_invalid};
  MLFAAS_ASSIGN_OR_RETURN(model::Dataset ds, model::ReadCsv(f.data, csv));
  std::vector<double> proba(ds.rows());
  auto t0 = SteadyClock::now();
  p.PredictProbaParallel(ds.x, proba, 2);
  const double secs = SecondsSince(t0);
  int64_t anomalies = 0;
  for (double v : proba) anomalies += v >= m.model.threshold ? 1 : 0;
  if (!f.out.empty()) MLFAAS_RETURN_IF_ERROR(WritePredictions(f.out, proba, m.model.threshold));
  const double rate = secs > 0 ? static_cast<double>(ds.rows()) / secs : 0.0;
  std::optional<model::BinaryMetrics> metrics;
  if (ds.has_label) metrics = model::ComputeMetrics(proba, ds.y, m.model.threshold);
  if (f.json) {
    json out = {{"rows", ds.rows()},       {"invalid", ds.invalid_rows},
                {"anomalies", anomalies},  {"seconds", secs},
                {"rows_per_s", rate},      {"threshold", m.model.threshold},
                {"model_digest", m.digest}};
    if (metrics) out["metrics"] = model::MetricsToJson(*metrics);
    if (!f.out.empty()) out["out"] = f.out;
    std::cout << out.dump() << "\n";
    return Status::Ok();
  }
  fmt::print("scored {} rows of {} with {} in {:.2f} ms ({:.3g} rows/s, preprocessing included)\n",
             ds.rows(), f.data, m.name, secs * 1e3, rate);
  fmt::print("  anomalies   {} (threshold {})\n", anomalies, m.model.threshold);
  if (ds.invalid_rows > 0) fmt::print("  skipped     {} invalid rows\n", ds.invalid_rows);
  if (!f.out.empty()) fmt::print("  wrote       {} (probability,anomaly per row)\n", f.out);
  if (metrics) PrintMetrics(*metrics, "label column '" + label + "'");
  return Status::Ok();
}

Status RunPredict(const PredictFlags& f) {
  if (f.data.empty() == f.input.empty()) {
    return InvalidArgument("predict needs exactly one of --data FILE.csv or --input JSON");
  }
  if (!f.out.empty() && f.data.empty()) return InvalidArgument("--out needs --data");
  MLFAAS_ASSIGN_OR_RETURN(package::Manifest m, package::ReadPackage(f.package));
  MLFAAS_ASSIGN_OR_RETURN(std::shared_ptr<const model::Predictor> p,
                          model::BuildPredictor(m.kind, m.model, m.params));
  return f.input.empty() ? PredictData(m, *p, f) : PredictInput(*p, f.input);
}

void RegisterPredict(CLI::App& app, CliContext& ctx) {
  auto f = std::make_shared<PredictFlags>();
  CLI::App* cmd = app.add_subcommand("predict", "Score rows in-process with a model package");
  cmd->add_option("--package", f->package, "Model package zip")->required();
  cmd->add_option("--data", f->data, "CSV to score (feature columns by name; label optional)");
  cmd->add_option("--out", f->out, "With --data: write probability,anomaly per row");
  cmd->add_option("--input", f->input, R"(One JSON row, e.g. '{"duration":0,...}')");
  cmd->add_flag("--skip-invalid", f->skip_invalid, "With --data: drop invalid rows");
  cmd->add_flag("--json", f->json, "With --data: print one JSON object");
  cmd->callback([&ctx, f] { ctx.action = [f] { return RunPredict(*f); }; });
}

// ---- package inspect ----

void PrintManifest(const package::Manifest& m) {
  const model::LinearModel& lm = m.model;
  fmt::print("  name        {}\n  kind        {} (format {})\n  digest      {}\n", m.name, m.kind,
             m.format_version, m.digest);
  fmt::print("  producer    {}, created {}\n  data        sha256 {}\n", m.producer, m.created_at,
             m.training_data_sha256);
  fmt::print("  rows        {}\n  training    {}\n", m.rows.dump(), m.training.dump());
  fmt::print(
      "  transform   {}, then standardize; p = sigmoid(coef . z + {:.6g}); anomaly iff p "
      ">= {}\n\n",
      model::TransformName(lm.transform), lm.intercept, lm.threshold);
  fmt::print("  {:<16} {:>8} {:>14} {:>14} {:>14}\n", "feature", "type", "mean", "scale", "coef");
  for (size_t j = 0; j < lm.features.size(); ++j) {
    fmt::print("  {:<16} {:>8} {:>14.6g} {:>14.6g} {:>14.6g}\n", lm.features[j], "float64",
               lm.mean[j], lm.scale[j], lm.coef[j]);
  }
  const json& mt = m.metrics;
  auto num = [&](const char* k) { return mt.contains(k) ? mt[k].dump() : std::string("-"); };
  fmt::print("\n  metrics     auc {}  f1 {}  precision {}  recall {}  accuracy {}\n", num("auc"),
             num("f1"), num("precision"), num("recall"), num("accuracy"));
  if (mt.contains("confusion_matrix"))
    fmt::print("  confusion   {}\n", mt["confusion_matrix"].dump());
}

Status RunInspect(const std::string& path, bool as_json) {
  MLFAAS_ASSIGN_OR_RETURN(package::CodeInfo info, package::InspectCode(path));
  if (as_json) {
    json out = {{"path", path},
                {"sha256", info.sha256},
                {"has_bootstrap", info.has_bootstrap},
                {"manifest", info.manifest ? package::ToJson(*info.manifest) : json()}};
    std::cout << out.dump() << "\n";
    return Status::Ok();
  }
  fmt::print("{}\n  zip sha256  {}\n  bootstrap   {}\n", path, info.sha256,
             info.has_bootstrap ? "yes (custom runtime)" : "no");
  if (info.manifest) PrintManifest(*info.manifest);
  return Status::Ok();
}

// ---- package create (bring your own model) ----

struct CreateFlags {
  std::string kind, model_file, features, transform = "log0.1", name, out;
  double threshold = 0.5;
  bool json = false;
};

// logistic_regression's model file: {"coefficients":[..],"intercept":x} with, when the model
// was fitted on standardized inputs, "mean" and "scale" (examples/sklearn/export_logreg.py).
Status ReadLinearModelFile(const json& j, model::LinearModel* m) {
  if (!j.is_object()) return InvalidArgument("the model file must be a JSON object");
  const size_t d = m->features.size();
  auto numbers = [&](const char* key, bool required, double fill) -> StatusOr<std::vector<double>> {
    auto it = j.find(key);
    if (it == j.end()) {
      if (required) return InvalidArgument(std::string("the model file has no \"") + key + "\"");
      return std::vector<double>(d, fill);
    }
    if (!it->is_array() || it->size() != d) {
      return InvalidArgument(std::string("\"") + key + "\" must hold " + std::to_string(d) +
                             " numbers, one per feature");
    }
    std::vector<double> out;
    for (const json& v : *it) {
      if (!v.is_number()) return InvalidArgument(std::string("\"") + key + "\" must hold numbers");
      out.push_back(v.get<double>());
    }
    return out;
  };
  MLFAAS_ASSIGN_OR_RETURN(m->coef, numbers("coefficients", true, 0));
  MLFAAS_ASSIGN_OR_RETURN(m->mean, numbers("mean", false, 0.0));
  MLFAAS_ASSIGN_OR_RETURN(m->scale, numbers("scale", false, 1.0));
  auto it = j.find("intercept");
  if (it == j.end() || !it->is_number()) {
    return InvalidArgument("the model file needs a number \"intercept\"");
  }
  m->intercept = it->get<double>();
  return model::Predictor::Validate(*m);
}

Status RunCreate(const CreateFlags& f) {
  const model::ModelKind* kind = model::FindModelKind(f.kind);
  if (!kind) {
    return InvalidArgument("--kind must be one of " + model::ModelKindNames() + ", not '" + f.kind +
                           "'");
  }
  MLFAAS_RETURN_IF_ERROR(CheckWritable(f.out));
  package::Manifest m;
  m.name = f.name.empty() ? fs::path(f.out).stem().string() : f.name;
  m.kind = f.kind;
  MLFAAS_ASSIGN_OR_RETURN(m.model.features, SplitFeatures(f.features));
  if (!model::ParseTransform(f.transform, &m.model.transform)) {
    return InvalidArgument("--transform must be log0.1 or none, not '" + f.transform + "'");
  }
  if (!(f.threshold >= 0 && f.threshold <= 1)) {
    return InvalidArgument("--threshold must be in [0, 1]");
  }
  m.model.threshold = f.threshold;
  MLFAAS_ASSIGN_OR_RETURN(std::string text, ReadFile(f.model_file));
  if (text.size() > (size_t{64} << 20)) return InvalidArgument("the model file exceeds 64 MB");
  if (kind->load) {
    if (f.kind != model::kXgboost) return InvalidArgument("cannot import kind " + f.kind);
    MLFAAS_ASSIGN_OR_RETURN(m.params, model::XgboostParams(text));
  } else {
    auto j = ParseJson(text);
    if (!j.ok()) return InvalidArgument("the model file is not JSON: " + j.status().message());
    MLFAAS_RETURN_IF_ERROR(ReadLinearModelFile(*j, &m.model));
  }
  m.metrics = json::object();
  m.rows = {{"train", 0}, {"test", 0}};
  m.training = {{"algo", f.kind},
                {"imported_from", fs::path(f.model_file).filename().string()},
                {"model_file_sha256", Sha256Hex(text)}};
  m.created_at = NowRfc3339();
  m.producer = "mlfaas " MLFAAS_VERSION;
  // Written, then read back as any reader would: the kind's loader checks the model against
  // the features (their number, xgboost's num_feature) before the package is kept.
  MLFAAS_RETURN_IF_ERROR(package::WritePackage(f.out, m));
  auto written = package::ReadPackage(f.out);
  if (!written.ok()) {
    std::error_code ec;
    fs::remove(f.out, ec);
    return written.status();
  }
  if (f.json) {
    std::cout << json{{"package", f.out},
                      {"digest", written->digest},
                      {"kind", written->kind},
                      {"features", written->model.features}}
                     .dump()
              << "\n";
  } else {
    fmt::print("packaged {} model {} -> {}\n  digest      {}\n", written->kind, f.model_file, f.out,
               written->digest);
  }
  return Status::Ok();
}

void RegisterPackage(CLI::App& app, CliContext& ctx) {
  CLI::App* pkg = app.add_subcommand("package", "Model packages (zip + manifest.json)");
  pkg->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  CLI::App* inspect =
      pkg->add_subcommand("inspect", "Validate a package (structure, format, digest) and show it");
  inspect->add_option("package", *path, "Package zip")->required();
  inspect->add_flag("--json", *as_json, "Print one JSON object");
  inspect->callback([&ctx, path, as_json] {
    ctx.action = [path, as_json] { return RunInspect(*path, *as_json); };
  });
  auto cf = std::make_shared<CreateFlags>();
  CLI::App* create = pkg->add_subcommand(
      "create",
      "Package a model trained elsewhere (xgboost's JSON, or scikit-learn's logistic "
      "regression exported by examples/sklearn/export_logreg.py)");
  create->add_option("--kind", cf->kind, "xgboost | logistic_regression")->required();
  create->add_option("--model", cf->model_file, "The model file")->required();
  create->add_option("--features", cf->features, "Feature names in the model's order: a,b,c")
      ->required();
  create->add_option("--transform", cf->transform,
                     "log0.1 | none: applied to each raw value before the model (log0.1)");
  create->add_option("--threshold", cf->threshold, "Decision threshold on the probability (0.5)");
  create->add_option("--name", cf->name, "Model name (default: the zip's name)");
  create->add_option("--out", cf->out, "Package zip to write")->required();
  create->add_flag("--json", cf->json, "Print one JSON object");
  create->callback([&ctx, cf] { ctx.action = [cf] { return RunCreate(*cf); }; });
}

}  // namespace

void RegisterPredictCommands(CLI::App& app, CliContext& ctx) {
  RegisterPredict(app, ctx);
  RegisterPackage(app, ctx);
}

}  // namespace mlfaas::cli
