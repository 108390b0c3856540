#!/usr/bin/python3
# The models "trained elsewhere" of ServeModelsTest (serve_models_test.cc), made at build time
# (mlfaas_reference_data in tests/gateway/CMakeLists.txt): trains a scikit-learn logistic
# regression (exported by examples/sklearn/export_logreg.py) and an xgboost classifier on every
# 8th row of the shipped data (log(x + 0.1) features), and writes 300 evaluation rows (raw) and
# the libraries' probabilities for them.
# Usage: models_elsewhere_reference.py OUT_DIR DATA_FILE EXPORT_SCRIPT
import gzip, json, pickle, subprocess, sys
import numpy as np, xgboost as xgb
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
out, data, export = sys.argv[1:4]
raw = np.loadtxt(gzip.open(data, "rt"), delimiter=",", skiprows=1)[::8]
x, y = np.log(raw[:, :3] + 0.1), raw[:, 3].astype(int)
pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000)).fit(x, y)
pickle.dump(pipe, open(out + "/lr.pkl", "wb"))
subprocess.run([sys.executable, export, out + "/lr.pkl", out + "/lr.json"], check=True)
clf = xgb.XGBClassifier(n_estimators=30, max_depth=5, learning_rate=0.3, base_score=0.3,
                        n_jobs=1).fit(x, y)
clf.get_booster().save_model(out + "/xgb.json")
rng = np.random.RandomState(7)
idx = np.concatenate([np.where(y == 1)[0][:50], rng.choice(len(y), 250, replace=False)])
ev = raw[idx, :3]
np.savetxt(out + "/eval.csv", ev, delimiter=",", header="duration,src_bytes,dst_bytes",
           comments="", fmt="%.17g")
json.dump({"logistic_regression": pipe.predict_proba(np.log(ev + 0.1))[:, 1].tolist(),
           "xgboost": clf.predict_proba(np.log(ev + 0.1))[:, 1].tolist(),
           "rows": ev.tolist()}, open(out + "/expected.json", "w"))
