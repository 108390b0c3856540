#!/usr/bin/env bash
# Model benchmarks vs the scikit-learn peers, in one invocation, with ratios.
#   bench/run_model_bench.sh            # builds build-bench (Release-ish) if needed, then runs
# Env: BUILD_DIR (default <repo>/build-bench), PEERS_DIR (default <repo>/../shared/peers),
#      PYTHON (default /usr/bin/python3), REPS (benchmark repetitions, default 3).
# Goals (issue 2): batch scoring >= 4x sklearn rows/s; fit <= 0.25x sklearn fit time, AUC +-0.001.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO/build-bench}"
PEERS_DIR="${PEERS_DIR:-$(dirname "$REPO")/shared/peers}"
PYTHON="${PYTHON:-/usr/bin/python3}"
REPS="${REPS:-3}"
DATA="$REPO/data/kdd99-http.csv.gz"

if [[ ! -x "$BUILD_DIR/bin/model_bench" ]]; then
  cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DMLFAAS_BUILD_BENCH=ON -DMLFAAS_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$BUILD_DIR" --target model_bench -j2 >/dev/null

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
echo "== machine: $(nproc) cpu, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo "== mlfaas model_bench (best of $REPS)"
"$BUILD_DIR/bin/model_bench" --benchmark_repetitions="$REPS" \
  --benchmark_out="$OUT/mlfaas.json" --benchmark_out_format=json \
  --benchmark_report_aggregates_only=false | grep -E '^BM_' | grep -v -E '_(mean|median|stddev|cv) '

have_peers=1
if [[ ! -f "$PEERS_DIR/sklearn_batch.py" || ! -x "$PYTHON" ]]; then
  echo "== sklearn peers not found in $PEERS_DIR (set PEERS_DIR): ratios skipped"
  have_peers=0
else
  echo "== sklearn peers"
  "$PYTHON" "$PEERS_DIR/sklearn_batch.py" | tee "$OUT/batch.txt"
  "$PYTHON" "$PEERS_DIR/sklearn_kdd.py" "$DATA" | tee "$OUT/kdd.txt"
fi

"$PYTHON" - "$OUT" "$have_peers" <<'PY'
import json, re, sys
out, have_peers = sys.argv[1], sys.argv[2] == "1"
runs = [b for b in json.load(open(f"{out}/mlfaas.json"))["benchmarks"] if b.get("run_type") == "iteration"]
def best(name, key="real_time"):
    xs = [b for b in runs if b["run_name"] == name]
    return min(xs, key=lambda b: b["real_time"]) if xs else None
def ms(b): return b["real_time"] * {"ms": 1, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]
s1, s2 = best("BM_BatchScore/1/real_time"), best("BM_BatchScore/2/real_time")
f1, f2 = best("BM_Fit/1/real_time"), best("BM_Fit/2/real_time")
tr, ld = best("BM_Train/real_time"), best("BM_LoadCsv/real_time")
print("== mlfaas summary")
print(f"batch scoring: {s1['items_per_second']:.3e} rows/s (1 thread), {s2['items_per_second']:.3e} rows/s (2 threads)")
print(f"fit: {ms(f1):.1f} ms (1 thread), {ms(f2):.1f} ms (2 threads), AUC {f1['auc']:.5f}; "
      f"whole train after load {ms(tr):.1f} ms; CSV load {ms(ld):.1f} ms")
if not have_peers:
    sys.exit(0)
batch = open(f"{out}/batch.txt").read()
sk_rows = float(re.search(r"batch_predict_rows_per_s=([0-9.e+]+)", batch).group(1))
kdd = open(f"{out}/kdd.txt").read()
m = re.search(r"class_weight=None fit_s=([0-9.]+) auc=([0-9.]+)", kdd)
sk_fit, sk_auc = float(m.group(1)) * 1e3, float(m.group(2))
best_fit = min(ms(f1), ms(f2))
r_score = s1["items_per_second"] / sk_rows
r_score2 = s2["items_per_second"] / sk_rows
r_fit = best_fit / sk_fit
print("== ratios (mlfaas / sklearn, same invocation)")
print(f"batch scoring: {r_score:.2f}x (1 thread), {r_score2:.2f}x (2 threads)   goal >= 4x   "
      f"{'PASS' if max(r_score, r_score2) >= 4 else 'MISS'}")
print(f"fit time: {r_fit:.3f}x ({best_fit:.1f} ms vs {sk_fit:.1f} ms)   goal <= 0.25x   "
      f"{'PASS' if r_fit <= 0.25 else 'MISS'}")
print(f"AUC: mlfaas {f1['auc']:.5f} vs sklearn {sk_auc:.5f} (|diff| {abs(f1['auc'] - sk_auc):.5f}, goal <= 0.001)")
PY
