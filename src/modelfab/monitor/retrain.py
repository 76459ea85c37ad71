"""`modelfab retrain`: the same pipeline on the original data plus labelled logged predictions
(every logged prediction, for a model that learnt with no label).

The newest labelled predictions (retrain.holdout of them) are held out as the test rows, so the
gate judges challenger and champion on the traffic the line sends now; the older ones join the
training rows. Cached stages are reused where nothing changed; a challenger the gate does not
bless leaves the champion as it was, and the result says why.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from modelfab.artifacts.store import atomic_write_text
from modelfab.artifacts.types import to_json
from modelfab.data.ingest import read_options
from modelfab.data.read import read_table
from modelfab.errors import DataError, FabError
from modelfab.package.predictor import Predictor
from modelfab.predlog import log_path, read_log
from modelfab.registry import client as registry
from modelfab.spec.load import Project
from modelfab.spec.schema import TestData
from modelfab.tasks import get_task
from modelfab.tasks.anomaly import UNLABELLED


def retrain(project: Project, ref: str | None = None, hooks=None) -> dict:  # noqa: ANN001
    spec, cfg = project.spec, project.spec.retrain
    if spec.data.remaining_life or spec.data.test:
        raise FabError("retrain from logged labels needs one label per prediction; this spec derives its target "
                       "(data.remaining_life) or brings its own test file (data.test): retrain it with `modelfab run`")
    info = registry.resolve(registry.client(project.tracking_uri), ref or f"{spec.model_name}@{spec.register_.alias}")
    meta = Predictor(info.package).meta
    logged = read_log(log_path(project), info.name, meta, window=(None, cfg.hours))
    # A model that learnt with no label (a detector of normal, a clustering) retrains on the
    # traffic itself: every logged row, labelled or not.
    unlabelled = meta["target"] == UNLABELLED
    labelled = logged if unlabelled else logged[logged["label"].notna()]
    labelled = labelled.sort_values("time", kind="stable")
    if len(labelled) < cfg.min_labelled:
        raise DataError(f"only {len(labelled)} logged predictions of {info.name}{'' if unlabelled else ' have labels'}"
                        f"{f' in the last {cfg.hours:g} hours' if cfg.hours else ''}; retrain.min_labelled asks for "
                        f"{cfg.min_labelled}. The champion (version {info.version}) is untouched; "
                        f"{'serve more traffic' if unlabelled else 'send labels to POST /labels'} first")
    rows = _as_training_rows(labelled, meta)
    cut = int(round(len(rows) * (1 - cfg.holdout)))
    fresh, held_out = rows.iloc[:cut], rows.iloc[cut:]
    if cfg.keep_reference:
        source = project.path(spec.data.source)
        original = read_table(source, **read_options(spec.data))
        fresh = pd.concat([original, fresh], ignore_index=True)
    folder = project.store_dir / "retrain" / time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    _write(fresh, folder / "train.parquet")
    _write(held_out, folder / "test.parquet")
    lineage = {"champion": {"name": info.name, "version": info.version}, "logged_rows": len(logged),
               "labelled_rows": len(labelled), "trained_on_logged": cut, "held_out": len(held_out),
               "kept_reference": cfg.keep_reference, "log": str(log_path(project)),
               "from": float(labelled["time"].min()), "to": float(labelled["time"].max()),
               "prediction_ids": labelled["id"].tolist()}
    atomic_write_text(folder / "retrain.json", to_json(lineage))

    data = spec.data.model_copy(update={
        "source": str(folder / "train.parquet"), "format": "parquet", "delimiter": None, "columns": None,
        "encoding": "auto", "test": TestData(source=str(folder / "test.parquet")),
    })
    challenger = Project(spec=spec.model_copy(update={"data": data}), root=project.root, spec_path=project.spec_path)
    from modelfab.pipelines import run as run_pipeline

    run = run_pipeline(challenger, hooks=hooks)
    blessing = run.load("blessing").data
    registration = run.load("registration").data
    if run.tracking_run_id:
        c = registry.client(project.tracking_uri)
        c.set_tag(run.tracking_run_id, "modelfab.retrain", str(folder))
        c.log_artifact(run.tracking_run_id, str(folder / "retrain.json"), "retrain")
    return {"folder": str(folder), "champion_before": info.version, "blessed": blessing["blessed"],
            "reason": blessing["reason"], "registered": registration.get("registered"),
            "version": registration.get("version"), "metrics": blessing.get("candidate"),
            "champion_metrics": (blessing.get("champion") or {}).get("metrics"), "held_out": len(held_out),
            "trained_on_logged": cut}


def _as_training_rows(labelled: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """Logged inputs with the label as the target column, typed as in training."""
    frame = labelled[meta["inputs"]].copy()
    if meta["target"] == UNLABELLED:  # ingest makes the placeholder label, as for the original rows
        return frame.reset_index(drop=True)
    target = labelled["label"]
    classes = meta["classes"]
    if not get_task(meta["task"]).has_classes or all(isinstance(c, (int, float)) for c in classes):
        target = pd.to_numeric(target, errors="coerce")
    keep = target.notna().to_numpy()
    frame, target = frame[keep], target[keep]
    if classes and all(isinstance(c, int) for c in classes):
        target = target.astype("int64")  # classes 0/1 stay 0/1, not 0.0/1.0
    frame[meta["target"]] = target.to_numpy()
    return frame.reset_index(drop=True)


def _write(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
