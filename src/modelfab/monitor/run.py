"""`modelfab monitor`: the logged predictions of a model against its training reference.

Reads a window of the prediction log (SQLite's json_extract pulls the input columns out in C,
so a million rows take seconds), compares every input column and the predictions with the
reference sample in the model package, checks data quality, scores the rows whose labels have
arrived, and writes `report.json`, `report.html` and plots; the status is ok, warn or drift.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from modelfab.artifacts.store import atomic_write_text
from modelfab.artifacts.types import to_json
from modelfab.errors import DataError, FabError
from modelfab.evaluate import metrics
from modelfab.monitor.drift import categorical_drift, numeric_drift, quality
from modelfab.package.predictor import Predictor
from modelfab.predlog.read import log_path, read_log
from modelfab.registry import client as registry
from modelfab.spec.load import Project
from modelfab.tasks import get_task

STATUS_ORDER = {"ok": 0, "warn": 1, "drift": 2}


def monitor(project: Project, ref: str, output: Path, last: int | None = None, hours: float | None = None) -> dict:
    cfg = project.spec.monitor
    c = registry.client(project.tracking_uri)
    info = registry.resolve(c, ref)
    predictor = Predictor(info.package)
    meta = predictor.meta
    reference_file = Path(info.package) / "reference.parquet"
    if not reference_file.is_file():
        raise FabError(f"{info.name} version {info.version} has no monitoring reference (it was trained before "
                       "modelfab kept one); run `modelfab run` again to make a version that has")
    reference = pd.read_parquet(reference_file)
    current = read_log(log_path(project), info.name, meta, window=(last, hours))
    if len(current) < cfg.min_rows:
        raise DataError(f"the prediction log {log_path(project)} holds {len(current)} predictions of {info.name} "
                        f"in this window; monitor.min_rows asks for at least {cfg.min_rows}. Serve the model "
                        "(`modelfab serve`) and send traffic first, or widen the window")

    columns = {}
    order = {meta["schema"].get("entity"), meta["schema"].get("time")}  # a new engine, a later cycle: not drift
    for name in meta["inputs"]:
        column = meta["schema"]["columns"][name]
        if column["kind"] not in ("numeric", "categorical") or name in order:
            continue  # free text and image paths: their drift shows in the predictions' drift
        test = numeric_drift if column["kind"] == "numeric" else categorical_drift
        columns[name] = test(reference[name], current[name], cfg) | {"quality": quality(current[name], column)}
    # Scored once: the prediction-drift test and the report's plot both read these.
    reference_scores = predictor.scores(reference[meta["inputs"]], source="monitoring reference")
    predictions = prediction_drift(predictor, reference_scores, current, cfg)
    performance = score_labels(predictor, current, info, project)

    drifted = [n for n, r in columns.items() if r["drifted"]]
    share = len(drifted) / max(len(columns), 1)
    reasons = []
    if share >= cfg.drift_share:
        reasons.append(f"{len(drifted)} of {len(columns)} input columns drifted ({', '.join(drifted)})")
    if predictions["drifted"]:
        reasons.append(f"the predictions drifted ({predictions['method']} {predictions['score']:.3g})")
    if performance.get("drop") is not None and performance["drop"] >= cfg.performance_drop:
        reasons.append(f"{performance['metric']} on labelled rows is {performance['current']:.3f}, "
                       f"{performance['drop']:.3f} worse than its evaluation value {performance['reference']:.3f}")
    warnings = []
    if drifted and share < cfg.drift_share:
        warnings.append(f"drift in {', '.join(drifted)} ({len(drifted)} of {len(columns)} input columns)")
    for name, r in columns.items():
        q = r["quality"]
        if q.get("out_of_range", 0) > cfg.out_of_range:
            warnings.append(f"{name}: {q['out_of_range']:.1%} of values outside the training range")
        if q.get("unseen"):
            warnings.append(f"{name}: categories never seen in training ({', '.join(map(str, q['unseen_examples']))})")
        if q["missing_rate"] > q["reference_missing_rate"] + 0.05:
            warnings.append(f"{name}: {q['missing_rate']:.1%} missing (training: {q['reference_missing_rate']:.1%})")
    status = "drift" if reasons else "warn" if warnings else "ok"
    report = {
        "model": info.name, "version": info.version, "status": status, "reasons": reasons, "warnings": warnings,
        "rows": len(current), "reference_rows": len(reference),
        "window": {"last": last, "hours": hours, "from": float(current["time"].min()), "to": float(current["time"].max())},
        "drift_share": share, "columns": columns, "predictions": predictions, "performance": performance,
        "thresholds": cfg.model_dump(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    output.mkdir(parents=True, exist_ok=True)
    from modelfab.monitor.report import write_html

    report["plots"] = write_html(report, reference, reference_scores, current, predictor, output)
    atomic_write_text(output / "report.json", to_json(report))
    atomic_write_text(latest_path(project, info.name), to_json(
        {"model": info.name, "version": info.version, "status": status, "time": time.time(), "report": str(output)}))
    track(project, report, output)
    return report


def latest_path(project: Project, model: str) -> Path:
    """The last monitoring verdict of a model, which the server shows on /metrics."""
    return project.store_dir / "monitor" / f"latest-{model}.json"


def prediction_drift(predictor: Predictor, scores: np.ndarray, current: pd.DataFrame, cfg) -> dict:  # noqa: ANN001
    """The model's scores on the reference rows against the logged predictions."""
    classes = [str(c) for c in predictor.classes]
    if get_task(predictor.task).clusters:
        predicted = pd.Series(get_task(predictor.task).decide(scores).astype(str))
        return categorical_drift(predicted, current["prediction"].astype(str), cfg) | {"of": "predicted cluster"}
    if not get_task(predictor.task).has_classes:
        return numeric_drift(pd.Series(scores), current["prediction"], cfg) | {"of": "predicted value"}
    if get_task(predictor.task).binary:
        positive = classes[1]
        return numeric_drift(pd.Series(scores[:, 1]), current[f"proba_{positive}"], cfg) | {
            "of": f"probability of {positive}"}
    predicted = pd.Series(np.asarray(classes)[scores.argmax(axis=1)])
    return categorical_drift(predicted, current["prediction"].astype(str), cfg) | {"of": "predicted class"}


def score_labels(predictor: Predictor, current: pd.DataFrame, info, project: Project) -> dict:  # noqa: ANN001
    labelled = current[current["label"].notna()]
    task = predictor.task
    from modelfab.evaluate.stage import primary_metric

    metric = primary_metric(project.spec.gate, task)
    out: dict = {"labelled_rows": len(labelled), "metric": metric}
    if labelled.empty:
        return out
    if get_task(task).clusters:  # a label measures a clustering's agreement, which needs many rows at once
        return out | {"note": "a clustering is not scored on logged labels"}
    if not get_task(task).has_classes:
        y = labelled["label"].to_numpy(dtype=float)
        scores = labelled["prediction"].to_numpy(dtype=float)
    else:
        index = {str(c): i for i, c in enumerate(predictor.classes)}
        codes = labelled["label"].astype(str).map(index)
        labelled, codes = labelled[codes.notna()], codes[codes.notna()]
        if labelled.empty:
            return out | {"note": "no label matches a training class"}
        y = codes.to_numpy(dtype=int)
        scores = labelled[[f"proba_{c}" for c in map(str, predictor.classes)]].to_numpy(dtype=float)
    now = metrics.compute(task, y, scores, predictor.meta["threshold"])
    reference = info.tags.get(f"modelfab.metric.{metric}")
    out |= {"metrics": now, "current": now.get(metric)}
    if reference is not None and now.get(metric) is not None:
        ref = float(reference)
        out |= {"reference": ref, "drop": metrics.better(metric, ref, now[metric])}
    return out


def track(project: Project, report: dict, output: Path) -> None:
    """One MLflow run per monitoring run, in the project's experiment, tagged as monitoring."""
    from mlflow.entities import Metric, RunTag

    c = registry.client(project.tracking_uri)
    run_id = registry.create_run(
        c, registry.experiment_name(project.spec), project.store_dir,
        run_name=f"monitor-{report['model']}-v{report['version']}",
        tags={"modelfab.kind": "monitor", "modelfab.status": report["status"],
              "modelfab.model": report["model"], "modelfab.version": str(report["version"])})
    now = int(time.time() * 1000)
    values = {"rows": report["rows"], "drift_share": report["drift_share"],
              "status_level": STATUS_ORDER[report["status"]]}
    values |= {f"drift.{k}": v["score"] for k, v in report["columns"].items() if v.get("score") is not None}
    if report["predictions"].get("score") is not None:
        values["drift.predictions"] = report["predictions"]["score"]
    values |= {f"labelled.{k}": v for k, v in report["performance"].get("metrics", {}).items()}
    c.log_batch(run_id, metrics=[Metric(_metric_name(k), float(v), now, 0) for k, v in values.items()],
                tags=[RunTag("modelfab.reasons", json.dumps(report["reasons"])[:5000])])
    c.log_artifacts(run_id, str(output), "monitor")
    c.set_terminated(run_id, "FINISHED")


def _metric_name(name: str) -> str:
    """MLflow allows letters, digits and _ - . space : / in metric names ("Torque [Nm]" is not)."""
    return re.sub(r"[^A-Za-z0-9_\-. :/]", "_", name)[:250]
