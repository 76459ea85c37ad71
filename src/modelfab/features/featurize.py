"""Featurize: fit the FeatureTransform on the training split only and turn the training and
validation splits into model-ready matrices (one float column per feature, plus `__target__`).
The test rows are left to evaluate, which scores them through the saved package."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelfab.artifacts import DataReport, FeatureSet, FeatureTransform, Splits, write_json
from modelfab.pipeline import stage

TARGET = "__target__"


def encode_target(y: pd.Series, report: dict) -> np.ndarray:
    """Class labels -> codes 0..k-1 in the report's class order; regression targets -> float."""
    if report["task"] == "regression":
        return y.to_numpy(dtype=float)
    index = {str(c): i for i, c in enumerate(report["classes"])}
    # Labels are compared as text (the report stores them so); converting each distinct value,
    # not each row, keeps this off the per-run bill (2 ms -> 0.1 ms for 6,400 rows).
    positions, distinct = pd.factorize(y)
    lookup = np.array([index.get(str(v), -1) for v in distinct] + [-1], dtype=int)
    codes = lookup[positions]  # a missing label has position -1: the appended -1
    if (codes < 0).any():
        unseen = y.iloc[int(np.argmax(codes < 0))]
        unseen = unseen.item() if isinstance(unseen, np.generic) else unseen  # 7, not np.int64(7)
        from modelfab.errors import DataError

        raise DataError(f"target value {unseen!r} was not among the training classes {report['classes']}")
    return codes


@stage("featurize", outputs={"features": FeatureSet, "transform": FeatureTransform},
       sections=("features", "clean", "data"))
def featurize(splits: Splits, report: DataReport, ctx) -> dict:  # noqa: ANN001
    from modelfab.features.build import build_transform
    from modelfab.features.images import reporting
    from modelfab.features.layout import layout_of
    from modelfab.features.persist import save_transform

    rep = report.data
    transform = build_transform(ctx.project.spec, rep)
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
                                              "layout": layout_of(transform, ctx.project.spec)}),
        "transform": FeatureTransform(folder),
    }


def _inputs(rep: dict) -> list[str]:
    # Entity and time order the rows of windows and sequences, so prediction needs them too.
    return list(dict.fromkeys([*rep["features"], *[c for c in (rep.get("entity"), rep.get("time")) if c]]))
