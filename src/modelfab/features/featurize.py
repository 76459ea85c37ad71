"""Featurize: fit the FeatureTransform on the training split only and turn the training and
validation splits into model-ready matrices (one float column per feature, plus `__target__`).
The test rows are left to evaluate, which scores them through the saved package."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelfab.artifacts import DataReport, FeatureSet, FeatureTransform, Splits, write_json
from modelfab.pipeline import stage
from modelfab.tasks import get_task

TARGET = "__target__"


def encode_target(y: pd.Series, report: dict) -> np.ndarray:
    """Class labels -> codes 0..k-1 in the report's class order; regression targets -> float."""
    return get_task(report["task"]).encode_target(y, report["classes"])


@stage("featurize", outputs={"features": FeatureSet, "transform": FeatureTransform},
       sections=("features", "clean", "data", "train.seed"), code=("modelfab.nn.pretrained", "modelfab.nn.modules"))
def featurize(splits: Splits, report: DataReport, ctx) -> dict:  # noqa: ANN001
    from modelfab.features.build import build_transform
    from modelfab.features.images import reporting
    from modelfab.features.layout import layout_of
    from modelfab.features.persist import save_transform

    rep = report.data
    transform = build_transform(ctx.spec, rep)
    y_train = encode_target(splits.train[rep["target"]], rep)
    # fit_transform: the training matrix comes out of fitting, not from a second full pass.
    with reporting(ctx.progress):
        train_matrix = transform.fit_transform(splits.train, y_train)
    names = [str(n) for n in transform.get_feature_names_out()]
    parts = {}
    for part in FeatureSet.PARTS:  # not the test rows: evaluate scores them through the package
        frame = getattr(splits, part)
        with reporting(ctx.progress):
            matrix = train_matrix if part == "train" else transform.transform(frame)
        matrix = matrix.astype(np.float32, copy=False)
        out = pd.DataFrame(matrix, columns=names, index=frame.index)
        if rep["target"] in frame.columns:
            out[TARGET] = encode_target(frame[rep["target"]], rep)
        parts[part] = out
    folder = ctx.folder()
    save_transform(transform, folder / "transform.skops")
    write_json(folder / "transform.json", {"inputs": _inputs(rep), "features": names})
    return {
        "features": FeatureSet(**parts, info={"features": names, "rows": {p: len(v) for p, v in parts.items()},
                                              "layout": layout_of(transform, ctx.spec)}),
        "transform": FeatureTransform(folder),
    }


def _inputs(rep: dict) -> list[str]:
    # Entity and time order the rows of windows and sequences, so prediction needs them too.
    return list(dict.fromkeys([*rep["features"], *[c for c in (rep.get("entity"), rep.get("time")) if c]]))
