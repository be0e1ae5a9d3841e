#!/usr/bin/env python3
"""Peer for bench/retention.js: statsmodels SurvfuncRight per group and survdiff on the same durations.

Usage: km_statsmodels.py DURATIONS.bin CHURNED.bin GROUPS.bin N [REPEATS]
The three files are N values each (float64 durations, uint8 churn flags, int32 group ids), written by bench/retention.js.
Prints one JSON object: the best of REPEATS (default 3) seconds for the curves (SurvfuncRight of every group, with
quantile(0.5) and quantile_ci(0.5)) and for survdiff, the log-rank chi-square, and each group's survival at its last
churn time (bench/retention.js compares them with its own to 1e-9).
"""
import json
import sys
import time

import numpy as np
import statsmodels
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

t = np.fromfile(sys.argv[1], dtype=np.float64)
d = np.fromfile(sys.argv[2], dtype=np.uint8).astype(np.float64)
g = np.fromfile(sys.argv[3], dtype=np.int32)
n = int(sys.argv[4])
repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 3
assert len(t) == n and len(d) == n and len(g) == n
groups = sorted(set(g.tolist()))


def curves():
    out = []
    for k in groups:
        m = g == k
        sf = SurvfuncRight(t[m], d[m])
        sf.quantile(0.5)
        sf.quantile_ci(0.5)
        out.append(float(sf.surv_prob[-1]))
    return out


best_curves = best_test = float("inf")
for _ in range(repeats):
    t0 = time.perf_counter()
    last = curves()
    best_curves = min(best_curves, time.perf_counter() - t0)
    t0 = time.perf_counter()
    chisq, p = survdiff(t, d, g)
    best_test = min(best_test, time.perf_counter() - t0)
print(json.dumps({"statsmodels": statsmodels.__version__, "curves_seconds": best_curves, "logrank_seconds": best_test, "chi_square": float(chisq), "last_survival": last}))
