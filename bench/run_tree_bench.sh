#!/usr/bin/env bash
# Tree-ensemble scoring: mlfaas's evaluator (model/tree_model.h, bench/model/tree_bench.cc) vs
# xgboost's own predict, on every row of the shipped data (567,498 rows), in one invocation.
#
#   bench/run_tree_bench.sh            # builds tree_bench in BUILD_DIR if needed, then runs
# Env: BUILD_DIR (default <repo>/build), PYTHON (default /usr/bin/python3, with python3-xgboost),
#      REPS (repetitions, best of; default 5), SKIP_BUILD=1 (use the tree_bench binary as is).
#
# Models (trained here with python xgboost on log(x + 0.1) features, hist, eta 0.3):
#   model: the shipped labels, 100 trees, max_depth 6 (the data is nearly separable, so the
#          trees stop early: see the nodes and mean_depth columns);
#   full:  random labels on the same rows, 100 trees, max_depth 6: every tree grows to full
#          depth, the slowest shape of that size to score.
# The main rows exclude reading the CSV and the log transform on both sides: the rows are
# prepared once, then timed. The "preprocessing included" rows time the log transform too (on
# mlfaas's side through the Predictor a served package uses). xgboost's predict needs a DMatrix, so its time is DMatrix + predict; inplace_predict
# (no DMatrix) is timed too, and the ratio uses xgboost's faster path at the same thread count.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO/build}"
PYTHON="${PYTHON:-/usr/bin/python3}"
REPS="${REPS:-5}"
DATA="$REPO/data/kdd99-http.csv.gz"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  if [[ ! -f "$BUILD_DIR/build.ninja" && ! -f "$BUILD_DIR/Makefile" ]]; then
    cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DMLFAAS_BUILD_BENCH=ON -DMLFAAS_BUILD_TESTS=OFF \
      >/dev/null
  fi
  cmake --build "$BUILD_DIR" --target tree_bench -j2 >/dev/null
fi
if ! "$PYTHON" -c 'import xgboost, numpy' 2>/dev/null; then
  echo "run_tree_bench.sh: $PYTHON cannot import xgboost/numpy (scripts/deps.sh installs them)" >&2
  exit 2
fi

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
echo "== machine: $(nproc) cpu, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"

echo "== training and timing xgboost (best of $REPS)"
"$PYTHON" - "$DATA" "$OUT" "$REPS" <<'PY'
import gzip, json, sys, time
import numpy as np
import xgboost as xgb

data, out, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
with gzip.open(data, "rt") as f:
    header = f.readline().strip().split(",")
    raw = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
raw3 = np.ascontiguousarray(raw[:, [header.index(c) for c in ("duration", "src_bytes", "dst_bytes")]])
x = np.log(raw3 + 0.1)
y = raw[:, header.index("label")]
rng = np.random.default_rng(1)
labels = {"model": y, "full": (rng.random(len(y)) < 0.5).astype(np.float64)}
results = {"xgboost": xgb.__version__, "rows": int(len(x)), "models": {}}
for name, lab in labels.items():
    b = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.3,
                   "tree_method": "hist", "seed": 7, "nthread": 2},
                  xgb.DMatrix(x, label=lab, nthread=2), 100)
    b.save_model(f"{out}/{name}.json")
    r = {}
    for nt in (1, 2):
        b.set_param({"nthread": nt})
        best_dm = best_in = best_raw = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            p = b.predict(xgb.DMatrix(x, nthread=nt))
            best_dm = min(best_dm, time.perf_counter() - t0)
            t0 = time.perf_counter()
            q = b.inplace_predict(x)
            best_in = min(best_in, time.perf_counter() - t0)
            # Preprocessing included: the raw rows, log(x + 0.1), then predict.
            t0 = time.perf_counter()
            q2 = b.inplace_predict(np.log(raw3 + 0.1))
            best_raw = min(best_raw, time.perf_counter() - t0)
        if not np.array_equal(p, q) or not np.array_equal(q, q2):
            print(f"note: {name}: inplace_predict differs from predict", file=sys.stderr)
        r[nt] = {"dmatrix_predict_s": best_dm, "inplace_predict_s": best_in,
                 "raw_rows_s": best_raw}
    r["pred_sum"] = float(np.sum(p.astype(np.float64)))
    results["models"][name] = r
    print(f"xgboost {xgb.__version__} {name}: " + ", ".join(
        f"{nt} thread{'s' if nt > 1 else ''}: DMatrix+predict {r[nt]['dmatrix_predict_s']*1e3:.1f} ms, "
        f"inplace_predict {r[nt]['inplace_predict_s']*1e3:.1f} ms" for nt in (1, 2)))
json.dump(results, open(f"{out}/xgboost.json", "w"))
PY

echo "== mlfaas tree_bench (best of $REPS)"
MLFAAS_TREE_MODEL="$OUT/model.json" MLFAAS_TREE_MODEL_FULL="$OUT/full.json" \
  "$BUILD_DIR/bin/tree_bench" --benchmark_repetitions="$REPS" \
  --benchmark_out="$OUT/mlfaas.json" --benchmark_out_format=json \
  --benchmark_report_aggregates_only=false | grep -E '^BM_' | grep -v -E '_(mean|median|stddev|cv) '

"$PYTHON" - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
xg = json.load(open(f"{out}/xgboost.json"))
runs = [b for b in json.load(open(f"{out}/mlfaas.json"))["benchmarks"]
        if b.get("run_type") == "iteration"]
def best(name):
    xs = [b for b in runs if b["run_name"] == name]
    return min(xs, key=lambda b: b["real_time"])
def ms(b): return b["real_time"] * {"ms": 1, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]
rows = xg["rows"]
print(f"== summary: {rows} rows, xgboost {xg['xgboost']}; times exclude CSV reading and log(x + 0.1)")
for name, label in (("model", "model (shipped labels)"), ("full", "full (random labels)")):
    r = xg["models"][name]
    print(f"-- {label}: {int(best(f'BM_TreePredict/{name}/1/real_time')['trees'])} trees, "
          f"{int(best(f'BM_TreePredict/{name}/1/real_time')['nodes'])} nodes, mean depth "
          f"{best(f'BM_TreePredict/{name}/1/real_time')['mean_depth']:.2f}")
    for nt in (1, 2):
        ours = best(f"BM_TreePredict/{name}/{nt}/real_time")
        x_dm, x_in = r[str(nt)]["dmatrix_predict_s"] * 1e3, r[str(nt)]["inplace_predict_s"] * 1e3
        x_best = min(x_dm, x_in)
        print(f"   {nt} thread{'s' if nt > 1 else ' '}: mlfaas {ms(ours):7.1f} ms "
              f"({rows / ms(ours) * 1e3:.3e} rows/s) | xgboost DMatrix+predict {x_dm:7.1f} ms, "
              f"inplace_predict {x_in:7.1f} ms ({rows / x_best * 1e3:.3e} rows/s) | "
              f"speed-up {x_best / ms(ours):.2f}x")
    for nt in (1, 2):
        ours = best(f"BM_PredictorRawRows/{name}/{nt}/real_time")
        theirs = r[str(nt)]["raw_rows_s"] * 1e3
        print(f"   preprocessing included, {nt} thread{'s' if nt > 1 else ' '}: mlfaas Predictor "
              f"{ms(ours):7.1f} ms | xgboost log(x + 0.1) + inplace_predict {theirs:7.1f} ms | "
              f"speed-up {theirs / ms(ours):.2f}x")
    fl = best(f"BM_TreePredictFloat/{name}/real_time")
    print(f"   float32 rows, 1 thread: mlfaas {ms(fl):.1f} ms")
    ours_sum = best(f"BM_TreePredict/{name}/1/real_time")["pred_sum"]
    print(f"   sum of predictions: mlfaas {ours_sum:.6f}, xgboost {r['pred_sum']:.6f} "
          f"(|diff| {abs(ours_sum - r['pred_sum']):.2e})")
PY
