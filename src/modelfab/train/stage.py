"""Train: fit the chosen model family on the feature matrix and package it with its transform.

For binary tasks the decision threshold is chosen here, on validation rows the model did not
learn from, never on the test rows.
"""

from __future__ import annotations

import shutil

import numpy as np

from modelfab.artifacts import (
    BlendMembers,
    DataReport,
    FeatureSet,
    FeatureTransform,
    ModelPackage,
    Splits,
    read_json,
)
from modelfab.features.featurize import TARGET
from modelfab.models import make_model
from modelfab.package.format import describe, describe_blend, write_meta
from modelfab.pipeline import stage
from modelfab.tasks import get_task
from modelfab.train.threshold import choose_threshold, detector_threshold

REFERENCE_ROWS = 100_000  # training rows kept in the package as the monitoring reference


@stage("train", outputs={"package": ModelPackage}, sections=("train", "data.entity", "data.time"),
       code=("modelfab.models", "modelfab.nn", "modelfab.package"))
def train(features: FeatureSet, transform: FeatureTransform, report: DataReport, splits: Splits,
          members: BlendMembers, ctx) -> ModelPackage:  # noqa: ANN001
    rep, config = report.data, ctx.spec.train
    if config.type == "blend":
        return blend(config, rep, splits, members.data["members"], ctx)
    X, y = xy(features.train)
    X_valid, y_valid = xy(features.valid)
    near_end = getattr(getattr(getattr(config, "student", config), "early_stopping", None), "near_end", None)
    context = train_context(ctx, config)
    model = make_model(config, rep["task"], len(rep["classes"]), layout=features.info.get("layout"), context=context)
    if config.type == "distill" and config.registered_teacher:
        model.taught_ = taught(members.data["members"][0], rep, splits.train)
    if near_end:  # stop on some rows' uncapped remaining life; a refit learns every row's capped one
        watched = near_end_rows(X_valid, splits.valid, ctx.spec.data, near_end)
        model.fit(X, y, *watched, progress=ctx.progress, refit_valid=(X_valid, y_valid))
        X_valid, y_valid = watched
    else:
        model.fit(X, y, X_valid, y_valid, progress=ctx.progress)
    scores = getattr(model, "valid_scores_", None)
    if get_task(rep["task"]).detector:
        threshold = detector_threshold(config.threshold, y_valid, scores)
    else:
        threshold = choose_threshold(config.decision_threshold, rep["task"], y_valid, scores)

    folder = ctx.folder()
    (folder / "model").mkdir()
    model.save(folder / "model")
    shutil.copy(transform.path / "transform.skops", folder / "transform.skops")
    inputs = read_json(transform.path / "transform.json")["inputs"]
    write_reference(splits.train, [*inputs, rep["target"]], folder / "reference.parquet")
    write_meta(folder, describe(config, rep, threshold, inputs, features.info["features"], features.info.get("layout"),
                                model.trained_on_valid_) | model.package_info())
    if context and context.checkpoint:
        context.checkpoint.unlink(missing_ok=True)  # the package holds the result; the checkpoint is spent
    return ModelPackage(folder)


def blend(config, rep: dict, splits: Splits, members: list[dict], ctx) -> ModelPackage:  # noqa: ANN001
    """A package of registered packages (package/blend.py); nothing is fitted. For a binary task
    the threshold is chosen on the validation rows' blended scores, as for any model."""
    from modelfab.features.featurize import encode_target
    from modelfab.package.blend import package_members
    from modelfab.package.predictor import Predictor

    folder = ctx.folder()
    described = package_members(folder, config, rep, members)
    meta = describe_blend(config, rep, described)
    write_meta(folder, meta)
    if get_task(rep["task"]).thresholded and len(splits.valid):
        scores = Predictor(folder).scores(splits.valid, source="validation rows")
        meta["threshold"] = choose_threshold(config.decision_threshold, "binary",
                                             encode_target(splits.valid[rep["target"]], rep), scores)
        write_meta(folder, meta)
    write_reference(splits.train, [*described["inputs"], rep["target"]], folder / "reference.parquet")
    return ModelPackage(folder)


def taught(teacher: dict, rep: dict, rows) -> np.ndarray:  # noqa: ANN001
    """A registered teacher's scores of the training rows, through its own package."""
    from pathlib import Path

    from modelfab.package.blend import check_member
    from modelfab.package.format import read_meta
    from modelfab.package.predictor import Predictor

    check_member(teacher["model"], read_meta(Path(teacher["package"])), rep, "train.teacher")
    return Predictor(Path(teacher["package"])).scores(rows, source="training rows")


def near_end_rows(X_valid: np.ndarray, valid, data, within: float) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """The validation rows at most `within` steps before their unit's end, with their true
    remaining life as the target: what `train.early_stopping.near_end` watches."""
    from modelfab.data.ingest import remaining_life
    from modelfab.errors import DataError

    if len(valid) != len(X_valid):  # featurize keeps every row in order; anything else is a bug
        raise DataError(f"train.early_stopping.near_end: {len(X_valid)} validation feature rows for "
                        f"{len(valid)} validation rows; expected one per row")
    truth = remaining_life(valid, data.entity, data.time).to_numpy()
    keep = truth <= within
    if not keep.any():
        raise DataError(f"train.early_stopping.near_end: no validation row is within {within:g} steps of its "
                        f"unit's end; expected some (is split.valid_size 0?)")
    return X_valid[keep], truth[keep]


def train_context(ctx, config):  # noqa: ANN001, ANN201
    """Nets checkpoint to a file named by this stage's cache key (so a resumed run finds the
    checkpoint of exactly this spec and data) and log every epoch; a search logs every trial."""
    from modelfab.models.base import TrainContext
    from modelfab.spec.sections.nets import NetBase

    if config.type == "search":  # each trial's loss goes to MLflow, with the trial number as step
        return TrainContext(fingerprint=ctx.key, log_metrics=ctx.log_metrics)
    if not isinstance(config, NetBase):  # the net families and the autoencoder
        return None
    folder = ctx.path(config.checkpoint_dir) if config.checkpoint_dir else ctx.store_dir / "checkpoints"
    # A fixed name in a chosen folder: a checkpoint left by another spec is refused, not silently ignored.
    name = "last.safetensors" if config.checkpoint_dir else f"{ctx.key}.safetensors"
    return TrainContext(checkpoint=folder / name if config.checkpoint_every else None,
                        fingerprint=ctx.key, log_metrics=ctx.log_metrics)


def write_reference(train_rows, columns: list[str], path) -> None:  # noqa: ANN001
    """A seeded sample of the training rows' inputs: what `modelfab monitor` compares the
    served traffic with, wherever the package goes (the registry, another machine)."""
    rows = train_rows[[c for c in dict.fromkeys(columns) if c in train_rows.columns]]
    if len(rows) > REFERENCE_ROWS:
        rows = rows.sample(REFERENCE_ROWS, random_state=0).sort_index()
    rows.to_parquet(path, index=False, compression="zstd")


def xy(frame):  # noqa: ANN001, ANN202
    """The feature matrix and target codes of one part of a FeatureSet."""
    return frame.drop(columns=[TARGET]).to_numpy(dtype=np.float32), frame[TARGET].to_numpy()
