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


@stage("explain", outputs={"explanation": Explanation}, sections=("explain",),
       code=("modelfab.explain", "modelfab.models", "modelfab.package"))
def explain(package: ModelPackage, splits: Splits, report: DataReport, explain: ExplainConfig,
            ctx) -> Explanation:  # noqa: ANN001
    folder = ctx.folder()
    if not explain.enabled or report.data.get("image"):
        reason = "explain.enabled is false" if not explain.enabled else "image models: gradient attributions are not built yet"
        write_json(folder / "explanation.json", {"skipped": reason})
        return Explanation(folder)
    predictor = Predictor(package.path)
    test = splits.test
    exact = _has_exact(predictor) or explain.method == "exact"
    rows = worst_first(predictor, test, report.data, explain.rows if exact else min(explain.rows, explain.permutation_rows))
    background = splits.train.sample(min(explain.background, len(splits.train)), random_state=0)
    try:
        done = explain_frame(predictor, test, explain.method, background, explain.background,
                             pick=test.index.get_indexer(rows.index))
    except ExplainError as exc:
        if explain.method != "auto":
            raise
        write_json(folder / "explanation.json", {"skipped": str(exc)})  # said in the run summary
        return Explanation(folder)
    write_json(folder / "explanation.json", summary(done, rows, report.data))
    from modelfab.explain.plots import write_plots

    write_plots(folder / "plots", done, rows)
    return Explanation(folder)


def _has_exact(predictor: Predictor) -> bool:
    if predictor.members:
        return all(_has_exact(member) for _, member in predictor.members)
    return predictor.model.has_contributions


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
    magnitude = np.abs(done.values).mean(axis=(0, 2))
    by_feature = np.abs(done.feature_values).mean(axis=(0, 2))
    return {
        "method": done.method, "space": done.space, "outputs": done.outputs, "base": done.base.tolist(),
        "global": {
            "inputs": dict(sorted(zip(done.columns, magnitude.tolist(), strict=True), key=lambda kv: -kv[1])),
            "features": dict(sorted(zip(done.features, by_feature.tolist(), strict=True), key=lambda kv: -kv[1])),
        },
        "rows": [
            {"line": int(line), "target": _plain(rows[report["target"]].iloc[i]), "error": float(rows["__error__"].iloc[i]),
             "raw": done.raw[i].tolist(),
             "contributions": {o: dict(zip(done.columns, done.values[i, :, j].tolist(), strict=True))
                               for j, o in enumerate(done.outputs)}}
            for i, line in enumerate(rows.index[:len(done.raw)])
        ],
    }


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value
