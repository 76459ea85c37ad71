"""Anomaly detectors (issue #20): fit on 100,000 normal rows x 50 columns, then score 100,000
rows, for each of modelfab's shallow detectors beside PyOD's own of the same name in the same
run (the ratio is modelfab's time over PyOD's). Prints a table recorded in docs/benchmarks.md.

    python benchmarks/bench_detect.py                 # 100,000 x 50
    python benchmarks/bench_detect.py --rows 20000    # a smaller run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tables import table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--skip", nargs="*", default=[], help="detectors to leave out")
    args = parser.parse_args()
    from pydantic import TypeAdapter
    from sklearn.metrics import roc_auc_score

    from modelfab.models import family
    from modelfab.spec.schema import TrainConfig

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, args.columns)).astype(np.float32)
    test = rng.normal(size=(args.rows, args.columns)).astype(np.float32)
    truth = np.zeros(args.rows, dtype=int)
    truth[: args.rows // 100] = 1
    odd = (int(truth.sum()), args.columns)  # 1% of rows: a fifth of their columns shifted by 3 sd
    test[truth == 1] += rng.choice([-3.0, 3.0], size=odd) * (rng.random(odd) < 0.2)
    peers = {"isolation_forest": ("pyod.models.iforest", "IForest", {"n_estimators": 300, "n_jobs": -1}),
             "lof": ("pyod.models.lof", "LOF", {"n_neighbors": 20, "n_jobs": -1}),
             "knn": ("pyod.models.knn", "KNN", {"n_neighbors": 10, "method": "mean", "n_jobs": -1}),
             "ecod": ("pyod.models.ecod", "ECOD", {"n_jobs": 1})}
    rows = []
    for kind, (module, name, options) in peers.items():
        if kind in args.skip:
            continue
        config = TypeAdapter(TrainConfig).validate_python({"type": kind})
        started = time.perf_counter()
        model = family(kind)(config, "anomaly", 2).fit(X, np.zeros(len(X), dtype=int))
        scores = model.predict_scores(test)[:, 1]
        ours = time.perf_counter() - started
        import importlib

        peer = getattr(importlib.import_module(module), name)(**options)
        started = time.perf_counter()
        peer.fit(X)
        theirs_scores = peer.decision_function(test)
        theirs = time.perf_counter() - started
        rows.append([kind, f"{ours:.1f}", f"PyOD {name}", f"{theirs:.1f}", f"{ours / theirs:.2f}",
                     f"{roc_auc_score(truth, scores):.3f}", f"{roc_auc_score(truth, theirs_scores):.3f}"])
        print(rows[-1], flush=True)
    table(f"Detectors: fit on {args.rows:,} normal rows x {args.columns} columns, score {args.rows:,} rows, 2 cores "
          "(goal: <= 30 s each)", ["detector", "modelfab s", "peer", "peer s", "ratio", "ROC-AUC", "peer ROC-AUC"], rows)


if __name__ == "__main__":
    main()
