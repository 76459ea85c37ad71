"""Evaluate: score the packaged model end to end on the test rows (raw columns in, predictions
out), with per-class detail, optional cross-validation, importance and plots."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelfab.artifacts import DataReport, Evaluation, ModelPackage, Splits, write_json
from modelfab.data.ingest import remaining_life
from modelfab.evaluate import metrics
from modelfab.features.featurize import encode_target
from modelfab.package.predictor import Predictor
from modelfab.pipeline import stage
from modelfab.spec.schema import DataConfig, GateConfig
from modelfab.tasks import get_task


def test_rows(splits: Splits, data: DataConfig) -> pd.DataFrame:
    """The rows that are scored: all test rows, or each entity's last one (RUL's convention)."""
    test = splits.test
    if data.test and data.test.rows == "last":
        order = test.sort_values([c for c in (data.entity, data.time) if c], kind="stable")
        return test.loc[order.groupby(data.entity, sort=False).tail(1).index]
    return test


def score_package(predictor: Predictor, splits: Splits, report: dict, data: DataConfig) -> tuple[dict, np.ndarray, np.ndarray]:
    """Metrics of a package on the scored test rows (`data.test`, `data.entity`, `data.time`
    say which); windows see each entity's whole history."""
    test = splits.test
    scores = predictor.scores(test, source="test rows")
    rows = test_rows(splits, data)
    position = test.index.get_indexer(rows.index)
    y = encode_target(rows[report["target"]], report)
    s = scores[position]
    return metrics.compute(report["task"], y, s, predictor.meta["threshold"]), y, s


def near_end_validation(predictor: Predictor, splits: Splits, data: DataConfig) -> dict:
    """RMSE, MAE and bias over the validation entities' rows at most `horizon` steps before
    their end, against their true remaining life (the split caps only what is trained on).

    The pipeline's own validation figure covers every row with the capped target; most rows are
    early-life ones whose answer is simply the cap, so it flatters a model on the question a test
    of units stopped before failure asks."""
    horizon = data.remaining_life.horizon
    if predictor.meta.get("trained_on_validation"):
        return {"horizon": horizon, "skipped": "the model was refitted on the validation rows "
                "(train.refit_full or an ensemble), so they are not held out"}
    return near_end_scores(predictor, splits.valid, data.entity, data.time, horizon, "validation rows")


def near_end_scores(predictor: Predictor, frame: pd.DataFrame, entity: str, time: str, horizon: float,
                    source: str) -> dict:
    """The figures above for any units observed to their end. Windows still see each entity's
    whole history: every row is predicted, the rows near the end are scored."""
    truth = remaining_life(frame, entity, time).to_numpy()
    near = truth <= horizon
    if not near.any():
        return {"horizon": horizon, "skipped": f"no {source}"}
    error = np.asarray(predictor.scores(frame, source=source), dtype=float).ravel()[near] - truth[near]
    return {"horizon": horizon, "rows": int(near.sum()), "entities": int(frame[entity][near].nunique()),
            "rmse": float(np.sqrt(np.mean(error**2))), "mae": float(np.mean(np.abs(error))),
            "bias": float(np.mean(error))}


def primary_metric(gate: GateConfig, task: str) -> str:
    for rule in gate.rules:
        if rule.metric in metrics.METRICS_BY_TASK[task]:
            return rule.metric
    return metrics.DEFAULT_METRIC[task]


# Cross-validation fits the pipeline's own recipe afresh in each fold, so it reads what
# featurize and train read.
@stage("evaluate", outputs={"evaluation": Evaluation},
       sections=("evaluate", "gate", "data", "split", "clean", "features", "train"),
       code=("modelfab.features", "modelfab.models", "modelfab.nn", "modelfab.package"))
def evaluate(package: ModelPackage, splits: Splits, report: DataReport, ctx) -> Evaluation:  # noqa: ANN001
    spec, rep, cfg = ctx.spec, report.data, ctx.spec.evaluate
    predictor = Predictor(package.path)
    if get_task(rep["task"]).clusters:
        return evaluate_clusters(predictor, splits, rep, ctx)
    scores_, y, s = score_package(predictor, splits, rep, spec.data)
    result = {
        "task": rep["task"], "rows": len(y), "metrics": scores_, "primary": primary_metric(spec.gate, rep["task"]),
        "threshold": predictor.meta["threshold"],
        **metrics.details(rep["task"], y, s, rep["classes"], predictor.meta["threshold"]),
        # What constant models score on the same rows: the gate refuses a model no better.
        "trivial": get_task(rep["task"]).trivial(encode_target(splits.train[rep["target"]], rep), y,
                                                 len(rep["classes"])),
    }
    if cfg.bootstrap and len(y):
        from modelfab.evaluate.bootstrap import intervals

        result["intervals"] = intervals(rep["task"], y, s, predictor.meta["threshold"], cfg.bootstrap)
    if spec.data.remaining_life and spec.data.remaining_life.horizon:
        result["validation"] = near_end_validation(predictor, splits, spec.data)
    if cfg.cv_folds:
        from modelfab.evaluate.cross_validate import cross_validate

        ctx.progress(0, cfg.cv_folds, "cross-validation folds")
        result["cross_validation"] = cross_validate(spec, rep, splits, cfg.cv_folds, ctx.progress)
    importance = None
    # Shuffling an image column would re-run the image pipeline (a backbone) once per repeat.
    if cfg.importance_repeats and not (spec.data.test and spec.data.test.rows == "last") and not rep.get("image"):
        from modelfab.evaluate.importance import permutation_importance

        test = splits.test
        importance, screening = permutation_importance(
            predictor, test, encode_target(test[rep["target"]], rep), result["primary"], cfg.importance_repeats,
            max_columns=cfg.importance_max_columns,
        )
        result["importance"] = dict(sorted(importance.items(), key=lambda kv: -kv[1]))
        if screening:
            result["importance_screening"] = screening
    folder = ctx.folder()
    if cfg.plots:
        from modelfab.evaluate.plots import write_plots

        result["plots"] = write_plots(folder / "plots", rep["task"], y, s, rep["classes"],
                                      predictor.meta["threshold"], importance)
    write_json(folder / "metrics.json", result)
    return Evaluation(folder)


def evaluate_clusters(predictor: Predictor, splits: Splits, rep: dict, ctx) -> Evaluation:  # noqa: ANN001
    """A clustering's record (evaluate/clusters.py): geometry and agreement on the test rows,
    stability, and each cluster described over a sample of every split's rows."""
    from modelfab.evaluate import clusters

    figures, record = clusters.evaluate_clusters(predictor, splits, rep, ctx.spec.train.sample)
    X, labels, rows = record.pop("_map")
    result = {"task": rep["task"], "rows": len(splits.test), "metrics": figures,
              "primary": primary_metric(ctx.spec.gate, rep["task"]), "threshold": predictor.meta["threshold"],
              "trivial": {"ari": 0.0, "nmi": 0.0} if "ari" in figures else {}, **record}
    folder = ctx.folder()
    if ctx.spec.evaluate.plots:
        result["plots"] = clusters.write_map(folder / "plots", X, labels, rows, rep, record.get("k_scores"))
    write_json(folder / "metrics.json", result)
    return Evaluation(folder)
