"""The explain stage: contributions of each input column to the test rows' predictions, the
largest errors first, with global summaries and plots."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelfab.artifacts import DataReport, Explanation, ModelPackage, Splits, write_json
from modelfab.errors import ExplainError
from modelfab.explain.compute import Explained, explain_frame
from modelfab.package.predictor import Predictor
from modelfab.pipeline import stage
from modelfab.spec.sections.evaluate import ExplainConfig
from modelfab.tasks import get_task

MAPS_KEPT = 16


@stage("explain", outputs={"explanation": Explanation}, sections=("explain",),
       code=("modelfab.explain", "modelfab.models", "modelfab.package"))
def explain(package: ModelPackage, splits: Splits, report: DataReport, explain: ExplainConfig,
            ctx) -> Explanation:  # noqa: ANN001
    folder = ctx.folder()
    if not explain.enabled:
        write_json(folder / "explanation.json", {"skipped": "explain.enabled is false"})
        return Explanation(folder)
    if get_task(report.data["task"]).clusters:  # no error to explain: evaluate profiles each cluster instead
        write_json(folder / "explanation.json", {"skipped": "a clustering is described by its clusters' profiles "
                                                 "and representative rows (the evaluation), not by errors"})
        return Explanation(folder)
    predictor = Predictor(package.path)
    test = splits.test
    n = explain.rows if _cheap(predictor) or explain.method == "exact" else min(explain.rows, explain.permutation_rows)
    rows = worst_first(predictor, test, report.data, n)
    background = splits.train.sample(min(explain.background, len(splits.train)), random_state=0)
    try:
        done = explain_frame(predictor, test, explain.method, background, explain.background,
                             pick=test.index.get_indexer(rows.index), steps=explain.steps)
    except ExplainError as exc:
        if explain.method != "auto":
            raise
        write_json(folder / "explanation.json", {"skipped": str(exc)})  # said in the run summary
        return Explanation(folder)
    from modelfab.explain.plots import write_plots
    from modelfab.explain.views import views

    shown = views(predictor, done, rows)
    write_json(folder / "explanation.json", summary(done, rows, report.data) | shown.summary())
    if done.maps is not None:  # the worst rows' maps: what the report shows, not 200 images' worth
        np.save(folder / "maps.npy", done.maps[:MAPS_KEPT].astype(np.float16), allow_pickle=False)
    write_plots(folder / "plots", done, rows, shown)
    return Explanation(folder)


def _cheap(predictor: Predictor) -> bool:
    """Whether every test row the spec asks for can be explained: exact values, or a net's
    gradients on a table, pixels or sensor windows (not through a backbone or a language model)."""
    if predictor.members:  # a blend of classifiers is explained by permutation
        return predictor.task == "regression" and all(_cheap(member) for _, member in predictor.members)
    layout = (predictor.meta.get("layout") or {"kind": "flat"})["kind"]
    nets = hasattr(predictor.model, "nets_")
    cheap_nets = nets and layout in ("flat", "image", "sequence")
    return predictor.model.has_contributions or cheap_nets or hasattr(predictor.model, "anomaly_maps")


def worst_first(predictor: Predictor, test: pd.DataFrame, report: dict, n: int) -> pd.DataFrame:
    """The `n` test rows the model gets most wrong, worst first."""
    scores = predictor.scores(test, source="test rows")
    task = get_task(report["task"])
    y = test[report["target"]]
    if task.has_classes:
        codes = task.encode_target(y, report["classes"])
        error = 1 - np.asarray(scores)[np.arange(len(codes)), codes]
    else:
        error = np.abs(np.asarray(scores, dtype=float).ravel() - y.to_numpy(dtype=float))
    order = np.argsort(-error, kind="stable")[:n]
    return test.iloc[order].assign(__error__=error[order])


def summary(done: Explained, rows: pd.DataFrame, report: dict) -> dict:
    magnitude = _mean_abs(done.values)
    by_feature = _mean_abs(done.feature_values)
    return {
        "method": done.method, "space": done.space, "outputs": done.outputs,
        "base": _finite(np.nanmean(done.base, axis=0)),
        "global": {
            "inputs": dict(sorted(zip(done.columns, magnitude.tolist(), strict=True), key=lambda kv: -kv[1])),
            "features": dict(sorted(zip(done.features, by_feature.tolist(), strict=True), key=lambda kv: -kv[1])),
        },
        "rows": [
            {"line": int(line), "target": _plain(rows[report["target"]].iloc[i]), "error": float(rows["__error__"].iloc[i]),
             "raw": done.raw[i].tolist(), "base": done.base[i].tolist(), "shown": done.outputs[done.chosen()[i]],
             "contributions": {o: dict(zip(done.columns, _finite(done.values[i, :, j]), strict=True))
                               for j, o in enumerate(done.outputs) if not np.isnan(done.values[i, :, j]).all()}}
            for i, line in enumerate(rows.index[:len(done.raw)])
        ],
    }


def _mean_abs(values: np.ndarray) -> np.ndarray:
    """Mean |value| per column over rows and outputs, leaving out outputs a method did not explain."""
    if np.isnan(values).all():
        return np.zeros(values.shape[1])
    return np.nan_to_num(np.nanmean(np.abs(values), axis=(0, 2)))


def _finite(values: np.ndarray) -> list:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, dtype=float).ravel()]


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value
