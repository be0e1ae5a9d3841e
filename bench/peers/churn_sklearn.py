#!/usr/bin/python3
"""Peers for bench/churn.js: the same simulated split, scored by scikit-learn and xgboost.

Usage: /usr/bin/python3 bench/peers/churn_sklearn.py DIR
DIR holds meta.json ({rows, cols, train, valid, test}: row counts, in that order), x.f32 (row-major
float32, little endian) and y.u8 (0/1). Prints one JSON object per model on stdout:
{"name", "auc", "train_seconds", "predict_seconds"}.
"""
import json
import sys
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

d = sys.argv[1]
meta = json.load(open(f"{d}/meta.json"))
x = np.fromfile(f"{d}/x.f32", dtype="<f4").reshape(meta["rows"], meta["cols"]).astype(np.float64)
y = np.fromfile(f"{d}/y.u8", dtype=np.uint8)
a, b = meta["train"], meta["train"] + meta["valid"]
xtr, ytr, xva, yva, xte, yte = x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:]


def run(name, fit, predict):
    t0 = time.perf_counter()
    model = fit()
    t1 = time.perf_counter()
    p = predict(model)
    t2 = time.perf_counter()
    print(json.dumps({"name": name, "auc": float(roc_auc_score(yte, p)), "train_seconds": t1 - t0, "predict_seconds": t2 - t1}), flush=True)


# LR and HistGradientBoosting fit on training + validation rows (the 80% an 80/20 split trains on; HGB
# early-stops on its own internal 10% above 10,000 rows); xgboost early-stops on the validation rows.
xtv, ytv = x[:b], y[:b]
run("sklearn LogisticRegression",
    lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(xtv, ytv),
    lambda m: m.predict_proba(xte)[:, 1])
run("sklearn HistGradientBoostingClassifier",
    lambda: HistGradientBoostingClassifier(random_state=0).fit(xtv, ytv),
    lambda m: m.predict_proba(xte)[:, 1])
try:
    import xgboost as xgb

    def fit_xgb():
        m = xgb.XGBClassifier(n_estimators=1000, learning_rate=0.05, max_depth=6, tree_method="hist",
                              early_stopping_rounds=30, n_jobs=2, random_state=0, eval_metric="logloss")
        return m.fit(xtr, ytr, eval_set=[(xva, yva)], verbose=False)

    run("xgboost XGBClassifier", fit_xgb, lambda m: m.predict_proba(xte)[:, 1])
except ImportError as e:
    print(json.dumps({"name": "xgboost XGBClassifier", "error": str(e)}), flush=True)
