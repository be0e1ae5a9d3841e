#!/usr/bin/python3
"""Peers for bench/gbdt.js: scikit-learn HistGradientBoostingClassifier (early_stopping=False, max_iter=100,
learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=0: the settings of our GBDT run)
and LogisticRegression(C=1, tol=1e-10, lbfgs) on the standardized design, on the same rows.

Usage: /usr/bin/python3 bench/peers/gbdt_sklearn.py DIR   (DIR: meta.json {rows, cols, train}, x.f32, y.u8)
Prints one JSON object per model: {"name", "auc", "train_seconds", "predict_seconds"}.
"""
import json, sys, time
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

d = sys.argv[1]
meta = json.load(open(f"{d}/meta.json"))
x = np.fromfile(f"{d}/x.f32", dtype="<f4").reshape(meta["rows"], meta["cols"]).astype(np.float64)
y = np.fromfile(f"{d}/y.u8", dtype=np.uint8)
a = meta["train"]
xtr, ytr, xte, yte = x[:a], y[:a], x[a:], y[a:]


def run(name, fit, predict):
    t0 = time.perf_counter()
    model = fit()
    t1 = time.perf_counter()
    p = predict(model)
    t2 = time.perf_counter()
    print(json.dumps({"name": name, "auc": float(roc_auc_score(yte, p)), "train_seconds": t1 - t0, "predict_seconds": t2 - t1}), flush=True)


run("sklearn HistGradientBoostingClassifier",
    lambda: HistGradientBoostingClassifier(early_stopping=False, max_iter=100, learning_rate=0.1, max_leaf_nodes=31,
                                           min_samples_leaf=20, l2_regularization=0.0, random_state=0).fit(xtr, ytr),
    lambda m: m.predict_proba(xte)[:, 1])
sc = StandardScaler().fit(xtr)
run("sklearn LogisticRegression (lbfgs, tol 1e-10)",
    lambda: LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(sc.transform(xtr), ytr),
    lambda m: m.predict_proba(sc.transform(xte))[:, 1])
