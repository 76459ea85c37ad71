"""Anomaly detectors (issue #20): fit on 100,000 normal rows x 50 columns, then score 100,000
rows, for each of modelfab's shallow detectors beside PyOD's own of the same name in the same
run (the ratio is modelfab's time over PyOD's). Prints a table recorded in docs/benchmarks.md.

    python benchmarks/bench_detect.py                 # 100,000 x 50
    python benchmarks/bench_detect.py --rows 20000    # a smaller run
    python benchmarks/bench_detect.py --casting 400   # PatchCore on the casting images (N a class and folder)
    python benchmarks/bench_detect.py --reference     # kNN and LOF: the 20,000-row reference against all rows
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
    parser.add_argument("--casting", type=int, default=None, help="PatchCore on N casting images a class instead")
    parser.add_argument("--reference", action="store_true",
                        help="kNN and LOF with the default reference sample against every row, on subtler anomalies")
    parser.add_argument("--score-package", help=argparse.SUPPRESS)  # the child's part of --casting
    args = parser.parse_args()
    if args.score_package:
        return score_package(Path(args.score_package))
    if args.casting:
        return casting(args.casting)
    from pydantic import TypeAdapter
    from sklearn.metrics import roc_auc_score

    from modelfab.models import family
    from modelfab.spec.schema import TrainConfig

    X, test, truth = detection_rows(args.rows, args.columns, 1.5 if args.reference else 3.0)
    if args.reference:
        return reference(X, test, truth)
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
    if "autoencoder" not in args.skip:  # no peer run beside it: PyOD's AutoEncoder is another recipe
        rows.append(autoencoder(X, test, truth))
        print(rows[-1], flush=True)
    table(f"Detectors: fit on {args.rows:,} normal rows x {args.columns} columns, score {args.rows:,} rows, 2 cores "
          "(goal: <= 30 s each)", ["detector", "modelfab s", "peer", "peer s", "ratio", "ROC-AUC", "peer ROC-AUC"], rows)


def detection_rows(n: int, columns: int, shift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normal training rows; test rows of which 1% have a fifth of their columns shifted by `shift` sd."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, columns)).astype(np.float32)
    test = rng.normal(size=(n, columns)).astype(np.float32)
    truth = np.zeros(n, dtype=int)
    truth[: n // 100] = 1
    odd = (int(truth.sum()), columns)
    test[truth == 1] += rng.choice([-shift, shift], size=odd) * (rng.random(odd) < 0.2)
    return X, test, truth


def reference(X: np.ndarray, test: np.ndarray, truth: np.ndarray) -> None:
    """What `train.reference` (a sample of the normal rows as neighbours) costs in detection."""
    from pydantic import TypeAdapter
    from sklearn.metrics import roc_auc_score

    from modelfab.models import family
    from modelfab.spec.schema import TrainConfig

    found = []
    for kind in ("knn", "lof"):
        for kept in (20_000, None):
            config = TypeAdapter(TrainConfig).validate_python({"type": kind, "reference": kept})
            started = time.perf_counter()
            model = family(kind)(config, "anomaly", 2).fit(X, np.zeros(len(X), dtype=int))
            scores = model.predict_scores(test)[:, 1]
            found.append([kind, f"{kept:,}" if kept else f"all {len(X):,}", f"{time.perf_counter() - started:.1f}",
                          f"{roc_auc_score(truth, scores):.4f}"])
            print(found[-1], flush=True)
    table("Neighbour detectors: a reference sample against every row (a fifth of the columns shifted by 1.5 sd)",
          ["detector", "reference rows", "s", "ROC-AUC"], found)


def autoencoder(X: np.ndarray, test: np.ndarray, truth: np.ndarray) -> list[str]:
    """The dense autoencoder, 20 epochs at most, 10% of the rows watched for early stopping."""
    from pydantic import TypeAdapter
    from sklearn.metrics import roc_auc_score

    from modelfab.models import family
    from modelfab.spec.schema import TrainConfig

    config = TypeAdapter(TrainConfig).validate_python({"type": "autoencoder", "epochs": 20, "checkpoint_every": 0})
    cut = len(X) // 10
    started = time.perf_counter()
    model = family("autoencoder")(config, "anomaly", 2).fit(X[cut:], np.zeros(len(X) - cut, dtype=int), X[:cut],
                                                            np.zeros(cut, dtype=int))
    scores = model.predict_scores(test)[:, 1]
    seconds = time.perf_counter() - started
    return ["autoencoder (20 epochs)", f"{seconds:.1f}", "-", "-", "-", f"{roc_auc_score(truth, scores):.3f}", "-"]


def casting(per_class: int) -> None:
    """The casting-anomaly example on `per_class` images a class (train and test folders), from an
    empty store; then, in a fresh process, the package scoring 100 test images one at a time."""
    import json
    import shutil
    import subprocess

    from bench_tables import cli_run, copy_example

    folder = copy_example("casting-anomaly")
    subprocess.run([sys.executable, str(folder / "prepare.py"), "--per-class", str(per_class)], check=True)
    summary, wall = cli_run(folder)
    import resource

    run_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child: the run
    import modelfab

    run = modelfab.run(modelfab.load_spec(folder), hooks=[])
    package = run.store.path(run.refs["package"])
    out = subprocess.run([sys.executable, __file__, "--score-package", str(package)], capture_output=True, text=True,
                         check=True, cwd=folder)
    scored = json.loads(out.stdout.strip().splitlines()[-1])
    stages = summary["stages"]
    m = summary["metrics"]
    table(f"PatchCore on the casting images ({per_class} a class and folder; test without the copies of training "
          "images), 2 cores", ["figure", "value", "goal"], [
              ["test ROC-AUC", f"{m['roc_auc']:.4f}", ">= 0.98"], ["test PR-AUC", f"{m['pr_auc']:.4f}", ""],
              ["F1 at the threshold", f"{m['f1']:.4f}", ""],
              ["featurize s (the backbone over the training images)", f"{stages['featurize']['seconds']:.1f}", ""],
              ["train s (bank and coreset)", f"{stages['train']['seconds']:.1f}", ""],
              ["s per image, one at a time (backbone + bank)", f"{scored['per_image']:.3f}", "<= 1"],
              ["peak MB of the scoring process", f"{scored['peak_mb']:.0f}", "<= 4096"],
              ["peak MB of the run (featurize, bank, evaluate)", f"{run_peak:.0f}", "<= 4096"],
              ["run wall s", f"{wall:.0f}", ""]])
    shutil.rmtree(folder, ignore_errors=True)


def score_package(package: Path) -> None:
    import json
    import resource

    import pandas as pd

    from modelfab.package.predictor import Predictor

    predictor = Predictor(package)
    rows = pd.read_csv("data/test.csv").head(100)
    rows["path"] = [str(Path("data") / p) for p in rows["path"]]
    predictor.scores(rows.head(1))  # warm: the backbone loads once
    started = time.perf_counter()
    for i in range(len(rows)):
        predictor.scores(rows.iloc[[i]])
    per_image = (time.perf_counter() - started) / len(rows)
    print(json.dumps({"per_image": per_image, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
