#!/usr/bin/env bash
# A retrain run on the shipped data, end to end, against the scikit-learn peer in the same
# invocation (docs/results.md, "Retraining").
#
#   bench/run_retrain.sh [ROUNDS=3] [FEEDBACK_ROWS=5000]
#
# mlfaas: `mlfaas retrain` of a function trained on data/kdd99-http.csv.gz with FEEDBACK_ROWS
# labelled rows (sampled from the same data): read the dataset (from the registry's blob), split
# it as it was, add the feedback, train the candidate, score it and the current version on the
# same held-out rows, check the gate, record the run. (Rounds after the first find the same model
# already published, so they publish nothing: the rest of the work is the same.)
# Peer: ../shared/peers/sklearn_kdd.py style, one process: numpy loadtxt of the same file, the same
# split, StandardScaler + LogisticRegression fit, predict_proba and AUC/F1 on the test split.
# Prints each round's wall time and the medians' ratio. Needs build/bin/mlfaas and python3-sklearn.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
FEEDBACK=${2:-5000}
[ "$FEEDBACK" -ge 1 ] && [ "$FEEDBACK" -le 10000 ] || { echo "run_retrain.sh: FEEDBACK_ROWS must be 1..10000 (one body)" >&2; exit 2; }
B=$PWD/build/bin/mlfaas
PY=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/mlfaas-retrain-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export MLFAAS_HOME=$work/home

"$B" train --data data/kdd99-http.csv.gz --out "$work/kdd.zip" >/dev/null
"$B" function create kdd --package "$work/kdd.zip" >/dev/null
"$B" function publish kdd >/dev/null
"$B" alias create kdd live --version 1 >/dev/null
"$PY" - "$FEEDBACK" "$work/feedback.json" <<'PY'
import csv, gzip, json, random, sys
rows = list(csv.DictReader(gzip.open("data/kdd99-http.csv.gz", "rt")))
random.seed(7)
sample = random.sample(rows, int(sys.argv[1]))
feats = ("duration", "src_bytes", "dst_bytes")
json.dump({"rows": [{"id": f"fb-{i}", "label": int(r["label"]),
                     "features": {k: float(r[k]) for k in feats}} for i, r in enumerate(sample)]},
          open(sys.argv[2], "w"))
PY
"$B" feedback add kdd "$work/feedback.json" >/dev/null

cat >"$work/peer.py" <<'PY'
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
d = np.loadtxt("data/kdd99-http.csv.gz", delimiter=",", skiprows=1)
X, y = np.log(d[:, :3] + 0.1), d[:, 3].astype(int)
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
sc = StandardScaler().fit(Xtr)
m = LogisticRegression().fit(sc.transform(Xtr), ytr)
p = m.predict_proba(sc.transform(Xte))[:, 1]
print(f"auc={roc_auc_score(yte, p):.5f} f1={f1_score(yte, p > 0.5):.5f}")
PY

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m_times=() p_times=()
for ((r = 1; r <= ROUNDS; r++)); do
  m=$(seconds "$B" retrain kdd --gate "auc>=0")
  p=$(seconds "$PY" "$work/peer.py")
  printf 'round %d: mlfaas retrain %.3f s, sklearn %.3f s\n' "$r" "$m" "$p"
  m_times+=("$m") p_times+=("$p")
done
mm=$(printf '%s\n' "${m_times[@]}" | median)
pm=$(printf '%s\n' "${p_times[@]}" | median)
"$B" retrain history kdd --json | "$PY" -c 'import json,sys; r=json.load(sys.stdin)[-1]; print("last run:", r["decision"], "train", r["rows"]["train"], "held out", r["rows"]["test"], "feedback", r["feedback_rows"], "auc", round(r["candidate_metrics"]["auc"], 5))'
printf 'median: mlfaas retrain %.3f s, sklearn %.3f s: mlfaas %.2fx faster\n' "$mm" "$pm" "$(echo "$pm / $mm" | bc -l)"
