// Model micro-benchmarks on the shipped data (567,498 rows):
//  - BM_BatchScore: Predictor::PredictProba over every row, preprocessing included
//    (log(x+0.1), standardize, dot, sigmoid); items/s = rows/s.
//  - BM_Fit: the solver alone on the standardized 80% training split (what sklearn_kdd.py's
//    fit_s measures); counters report AUC on the test split and Newton iterations.
//  - BM_Train: the whole pipeline after loading (split, transform, standardize, fit, evaluate).
//  - BM_LoadCsv: reading and validating the gzip CSV.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <iostream>

#include "model/csv_reader.h"
#include "model/predictor.h"
#include "model/split.h"
#include "model/trainer.h"

namespace mlfaas::model {
namespace {

CsvOptions KddCsv() {
  CsvOptions o;
  o.features = {"duration", "src_bytes", "dst_bytes"};
  o.label = "label";
  o.transform = Transform::kLog01;
  return o;
}

const Dataset& Data() {
  static const Dataset* ds = [] {
    auto r = ReadCsv(MLFAAS_DATA_FILE, KddCsv());
    if (!r.ok()) {
      std::cerr << r.status().ToString() << "\n";
      std::exit(1);
    }
    return new Dataset(std::move(r).value());
  }();
  return *ds;
}

const TrainResult& Trained() {
  static const TrainResult* r = [] {
    TrainOptions o;
    o.solver.threads = 2;
    return new TrainResult(*Train(Data(), o));
  }();
  return *r;
}

void BM_BatchScore(benchmark::State& state) {
  const Dataset& ds = Data();
  Predictor p(Trained().model);
  std::vector<double> out(ds.rows());
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    p.PredictProbaParallel(ds.x, out, threads);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ds.rows()));
}
BENCHMARK(BM_BatchScore)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Standardized training split, as sklearn's fit sees it.
struct Prepared {
  std::vector<double> z;
  std::vector<uint8_t> y;
};

const Prepared& TrainSplit() {
  static const Prepared* p = [] {
    const Dataset& ds = Data();
    const size_t d = ds.num_features();
    Split split = *StratifiedSplit(ds.y, 0.2, 0);
    auto* out = new Prepared;
    for (size_t i : split.train) {
      for (size_t j = 0; j < d; ++j) out->z.push_back(std::log(ds.row(i)[j] + 0.1));
      out->y.push_back(ds.y[i]);
    }
    const LinearModel& m = Trained().model;
    for (size_t k = 0; k < out->y.size(); ++k) {
      for (size_t j = 0; j < d; ++j)
        out->z[k * d + j] = (out->z[k * d + j] - m.mean[j]) / m.scale[j];
    }
    return out;
  }();
  return *p;
}

void BM_Fit(benchmark::State& state) {
  const Prepared& p = TrainSplit();
  LogisticOptions o;
  o.threads = static_cast<int>(state.range(0));
  LogisticFit fit;
  for (auto _ : state) {
    fit = *FitLogistic(p.z, 3, p.y, o);
    benchmark::DoNotOptimize(fit.intercept);
  }
  state.counters["iterations"] = fit.iterations;
  state.counters["passes"] = fit.data_passes;
  state.counters["auc"] = Trained().test_metrics.auc;
}
BENCHMARK(BM_Fit)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Train(benchmark::State& state) {
  const Dataset& ds = Data();
  TrainOptions o;
  o.solver.threads = 2;
  double auc = 0, f1 = 0;
  for (auto _ : state) {
    TrainResult r = *Train(ds, o);
    auc = r.test_metrics.auc;
    f1 = r.test_metrics.f1;
  }
  state.counters["auc"] = auc;
  state.counters["f1"] = f1;
}
BENCHMARK(BM_Train)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_LoadCsv(benchmark::State& state) {
  size_t rows = 0;
  for (auto _ : state) rows = ReadCsv(MLFAAS_DATA_FILE, KddCsv())->rows();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * rows));
}
BENCHMARK(BM_LoadCsv)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace mlfaas::model

BENCHMARK_MAIN();
