"""Ingest: read the source (and an optional separate test file) into RawTables, deriving a
remaining-life target where the spec asks for one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelfab.artifacts import RawTable
from modelfab.data.images import check_images, folder_digest, read_image_folder, resolve_paths
from modelfab.data.read import read_table, read_values
from modelfab.errors import DataError
from modelfab.pipeline import stage
from modelfab.spec.schema import DataConfig


def source_digests(ctx, store) -> str:  # noqa: ANN001 - StageContext, ArtifactStore
    """The content of the input files is outside the store, so it enters the cache key here."""
    data = ctx.spec.data
    paths = [data.source] + ([data.test.source] + ([data.test.labels] if data.test.labels else []) if data.test else [])
    digests = []
    for rel in paths:
        path = ctx.path(rel)
        if path.is_dir():
            digests.append(f"folder:{folder_digest(path)}")
        else:
            digests.append(store.file_digest(path) if path.is_file() else f"missing:{path}")
    return ",".join(digests)


def read_options(data: DataConfig) -> dict:
    """How `data:` says its files are read (ingest, and retrain re-reading the source)."""
    return dict(fmt=data.format, delimiter=data.delimiter, encoding=data.encoding, columns=data.columns)


@stage("ingest", outputs={"raw": RawTable, "raw_test": RawTable}, sections=("data",), external=source_digests)
def ingest(data: DataConfig, ctx) -> dict:  # noqa: ANN001
    path = ctx.path(data.source)
    options = read_options(data)
    frame, bad = read_source(path, data, options, "data.source")
    if data.remaining_life:
        frame = add_remaining_life(frame, data, path.name)
    test = pd.DataFrame(columns=frame.columns)
    if data.test:
        test_path = ctx.path(data.test.source)
        test, bad_test = read_source(test_path, data, options, "data.test.source")
        bad += bad_test
        if data.test.labels:
            labels = read_values(ctx.path(data.test.labels))
            test = add_labels_at_end(test, labels, data, test_path.name)
    frame, test = unlabelled(frame, data, path.name), unlabelled(test, data, str(data.test.source if data.test else ""))
    info = {"source": path.name, "rows": len(frame), "columns": len(frame.columns), "test_rows": len(test)}
    if bad:
        info["skipped_images"] = bad
    return {"raw": RawTable(frame, info), "raw_test": RawTable(test, {"source": data.test.source if data.test else None})}


def unlabelled(frame: pd.DataFrame, data: DataConfig, source: str = "") -> pd.DataFrame:
    """A detector's label: none (every row is taken as normal), or `data.normal` against the rest."""
    from modelfab.tasks.anomaly import ANOMALOUS, NORMAL, UNLABELLED

    if data.normal is not None and data.target in frame and len(frame):
        label = frame[data.target]
        normal = label.astype(str) == str(data.normal)
        if not normal.any():
            seen = ", ".join(map(repr, label.dropna().astype(str).unique()[:10]))
            raise DataError(f"{source}: data.normal {data.normal!r}: no row of {data.target!r} has it (its values: {seen})")
        return frame.assign(**{data.target: np.where(label.isna(), None, np.where(normal, NORMAL, ANOMALOUS))})
    if data.target != UNLABELLED or UNLABELLED in frame:
        return frame
    return frame.assign(**{UNLABELLED: NORMAL})


def read_source(path, data: DataConfig, options: dict, key: str) -> tuple[pd.DataFrame, list[dict]]:  # noqa: ANN001
    """A table, a class-per-folder image tree, or an image manifest; images are checked here."""
    if path.is_dir():
        frame = read_image_folder(path, data, key)
    else:
        frame = read_table(path, key=key, **options)
        if not data.images:
            return frame, []
        frame = resolve_paths(frame, data.image_column, path.parent, path.name)
    return check_images(frame, data, str(path))


def add_remaining_life(frame: pd.DataFrame, data: DataConfig, name: str) -> pd.DataFrame:
    """target = the entity's last time minus this row's time (cycles left before the end)."""
    for key in ("entity", "time"):
        column = getattr(data, key)
        if column not in frame.columns:
            raise DataError(f"data.{key}: column {column!r} is not in {name}")
    return frame.assign(**{data.target: remaining_life(frame, data.entity, data.time)})


def remaining_life(frame: pd.DataFrame, entity: str, time: str) -> pd.Series:
    """Each row's time left until its entity's last row: the true remaining life of units that
    ran to their end (training data), before any cap."""
    return (frame.groupby(entity)[time].transform("max") - frame[time]).astype(float)


def add_labels_at_end(test: pd.DataFrame, labels: list[float], data: DataConfig, name: str) -> pd.DataFrame:
    """Labels give each entity's target at its last row (entities in sorted order); earlier rows
    add the time still to run."""
    entities = sorted(test[data.entity].unique())
    if len(entities) != len(labels):
        raise DataError(
            f"data.test.labels: has {len(labels)} values but {name} has {len(entities)} entities "
            f"in column {data.entity!r}; expected one value per entity"
        )
    at_end = test[data.entity].map(dict(zip(entities, labels, strict=True)))
    if data.time:
        at_end = at_end + test.groupby(data.entity)[data.time].transform("max") - test[data.time]
    return test.assign(**{data.target: at_end.astype(float)})
