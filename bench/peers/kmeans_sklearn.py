#!/usr/bin/env python3
"""Peer for bench/cluster.js: scikit-learn KMeans on the same data and the same initial centroids.

Usage: kmeans_sklearn.py DATA.bin INIT.bin N D K TOL MAX_ITER SIL_SAMPLE SEED [REPEATS] [ALGORITHMS] [EXTRAS]
DATA.bin is N x D float64 row-major (written by bench/cluster.js), INIT.bin K x D float64.
Prints one JSON object: per algorithm (lloyd, elkan) the fit seconds (best of REPEATS, default 3: the
machine is shared), the CPU seconds of that best fit (every thread, from getrusage), inertia and iterations, plus
silhouette_score(sample_size=SIL_SAMPLE) and PCA(2) seconds. Threads: sklearn's default (all cores); the bench
also runs it with OMP_NUM_THREADS=1 (threadpoolctl is not installed) for the single-thread CPU seconds.
ALGORITHMS: comma-separated, default lloyd,elkan; EXTRAS: 0 skips the silhouette and PCA timings (default 1).
"""
import json
import resource
import sys
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score


def main():
    data_path, init_path = sys.argv[1], sys.argv[2]
    n, d, k = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    tol, max_iter, sil_sample, seed = float(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
    repeats = int(sys.argv[10]) if len(sys.argv) > 10 else 3
    algorithms = sys.argv[11].split(",") if len(sys.argv) > 11 else ["lloyd", "elkan"]
    extras = sys.argv[12] != "0" if len(sys.argv) > 12 else True
    x = np.fromfile(data_path, dtype=np.float64).reshape(n, d)
    init = np.fromfile(init_path, dtype=np.float64).reshape(k, d)
    # warm-up on a small slice so thread pools and imports are not timed
    KMeans(n_clusters=k, init=init, n_init=1, max_iter=2).fit(x[: max(10 * k, 2000)])
    out = {"sklearn": sklearn.__version__, "numpy": np.__version__}
    for algorithm in algorithms:
        times = []
        cpus = []
        for _ in range(repeats):
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            m = KMeans(n_clusters=k, init=init, n_init=1, algorithm=algorithm, tol=tol, max_iter=max_iter).fit(x)
            times.append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        at = times.index(min(times))
        out[algorithm] = {"seconds": min(times), "all_seconds": times, "cpu_seconds": cpus[at], "inertia": float(m.inertia_), "iterations": int(m.n_iter_), "labels_head": m.labels_[:1000].tolist()}
    if not extras:
        print(json.dumps(out))
        return
    labels = m.labels_
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        sil = silhouette_score(x, labels, sample_size=sil_sample, random_state=seed)
        times.append(time.perf_counter() - t0)
    out["silhouette"] = {"seconds": min(times), "value": float(sil)}
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        p = PCA(n_components=2, random_state=seed).fit(x)
        p.transform(x)
        times.append(time.perf_counter() - t0)
    out["pca"] = {"seconds": min(times), "explained": p.explained_variance_ratio_.tolist()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
