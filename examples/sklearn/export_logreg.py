#!/usr/bin/python3
"""Exports a scikit-learn logistic regression for `mlfaas package create --kind logistic_regression`.

Usage: export_logreg.py MODEL.pkl OUT.json

MODEL.pkl is a pickled (pickle or joblib) binary LogisticRegression, or a Pipeline ending in one,
optionally after a StandardScaler. OUT.json gets {"coefficients", "intercept"} and, with a
scaler, its "mean" and "scale". mlfaas then applies --transform (log0.1 or none) to each raw
value, standardizes with mean/scale, and scores sigmoid(coefficients . z + intercept): the
model must have been fitted on rows transformed the same way (e.g. numpy.log(x + 0.1)).
"""
import json
import pickle
import sys


def main(argv):
    if len(argv) != 3:
        print("usage: export_logreg.py MODEL.pkl OUT.json", file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        model = pickle.load(f)
    scaler = None
    if hasattr(model, "steps"):  # a Pipeline: [StandardScaler,] LogisticRegression
        steps = [s for _, s in model.steps if s not in (None, "passthrough")]
        if len(steps) == 2 and type(steps[0]).__name__ == "StandardScaler":
            scaler, model = steps
        elif len(steps) == 1:
            model = steps[0]
        else:
            print("export_logreg.py: the pipeline must be [StandardScaler,] LogisticRegression",
                  file=sys.stderr)
            return 1
    if type(model).__name__ != "LogisticRegression" or len(model.classes_) != 2:
        print("export_logreg.py: not a binary LogisticRegression", file=sys.stderr)
        return 1
    out = {"coefficients": [float(c) for c in model.coef_[0]],
           "intercept": float(model.intercept_[0])}
    if scaler is not None:
        out["mean"] = [float(m) for m in scaler.mean_]
        out["scale"] = [float(s) for s in scaler.scale_]
    with open(argv[2], "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
