"""Explanations (issue #19): exact SHAP for a large LightGBM model, LightGBM's own against
SHAP's TreeExplainer in the same run; additivity on every row. Prints a table recorded in
docs/benchmarks.md.

    python benchmarks/bench_explain.py                  # 500 trees, 100,000 rows x 100 features
    python benchmarks/bench_explain.py --rows 20000     # a smaller run
    python benchmarks/bench_explain.py --serve          # POST /explain against POST /predict, one AI4I row
    python benchmarks/bench_explain.py --faithfulness   # top-3 columns against 3 random ones (AI4I, steel plates)
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
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--trees", type=int, default=500)
    parser.add_argument("--shap-rows", type=int, default=None, help="rows for SHAP's TreeExplainer (default: all)")
    parser.add_argument("--serve", action="store_true", help="time POST /explain instead")
    parser.add_argument("--faithfulness", action="store_true", help="measure faithfulness instead")
    args = parser.parse_args()
    if args.serve:
        return serve_explain()
    if args.faithfulness:
        return faithfulness()
    import lightgbm as lgb
    import shap
    from pydantic import TypeAdapter

    from modelfab.models.gbm import LightGBMModel
    from modelfab.spec.schema import TrainConfig

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, args.features)).astype(np.float32)
    y = (X[:, :5].sum(axis=1) + 0.5 * rng.normal(size=args.rows) > 0).astype(int)
    config = TypeAdapter(TrainConfig).validate_python({"type": "lightgbm", "n_estimators": args.trees,
                                                       "early_stopping_rounds": None})
    model = LightGBMModel(config, "binary", 2)
    model.booster_ = lgb.train({"objective": "binary", "num_leaves": 31, "verbose": -1, "num_threads": 2},
                               lgb.Dataset(X, y), num_boost_round=args.trees)
    model.best_iteration_ = None
    started = time.perf_counter()
    c = model.contributions(X)
    ours = time.perf_counter() - started
    error = float(np.abs(c.base + c.values.sum(axis=1) - c.raw).max())
    n_shap = args.shap_rows or args.rows
    started = time.perf_counter()
    explainer = shap.TreeExplainer(model.booster_)
    theirs_values = explainer.shap_values(X[:n_shap], check_additivity=False)
    theirs = time.perf_counter() - started
    theirs_full = theirs * args.rows / n_shap
    agree = float(np.abs(np.asarray(theirs_values).reshape(n_shap, -1) - c.values[:n_shap, :, 0]).max())
    table(f"Exact SHAP, LightGBM binary, {args.trees} trees of 31 leaves, {args.rows:,} rows x {args.features} features, "
          "2 threads", ["method", "s", "ratio", "note"], [
              ["modelfab (LightGBM pred_contrib)", f"{ours:.1f}", "1.00", f"additivity: max error {error:.1e}"],
              [f"SHAP TreeExplainer ({n_shap:,} rows{', scaled to all' if n_shap < args.rows else ''})",
               f"{theirs_full:.1f}", f"{theirs_full / ours:.2f}", f"largest difference to ours {agree:.1e}"],
          ])


def serve_explain(requests: int = 400) -> None:
    """p50 of POST /explain and POST /predict for one AI4I row, in process (FastAPI's TestClient
    on both sides, so its overhead cancels in the ratio)."""
    import shutil
    import statistics

    from bench_tables import cli_run, copy_example
    from fastapi.testclient import TestClient

    import modelfab
    from modelfab.serve.app import create_app

    folder = copy_example("predictive-maintenance")
    cli_run(folder)
    project = modelfab.load_spec(folder)
    import pandas as pd

    csv = project.path(project.spec.data.source)
    row = pd.read_csv(csv).iloc[0].to_dict()
    timings = {}
    with TestClient(create_app(project, "predictive-maintenance@champion", api_key="k")) as server:
        inputs = server.app.state.holder.current.inputs
        record = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items() if k in inputs}
        for path, body in (("/predict", record), ("/explain", {"records": [record]})):
            for _ in range(50):
                server.post(path, json=body)
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                answer = server.post(path, json=body)
                times.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
            timings[path] = statistics.median(times) * 1000
    shutil.rmtree(folder, ignore_errors=True)
    base = timings["/predict"]
    table(f"One AI4I row, p50 of {requests} requests in process", ["endpoint", "ms", "ratio to /predict"],
          [[path, f"{ms:.2f}", f"{ms / base:.2f}"] for path, ms in timings.items()])


def faithfulness(max_rows: int = 500, draws: int = 5) -> None:
    """Replace each test row's 3 most attributed input columns by the training median (the mode
    for a category) and see how far the prediction moves, against 3 columns drawn at random
    (mean of `draws` draws); the prediction is the probability of the class predicted before."""
    import shutil

    from bench_tables import cli_run, copy_example

    import modelfab
    from modelfab.explain.compute import explain_frame
    from modelfab.package.predictor import Predictor

    rows_out = []
    for name in ("predictive-maintenance", "steel-plates"):
        folder = copy_example(name)
        cli_run(folder)
        run = modelfab.run(modelfab.load_spec(folder), hooks=[])  # all cached: the artifacts
        predictor = Predictor(run.store.path(run.refs["package"]))
        splits = run.load("splits")
        test = splits.test.head(max_rows)
        inputs = [c for c in predictor.meta["schema"]["features"]]
        started = time.perf_counter()
        done = explain_frame(predictor, test, "auto", splits.train.sample(20, random_state=0), 20)
        seconds = time.perf_counter() - started
        before = np.asarray(predictor.scores(test), dtype=float)
        chosen = before.argmax(axis=1)
        fill = {c: (splits.train[c].median() if np.issubdtype(splits.train[c].dtype, np.number)
                    else splits.train[c].mode().iloc[0]) for c in inputs}
        k = np.minimum(done.raw.argmax(axis=1), done.values.shape[2] - 1) if done.values.shape[2] > 1 \
            else np.zeros(len(test), dtype=int)
        strength = np.abs(done.values[np.arange(len(test)), :, k])  # (rows, columns) for the explained output
        column_of = {c: i for i, c in enumerate(done.columns)}
        rng = np.random.default_rng(0)

        ranked = [[done.columns[i] for i in np.argsort(-strength[r]) if done.columns[i] in fill][:3]
                  for r in range(len(test))]
        top = moved(predictor, test, fill, chosen, before, ranked)
        randoms = [moved(predictor, test, fill, chosen, before,
                         [list(rng.choice([c for c in inputs if c in column_of], 3, replace=False))
                          for _ in range(len(test))]) for _ in range(draws)]
        rows_out.append([name, len(test), done.method, f"{seconds:.1f}", f"{top:.4f}", f"{np.mean(randoms):.4f}",
                         f"{top / np.mean(randoms):.2f}"])
        shutil.rmtree(folder, ignore_errors=True)
    table("Faithfulness: how far the prediction moves when 3 columns are set to the training median",
          ["example", "test rows", "method", "explain s", "top 3 attributed", f"3 at random (mean of {draws})",
           "ratio (goal >= 2)"], rows_out)


def moved(predictor, test, fill: dict, chosen: np.ndarray, before: np.ndarray,  # noqa: ANN001
          pick: list[list[str]]) -> float:
    """Mean |change| of the chosen class's probability when each row's `pick` columns are filled."""
    changed = test.copy()
    for row, columns in enumerate(pick):
        for c in columns:
            changed.iloc[row, changed.columns.get_loc(c)] = fill[c]
    after = np.asarray(predictor.scores(changed), dtype=float)
    rows = np.arange(len(test))
    return float(np.mean(np.abs(after[rows, chosen] - before[rows, chosen])))


if __name__ == "__main__":
    main()
