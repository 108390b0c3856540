// Tree-ensemble scoring (model/tree_model.h) on the shipped data (567,498 rows), for comparison
// with xgboost's own predict (bench/run_tree_bench.sh trains the models and times xgboost).
//
// The models are xgboost JSON files named by the environment (the benchmark has no training of
// its own):
//   MLFAAS_TREE_MODEL        required: the model to score, e.g. 100 trees of depth 6 trained
//                            on log(x + 0.1) features;
//   MLFAAS_TREE_MODEL_<NAME> optional further models, benchmarked under <name> (lower case).
//
// Per model:
//   - BM_TreePredict/<model>/<threads>: Predict (margin + sigmoid) over every row, rows already
//     transformed (reading the CSV and log(x + 0.1) are excluded, as on xgboost's side);
//     items/s = rows/s. threads > 1 splits the rows into contiguous ranges, one std::thread
//     each (what xgboost's predict does with OpenMP).
//   - BM_TreePredictFloat/<model>: the same from float32 rows.
//   - BM_PredictorRawRows/<model>/<threads>: preprocessing included: raw rows through the
//     Predictor a served xgboost package uses (log(x + 0.1), then the evaluator), on
//     PredictProbaParallel's threads.
// Counters: trees, nodes, mean_depth, mask_table_kib (LeafMasks' tables), and pred_sum (the sum
// of the predictions, for a check against xgboost's).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "common/fs.h"
#include "model/csv_reader.h"
#include "model/predictor.h"
#include "model/tree_model.h"
#include "model/xgboost_kind.h"

extern char** environ;

namespace mlfaas::model {
namespace {

// Every row of the shipped data as read (raw), row-major.
const std::vector<double>& RawRows() {
  static const std::vector<double>* rows = [] {
    CsvOptions o;
    o.features = {"duration", "src_bytes", "dst_bytes"};
    o.label = "label";
    auto r = ReadCsv(MLFAAS_DATA_FILE, o);
    if (!r.ok()) {
      std::cerr << r.status().ToString() << "\n";
      std::exit(1);
    }
    return new std::vector<double>(std::move(r->x));
  }();
  return *rows;
}

// The same rows, log(x + 0.1)-transformed.
const std::vector<double>& Rows() {
  static const std::vector<double>* rows = [] {
    auto* out = new std::vector<double>(RawRows());
    for (double& v : *out) v = std::log(v + 0.1);
    return out;
  }();
  return *rows;
}

TreeEnsemble LoadModel(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    std::cerr << "tree_bench: " << text.status().ToString() << "\n";
    std::exit(1);
  }
  auto m = ParseXgboostJson(*text, 3);
  if (!m.ok()) {
    std::cerr << "tree_bench: " << path << ": " << m.status().ToString() << "\n";
    std::exit(1);
  }
  return std::move(m).value();
}

void SetCounters(benchmark::State& state, const TreeEnsemble& m, const std::vector<double>& out,
                 size_t rows) {
  double depth = 0, sum = 0;
  for (uint32_t d : m.tree_depths) depth += d;
  for (double p : out) sum += p;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * rows));
  state.counters["trees"] = static_cast<double>(m.num_trees());
  state.counters["nodes"] = static_cast<double>(m.nodes.size());
  state.counters["mean_depth"] = m.num_trees() ? depth / static_cast<double>(m.num_trees()) : 0;
  state.counters["pred_sum"] = sum;
  // The compiled tables (LeafMasks), 0 when the model is walked.
  state.counters["mask_table_kib"] =
      static_cast<double>(m.leaf_masks.masks.size() * sizeof(uint64_t)) / 1024.0;
}

void BM_TreePredict(benchmark::State& state, const TreeEnsemble* m) {
  const std::vector<double>& rows = Rows();
  const size_t n = rows.size() / 3;
  std::vector<double> out(n);
  const size_t threads = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    if (threads <= 1) {
      Predict(*m, rows, n, out);
    } else {
      std::vector<std::thread> pool;
      for (size_t t = 0; t < threads; ++t) {
        const size_t begin = n * t / threads, end = n * (t + 1) / threads;
        pool.emplace_back([&, begin, end] {
          Predict(*m, std::span<const double>(rows).subspan(begin * 3, (end - begin) * 3),
                  end - begin, std::span<double>(out).subspan(begin, end - begin));
        });
      }
      for (auto& th : pool) th.join();
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, *m, out, n);
}

void BM_TreePredictFloat(benchmark::State& state, const TreeEnsemble* m) {
  const std::vector<double>& rows = Rows();
  const std::vector<float> rows32(rows.begin(), rows.end());
  const size_t n = rows.size() / 3;
  std::vector<double> out(n);
  for (auto _ : state) {
    Predict(*m, std::span<const float>(rows32), n, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, *m, out, n);
}

// What a package's xgboost model serves with: the Predictor (model_kind.h) over raw rows, the
// log(x + 0.1) transform included, on `threads` threads (PredictProbaParallel).
void BM_PredictorRawRows(benchmark::State& state, const Predictor* p, const TreeEnsemble* m) {
  const std::vector<double>& rows = RawRows();
  const size_t n = rows.size() / 3;
  std::vector<double> out(n);
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    p->PredictProbaParallel(rows, out, threads);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, *m, out, n);
}

const Predictor* LoadPredictor(const std::string& path) {
  auto text = ReadFile(path);
  auto params = text.ok() ? XgboostParams(*text) : StatusOr<nlohmann::json>(text.status());
  auto scorer = params.ok() ? LoadXgboostKind(*params, 3)
                            : StatusOr<std::shared_ptr<const Scorer>>(params.status());
  if (!scorer.ok()) {
    std::cerr << "tree_bench: " << path << ": " << scorer.status().ToString() << "\n";
    std::exit(1);
  }
  LinearModel inputs;
  inputs.features = {"duration", "src_bytes", "dst_bytes"};
  inputs.transform = Transform::kLog01;
  return new Predictor(std::move(inputs), *std::move(scorer));
}

void RegisterModel(const std::string& name, const std::string& path) {
  const TreeEnsemble* m = new TreeEnsemble(LoadModel(path));
  benchmark::RegisterBenchmark(("BM_PredictorRawRows/" + name).c_str(), BM_PredictorRawRows,
                               LoadPredictor(path), m)
      ->Arg(1)
      ->Arg(2)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark(("BM_TreePredict/" + name).c_str(), BM_TreePredict, m)
      ->Arg(1)
      ->Arg(2)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark(("BM_TreePredictFloat/" + name).c_str(), BM_TreePredictFloat, m)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

}  // namespace
}  // namespace mlfaas::model

int main(int argc, char** argv) {
  const char* main_model = std::getenv("MLFAAS_TREE_MODEL");
  if (main_model == nullptr || *main_model == '\0') {
    std::cerr << "tree_bench: set MLFAAS_TREE_MODEL to an xgboost JSON model over (duration, "
                 "src_bytes, dst_bytes) after log(x + 0.1); bench/run_tree_bench.sh trains one\n";
    return 2;
  }
  mlfaas::model::RegisterModel("model", main_model);
  const std::string prefix = "MLFAAS_TREE_MODEL_";
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || !entry.starts_with(prefix) || eq == prefix.size()) continue;
    std::string name = entry.substr(prefix.size(), eq - prefix.size());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    mlfaas::model::RegisterModel(name, entry.substr(eq + 1));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
