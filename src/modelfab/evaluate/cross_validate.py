"""k-fold cross-validation on the training and validation rows: the transform and the model
are fitted afresh in every fold, so no fold sees its own held-out rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

from modelfab.artifacts import Splits
from modelfab.evaluate import metrics
from modelfab.features.build import build_transform
from modelfab.features.featurize import encode_target
from modelfab.features.layout import layout_of
from modelfab.models import make_model
from modelfab.spec.schema import FabSpec
from modelfab.tasks import get_task


def divide_indices(idx: np.ndarray, y: np.ndarray, report: dict, rows: pd.DataFrame, spec: FabSpec):  # noqa: ANN201
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    share, seed = spec.split.valid_size, spec.split.seed
    if report.get("entity"):
        keep, held = next(GroupShuffleSplit(1, test_size=share, random_state=seed).split(
            idx, groups=rows[report["entity"]].to_numpy()[idx]))
        return idx[keep], idx[held]
    stratify = y[idx] if get_task(report["task"]).has_classes else None
    return train_test_split(idx, test_size=share, stratify=stratify, random_state=seed)


def cross_validate(spec: FabSpec, report: dict, splits: Splits, folds: int, progress) -> dict:  # noqa: ANN001
    rows = pd.concat([splits.train, splits.valid])
    y = encode_target(rows[report["target"]], report)
    task = report["task"]
    if report.get("entity"):
        chosen = GroupKFold(n_splits=folds).split(rows, y, groups=rows[report["entity"]])
    elif not get_task(task).has_classes:
        chosen = KFold(n_splits=folds, shuffle=True, random_state=spec.split.seed).split(rows)
    else:
        chosen = StratifiedKFold(n_splits=folds, shuffle=True, random_state=spec.split.seed).split(rows, y)
    per_fold = []
    for i, (fit_idx, held_idx) in enumerate(chosen):
        # Each fold repeats the pipeline's own recipe: a validation piece for early stopping,
        # the transform fitted on the fold's training rows only.
        fit_idx, valid_idx = divide_indices(fit_idx, y, report, rows, spec)
        transform = build_transform(spec, report)
        X_fit = transform.fit_transform(rows.iloc[fit_idx], y[fit_idx]).astype(np.float32)
        X_valid = transform.transform(rows.iloc[valid_idx]).astype(np.float32)
        X_held = transform.transform(rows.iloc[held_idx]).astype(np.float32)
        layout = layout_of(transform, spec)
        model = make_model(spec.train, task, len(report["classes"]), layout=layout)
        model.fit(X_fit, y[fit_idx], X_valid, y[valid_idx])
        per_fold.append(metrics.compute(task, y[held_idx], model.predict_scores(X_held)))
        progress(i + 1, folds, "cross-validation folds")
    names = per_fold[0].keys()
    return {
        "folds": folds,
        "mean": {m: float(np.mean([f[m] for f in per_fold if m in f])) for m in names},
        "std": {m: float(np.std([f[m] for f in per_fold if m in f])) for m in names},
        "per_fold": per_fold,
    }
