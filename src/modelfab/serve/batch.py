"""Batch prediction: a file in, a file of predictions out, through the registered package."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from modelfab.data.images import resolve_paths
from modelfab.data.ingest import read_options
from modelfab.data.read import read_table
from modelfab.errors import DataError
from modelfab.package.predictor import Predictor
from modelfab.package.probe import probe
from modelfab.registry import client as registry
from modelfab.spec.load import Project
from modelfab.spec.sections.data import DataConfig


def predict_file(project: Project, ref: str, source: Path, output: Path) -> tuple[int, str]:
    predictor, frame, version = _open(project, ref, source)
    for name, column in predictor.meta["schema"]["columns"].items():
        if column["kind"] == "image":  # a manifest's relative paths are relative to the manifest
            frame = resolve_paths(frame, name, source.parent, source.name)
    predictions = predictor.predict_frame(frame, source=str(source))
    result = frame.join(predictions, rsuffix="_predicted")
    _write(result, output)
    return len(result), version


def explain_file(project: Project, ref: str, source: Path, output: Path) -> tuple[int, str, str]:
    """Per row: each input column's contribution, `base_value`, and the raw output they add up
    to (`margin` for classifiers, `value` for regression, `probability` for the permutation
    method); for multiclass, those of the predicted class, named in `class`."""
    from modelfab.explain.compute import explain_frame

    predictor, frame, version = _open(project, ref, source)
    cfg = project.spec.explain
    if len(frame) > cfg.max_rows:
        raise DataError(f"{source}: {len(frame)} rows, more than explain.max_rows {cfg.max_rows}; split the file "
                        "or raise the limit")
    predictor.check(frame, str(source))
    done = explain_frame(predictor, frame[predictor.meta["inputs"]], cfg.method,
                         predictor.reference_rows(cfg.background), cfg.background, steps=cfg.steps)
    pick, rows = done.chosen(), np.arange(len(frame))
    result = pd.DataFrame(done.values[rows, :, pick], columns=done.columns, index=frame.index)
    if len(done.outputs) > 1:
        result.insert(0, "class", [done.outputs[k] for k in pick])
    result["base_value"] = done.base[rows, pick]
    result[done.space] = done.raw[rows, pick]
    _write(result, output)
    return len(result), version, done.method


def _open(project: Project, ref: str, source: Path) -> tuple[Predictor, pd.DataFrame, str]:
    """The registered package (its digest checked, tried in a child process), and the file to score."""
    model, version, package = _package(project, ref)
    probe(package, f"{model} version {version}", project.store_dir / "cache")
    frame = read_input(source, project.spec.data, project.path(project.spec.data.source))
    return Predictor(package), frame, f"{model} version {version}"


def _write(result: pd.DataFrame, output: Path) -> None:
    tmp = output.with_name(f".{output.name}.tmp")  # written whole, then renamed: never half a file
    if output.suffix.lower() in (".parquet", ".pq"):
        result.to_parquet(tmp, index=False)
    else:
        result.to_csv(tmp, index=False)
    tmp.replace(output)


def read_input(source: Path, data: DataConfig, trained_on: Path) -> pd.DataFrame:
    """A file to score, read as `data:` reads the training file when it is of the same kind
    (a header-less, space-separated .txt as training read it); any other file as it describes
    itself. Without a header the target may be absent: the names are data.columns less it."""
    same_kind = source.suffix.lower() == trained_on.suffix.lower()
    if not same_kind:
        return read_table(source, key="DATA")
    options = read_options(data)
    try:
        return read_table(source, key="DATA", **options)
    except DataError:
        names = options["columns"]
        if not names or data.target not in names:
            raise
        return read_table(source, key="DATA", **(options | {"columns": [c for c in names if c != data.target]}))


def _package(project: Project, ref: str) -> tuple[str, int, Path]:
    """(model name, version, package folder) of a reference. The project's own champion comes
    from the store's record of it while the registry file is unchanged (no MLflow import);
    anything else, or a stale record, is asked of MLflow, and the answer recorded."""
    from modelfab.registry import memo

    name, alias, _ = registry.parse_reference(ref)
    cache, uri = project.store_dir / "cache", project.tracking_uri
    if alias:
        known = memo.recall_package(cache, uri, name, alias)
        if known:
            return name, known[1], known[0]
    info = registry.resolve(registry.client(uri), ref)
    if alias:
        memo.remember_package(cache, uri, name, alias, info)
    return info.name, info.version, info.package
