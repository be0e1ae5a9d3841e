#!/usr/bin/python3
"""Peers for bench/tables.js: scikit-learn on a labelled per-user table, on cohortlab's own split.

Usage: /usr/bin/python3 bench/peers/tables_sklearn.py TABLE LABEL POSITIVE ID SPLIT_CSV [DROP,...]
SPLIT_CSV has columns id,role (role train | validation | test) from cohortlab's seeded stratified split
(readChurnTable, seed 0: 20% test, then 20% of the rest validation). The peers train on train + validation
(the 80% of an 80/20 split) and are scored on the test ids. Identifier columns are dropped; text columns
one-hot encoded (pandas get_dummies); numbers parsed, blanks filled with the training median.
Prints one JSON object per model: {"name", "auc", "train_seconds"}.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

table, label, positive, idcol, split_csv = sys.argv[1:6]
drop = [c for c in (sys.argv[6].split(",") if len(sys.argv) > 6 else []) if c]
df = pd.read_csv(table, dtype=str, keep_default_na=False)
split = pd.read_csv(split_csv, dtype=str, keep_default_na=False)
role = dict(zip(split["id"], split["role"]))
if idcol == "":  # no id column: cohortlab keys the rows row1, row2, ... in file order
    idcol = "_row"
    df[idcol] = [f"row{i + 1}" for i in range(len(df))]
df["_role"] = df[idcol].map(role)
if df["_role"].isna().any():
    raise SystemExit(f"{df['_role'].isna().sum()} rows of {table} have no role in {split_csv}")
y = (df[label].str.strip() == positive).astype(int).to_numpy()
feats = df.drop(columns=[label, idcol, "_role", *drop])
num = {}
for c in feats.columns:
    v = pd.to_numeric(feats[c].str.strip().replace("", np.nan), errors="coerce")
    if v.notna().sum() >= 0.95 * (feats[c].str.strip() != "").sum() and v.notna().any():
        num[c] = v
    else:
        num[c] = None
fit_rows = (df["_role"] != "test").to_numpy()
cols = {}
for c, v in num.items():
    if v is not None:
        cols[c] = v.fillna(v[fit_rows].median())
x = pd.DataFrame(cols)
text = [c for c, v in num.items() if v is None]
if text:
    x = pd.concat([x, pd.get_dummies(feats[text], dtype=float)], axis=1)
x = x.to_numpy(dtype=float)
test = ~fit_rows


def run(name, model):
    t0 = time.perf_counter()
    model.fit(x[fit_rows], y[fit_rows])
    t1 = time.perf_counter()
    p = model.predict_proba(x[test])[:, 1]
    print(json.dumps({"name": name, "auc": float(roc_auc_score(y[test], p)), "train_seconds": t1 - t0, "features": int(x.shape[1])}), flush=True)


run("sklearn LogisticRegression (C=1)", make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)))
run("sklearn HistGradientBoostingClassifier", HistGradientBoostingClassifier(random_state=0))
