#!/usr/bin/python3
# The reference of XgboostAgreementTest (tree_model_test.cc), made at build time
# (mlfaas_reference_data in tests/model/CMakeLists.txt): trains models with python xgboost and
# writes, per model, the JSON, the test rows (float64) and xgboost's margins and predictions
# (float32), raw little-endian; cases.txt lists them.
# Usage: xgboost_reference.py OUT_DIR DATA_FILE
import gzip, json, os, sys
try:
    import numpy as np
    import xgboost as xgb
except Exception as e:  # noqa: BLE001
    print(f"cannot import xgboost/numpy: {e}", file=sys.stderr)
    sys.exit(3)

out, data_file = sys.argv[1], sys.argv[2]
print("xgboost", xgb.__version__, file=sys.stderr)
rng = np.random.default_rng(20240607)
scale = np.array([1.0, 2.0, 5.0, 0.1, 10.0, 1000.0])
missing_rate = np.array([0.2, 0.25, 0.3, 0.0, 0.05, 0.0])

def synthetic(n):
    x = rng.normal(size=(n, 6)) * scale
    x[:, 5] = np.round(x[:, 5])
    xm = np.where(rng.random((n, 6)) < missing_rate, np.nan, x)
    # Whether a value is missing carries signal, so the learned default directions matter.
    z = (1.5 * np.tanh(x[:, 0]) + np.where(np.isnan(xm[:, 1]), 1.5, 0.5 * x[:, 1])
         - np.where(np.isnan(xm[:, 2]), -1.0, 0.3 * x[:, 2]) + 2.0 * (x[:, 3] > 0)
         + 0.1 * x[:, 4] + 0.001 * x[:, 5])
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.float32)
    return xm, y

x_train, y_train = synthetic(4000)
x_test, _ = synthetic(2000)
x_test[:20, :] = np.nan  # rows with every value missing

def threshold_rows(booster, nfeat, n):
    """Rows whose values sit exactly on, or one float32 ulp around, the model's thresholds."""
    trees = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
    cuts = [(f, c) for t in trees
            for f, c, l in zip(t["split_indices"], t["split_conditions"], t["left_children"])
            if l != -1]
    by_feature = {}
    for f, c in cuts:
        by_feature.setdefault(f, []).append(c)
    rows = np.full((n, nfeat), np.nan)
    for i in range(n):
        for j in range(nfeat):
            if rng.random() < 0.15 or j not in by_feature:
                continue
            c = np.float32(by_feature[j][rng.integers(len(by_feature[j]))])
            rows[i, j] = float([c, np.nextafter(c, np.float32(np.inf)),
                                np.nextafter(c, np.float32(-np.inf))][rng.integers(3)])
    return rows

def dump(name, booster, rows):
    booster.save_model(os.path.join(out, name + ".json"))
    d = xgb.DMatrix(rows)  # a fresh DMatrix: no prediction cache
    rows.astype("<f8").tofile(os.path.join(out, name + ".x"))
    booster.predict(d, output_margin=True).astype("<f4").tofile(os.path.join(out, name + ".margin"))
    booster.predict(d).astype("<f4").tofile(os.path.join(out, name + ".pred"))
    listing.write(f"{name} {rows.shape[0]} {rows.shape[1]}\n")

cases = [  # name, params, rounds
    ("d1_t1_logistic", {"objective": "binary:logistic", "max_depth": 1}, 1),
    ("d3_t10_logistic_bs03", {"objective": "binary:logistic", "max_depth": 3, "base_score": 0.3}, 10),
    ("d6_t100_logistic", {"objective": "binary:logistic", "max_depth": 6}, 100),
    ("d8_t100_logistic_bs03", {"objective": "binary:logistic", "max_depth": 8, "base_score": 0.3}, 100),
    ("d3_t100_reg_logistic", {"objective": "reg:logistic", "max_depth": 3}, 100),
    ("d8_t10_reg_logistic_bs03", {"objective": "reg:logistic", "max_depth": 8, "base_score": 0.3}, 10),
    ("d1_t100_logitraw", {"objective": "binary:logitraw", "max_depth": 1}, 100),
    ("d6_t10_logitraw_bs03", {"objective": "binary:logitraw", "max_depth": 6, "base_score": 0.3}, 10),
    ("d8_t100_logitraw", {"objective": "binary:logitraw", "max_depth": 8}, 100),
    # exact + gamma: the pruner leaves deleted (unreachable) nodes in the arrays
    ("d6_t10_exact_pruned", {"objective": "binary:logistic", "max_depth": 6, "tree_method": "exact",
                             "gamma": 2.0}, 10),
    ("d6_t30_approx", {"objective": "binary:logistic", "max_depth": 6, "tree_method": "approx"}, 30),
    ("d4_forest_x4", {"objective": "binary:logistic", "max_depth": 4, "num_parallel_tree": 4,
                      "subsample": 0.7, "colsample_bynode": 0.7}, 10),
    ("lossguide_t100", {"objective": "binary:logistic", "max_depth": 0, "grow_policy": "lossguide",
                        "max_leaves": 24}, 100),
]

# nthread 1 throughout: on a busy 2-core machine OpenMP's spinning workers make training ~10x
# slower (and the predictions do not depend on it).
with open(os.path.join(out, "cases.txt"), "w") as listing:
    dtrain = xgb.DMatrix(x_train, label=y_train)
    for name, params, rounds in cases:
        params = dict({"tree_method": "hist", "eta": 0.3, "seed": 7, "nthread": 1}, **params)
        b = xgb.train(params, dtrain, rounds)
        dump(name, b, np.vstack([x_test, threshold_rows(b, 6, 600)]))

    # The shipped data, log(x + 0.1) features as mlfaas trains on them.
    with gzip.open(data_file, "rt") as f:
        header = f.readline().strip().split(",")
        raw = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    cols = [header.index(c) for c in ("duration", "src_bytes", "dst_bytes")]
    x_all = np.log(raw[:, cols] + 0.1)
    y_all = raw[:, header.index("label")]
    # Trained on every 4th row (the test's time), scored on rows from all of it.
    b = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.3, "tree_method": "hist",
                   "seed": 7, "nthread": 1}, xgb.DMatrix(x_all[::4], label=y_all[::4]), 100)
    idx = np.unique(np.concatenate([np.arange(500), rng.choice(len(x_all), 4500, replace=False)]))
    idx.astype("<u8").tofile(os.path.join(out, "kdd.idx"))
    dump("kdd", b, x_all[idx])
