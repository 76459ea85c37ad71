"""Explanations (issue #19): exact SHAP for a large LightGBM model, LightGBM's own against
SHAP's TreeExplainer in the same run; additivity on every row. Prints a table recorded in
docs/benchmarks.md.

    python benchmarks/bench_explain.py                  # 500 trees, 100,000 rows x 100 features
    python benchmarks/bench_explain.py --rows 20000     # a smaller run
    python benchmarks/bench_explain.py --serve          # POST /explain against POST /predict, one AI4I row
    python benchmarks/bench_explain.py --faithfulness   # top-3 columns against 3 random ones (AI4I, steel plates)
    python benchmarks/bench_explain.py --gradients      # one 224x224 image through EfficientNet-Lite0: time, peak memory
    python benchmarks/bench_explain.py --images         # NEU: masking the top 10% pixels against 10% at random
    python benchmarks/bench_explain.py --report         # what the report (and its intervals) add to a run
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
    parser.add_argument("--gradients", action="store_true", help="Integrated Gradients on one large image instead")
    parser.add_argument("--images", action="store_true", help="faithfulness of image heat maps (NEU) instead")
    parser.add_argument("--report", action="store_true", help="time the report's part of a run instead")
    parser.add_argument("--one-image", choices=["batched", "unbatched"], help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    if args.one_image:
        return one_image(args.one_image == "batched")
    if args.serve:
        return serve_explain()
    if args.faithfulness:
        return faithfulness()
    if args.gradients:
        return gradients()
    if args.images:
        return image_faithfulness()
    if args.report:
        return report_cost()
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
        randoms = np.array([moved(predictor, test, fill, chosen, before,
                                  [list(rng.choice([c for c in inputs if c in column_of], 3, replace=False))
                                   for _ in range(len(test))]) for _ in range(draws)]).mean(axis=0)
        for space, a, b in zip(("probability", "log-odds"), top, randoms, strict=True):
            rows_out.append([name, len(test), done.method, f"{seconds:.1f}", space, f"{a:.4f}", f"{b:.4f}",
                             f"{a / b:.2f}"])
        shutil.rmtree(folder, ignore_errors=True)
    table("Faithfulness: how far the prediction moves when 3 columns are set to the training median",
          ["example", "test rows", "method", "explain s", "moved in", "top 3 attributed",
           f"3 at random (mean of {draws})", "ratio (goal >= 2)"], rows_out)


def moved(predictor, test, fill: dict, chosen: np.ndarray, before: np.ndarray,  # noqa: ANN001
          pick: list[list[str]]) -> tuple[float, float]:
    """Mean |change| of the chosen class's probability, and of its log-odds, when each row's
    `pick` columns are filled. Log-odds is a tree model's explained space: a confident row whose
    probability moves from 0.999 to 0.99 has moved ten times in it."""
    changed = test.copy()
    for row, columns in enumerate(pick):
        for c in columns:
            changed.iloc[row, changed.columns.get_loc(c)] = fill[c]
    after = np.asarray(predictor.scores(changed), dtype=float)
    rows = np.arange(len(test))
    a, b = after[rows, chosen], before[rows, chosen]

    def logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-9, 1 - 1e-9)
        return np.log(p / (1 - p))

    return float(np.mean(np.abs(a - b))), float(np.mean(np.abs(logit(a) - logit(b))))


def backbone_model(tune_blocks: int = 2, classes: int = 6):  # noqa: ANN201
    """An EfficientNet-Lite0 package's model as the steel-defects example trains it (tune_blocks
    2); its head untrained: the attribution's cost does not depend on the weights' values."""
    from pydantic import TypeAdapter

    from modelfab.features.images import _front
    from modelfab.models import make_model
    from modelfab.spec.schema import TrainConfig

    shape = list(_front(tune_blocks).output_shape(224))
    n = int(np.prod(shape))
    layout = {"kind": "embedding", "tune_blocks": tune_blocks, "shape": shape, "index": list(range(n)), "static": []}
    config = TypeAdapter(TrainConfig).validate_python({"type": "efficientnet_lite0"})
    model = make_model(config, "multiclass", classes, layout=layout)
    model.nets_ = [model.build(layout, n, classes).eval()]
    model.layout_, model.n_features_, model.n_out_, model.target_scale_ = layout, n, classes, (0.0, 1.0)
    return model, [f"image#act{k}" for k in range(n)]


def one_image(batched: bool) -> None:
    """In a fresh process: IG for one 224x224 image; prints seconds and the peak memory (MB)."""
    import json
    import resource

    import torch

    import modelfab.explain.gradients as g
    from modelfab.features.images import _front

    torch.set_num_threads(2)
    model, names = backbone_model()
    rng = np.random.default_rng(0)
    image = rng.random((1, 3, 224, 224)).astype(np.float32)
    back = rng.random((4, 3, 224, 224)).astype(np.float32)
    with torch.no_grad():
        X = _front(2)(g._scaled(image)).numpy()
        B = _front(2)(g._scaled(back)).numpy()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not batched:
        g.IMAGE_BATCH = 10_000  # every point of the path in one pass, as Captum does by default
    started = time.perf_counter()
    done = g.integrated_gradients(model, X, B, 32, image, back, np.array([0]), names, "image")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gap = float(np.abs(done.base[0, 0] + np.nansum(done.values[0, :, 0]) - done.raw[0, 0]))
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "before_mb": before, "gap": gap,
                      "map": list(done.maps.shape)}))


def gradients() -> None:
    """Integrated Gradients (32 steps) on one 224x224 image through EfficientNet-Lite0 (the first
    14 blocks frozen, 2 tuned), each in a fresh process: modelfab's 8 points per pass against
    all 32 at once."""
    import json
    import subprocess

    rows = []
    results = {}
    for mode in ("batched", "unbatched"):
        out = subprocess.run([sys.executable, __file__, "--one-image", mode], capture_output=True, text=True, check=True)
        results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results["batched"]
    for mode, r in results.items():
        label = "modelfab (8 points per pass)" if mode == "batched" else "all 32 points in one pass"
        rows.append([label, f"{r['seconds']:.2f}", f"{r['seconds'] / base['seconds']:.2f}", f"{r['peak_mb']:.0f}",
                     f"{r['peak_mb'] / base['peak_mb']:.2f}", f"{r['peak_mb'] - r['before_mb']:.0f}", f"{r['gap']:.3g}"])
    table("Integrated Gradients, one 224x224 image through EfficientNet-Lite0, 32 steps, 2 threads (goal: <= 10 s, "
          "<= 2 GB peak)", ["run", "s", "ratio", "peak MB", "ratio", "MB added by IG", "completeness gap"], rows)


def image_faithfulness(per_class: int = 60, steps: int = 16) -> None:
    """NEU-CLS, the frozen-backbone example trained on `per_class` images a class: for each test
    image, set the 10% of pixels with the largest attribution to the true class to the baseline
    (the mean training image) and see how far the true class's probability drops, against 10%
    of pixels at random (the same baseline)."""
    import shutil
    import subprocess

    import torch

    import modelfab
    from modelfab.explain.compute import explain_frame
    from modelfab.explain.gradients import _scaled
    from modelfab.features.images import _front, load_image
    from modelfab.package.predictor import Predictor

    root = Path(__file__).resolve().parents[1] / "examples"
    folder = root / ".bench-neu"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(root / "steel-defects", folder, ignore=shutil.ignore_patterns(".fab", "data"))
    subprocess.run([sys.executable, str(folder / "prepare.py"), "--per-class", str(per_class)], check=True,
                   capture_output=True)
    spec = folder / "fab.frozen.yaml"
    spec.write_text(spec.read_text().replace("min: 0.98", "min: 0.0") + f"explain: {{enabled: false, steps: {steps}}}\n")
    run = modelfab.run(modelfab.load_spec(spec), hooks=[])
    predictor = Predictor(run.store.path(run.refs["package"]))
    splits = run.load("splits")
    test, column = splits.test, "path"
    truth = np.array([predictor.classes.index(v) for v in test["defect"]])
    started = time.perf_counter()
    done = explain_frame(predictor, test, "auto", splits.train.sample(10, random_state=0), 10, steps=steps,
                         targets=truth)
    seconds = time.perf_counter() - started
    images = np.stack([load_image(str(p), 224, 3) for p in test[column]])
    baseline = np.stack([load_image(str(p), 224, 3) for p in splits.train.sample(10, random_state=0)[column]]).mean(0)
    front, nets = _front(0), predictor.model.nets_

    def proba(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            z = front(_scaled(batch))
            return np.mean([torch.softmax(net(z), 1).numpy() for net in nets], axis=0)

    rows = np.arange(len(test))
    p0 = proba(images)[rows, truth]
    k = int(0.1 * 224 * 224)
    top, rand = images.copy(), images.copy()
    rng = np.random.default_rng(0)
    for i in rows:
        flat = np.argsort(-done.maps[i].ravel())[:k]
        chosen = rng.choice(224 * 224, k, replace=False)
        for target, where in ((top, flat), (rand, chosen)):
            r, c = np.unravel_index(where, (224, 224))
            target[i][:, r, c] = baseline[:, r, c]
    drop_top = float(np.mean(p0 - proba(top)[rows, truth]))
    drop_rand = float(np.mean(p0 - proba(rand)[rows, truth]))
    shutil.rmtree(folder, ignore_errors=True)
    table(f"Faithfulness of heat maps, NEU-CLS ({per_class} images a class, frozen EfficientNet-Lite0 head), "
          f"{len(test)} test images, IG {steps} steps", ["masked (to the mean image)", "drop of P(true class)", "ratio"],
          [["top 10% pixels by attribution", f"{drop_top:.4f}", f"{drop_top / drop_rand:.2f}" if drop_rand > 0 else "-"],
           ["10% of pixels at random", f"{drop_rand:.4f}", "1.00"],
           ["(explain seconds)", f"{seconds:.1f}", f"{seconds / len(test):.2f} s per image"]])


def report_cost(repeats: int = 3) -> None:
    """The predictive-maintenance example from an empty store, `repeats` times: the report stage's
    seconds, and the evaluate stage with its bootstrap intervals and calibration plot against
    `evaluate: {bootstrap: 0, plots: false}` (the explain stage is left out, as the goal says)."""
    import shutil
    import statistics

    from bench_tables import cli_run, copy_example

    variants = {"evaluate, no intervals": {"bootstrap": 0}, "evaluate, no intervals or plots":
                {"bootstrap": 0, "plots": "false"}}
    seconds: dict[str, list[float]] = {"report": [], "evaluate": [], **{name: [] for name in variants},
                                       "run (wall)": []}
    for _ in range(repeats):
        folder = copy_example("predictive-maintenance")
        summary, wall = cli_run(folder)
        seconds["report"].append(summary["stages"]["report"]["seconds"])
        seconds["evaluate"].append(summary["stages"]["evaluate"]["seconds"])
        seconds["run (wall)"].append(wall)
        shutil.rmtree(folder, ignore_errors=True)
    folder = copy_example("predictive-maintenance")
    spec = folder / "fab.yaml"
    text = spec.read_text()
    for name, options in variants.items():
        for _ in range(repeats):
            shutil.rmtree(folder / ".fab", ignore_errors=True)
            spec.write_text(_with_evaluate(text, options))
            summary, _ = cli_run(folder)
            seconds[name].append(summary["stages"]["evaluate"]["seconds"])
    shutil.rmtree(folder, ignore_errors=True)
    rows = [[name, f"{statistics.median(v):.3f}"] for name, v in seconds.items()]
    table(f"The report's part of a predictive-maintenance run (median of {repeats} runs from an empty store)",
          ["stage", "s"], rows)


def _with_evaluate(text: str, options: dict) -> str:
    """The spec with `options` added to its block-style evaluate section (or a new one)."""
    lines = text.splitlines()
    if "evaluate:" not in lines:
        return text + "\nevaluate:\n" + "".join(f"  {k}: {v}\n" for k, v in options.items())
    at = lines.index("evaluate:") + 1
    return "\n".join(lines[:at] + [f"  {k}: {v}" for k, v in options.items()] + lines[at:]) + "\n"


if __name__ == "__main__":
    main()
