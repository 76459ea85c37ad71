"""Permutation importance of each input column, measured through the whole model package, so
it answers the plant engineer's question ("how much does Torque matter?") in raw column names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelfab.evaluate.metrics import better, compute

MAX_ROWS = 5000


def permutation_importance(predictor, frame: pd.DataFrame, y: np.ndarray, metric: str,  # noqa: ANN001
                           repeats: int, seed: int = 0) -> dict[str, float]:
    """Mean drop of `metric` when one feature column is shuffled (entity and time stay intact).

    Written here rather than with scikit-learn's `permutation_importance`, which insists on a
    fittable estimator; the package is already fitted and must not be refitted.
    """
    if len(frame) > MAX_ROWS:
        keep = np.sort(np.random.default_rng(seed).choice(len(frame), MAX_ROWS, replace=False))
        frame, y = frame.iloc[keep], y[keep]
    task, threshold = predictor.task, predictor.meta["threshold"]

    def score(data: pd.DataFrame) -> float:
        scores = predictor.model.predict_scores(predictor.transform.transform(data).astype(np.float32))
        return better(metric, compute(task, y, scores, threshold)[metric], 0.0)  # higher is better

    baseline = score(frame)
    rng = np.random.default_rng(seed)
    result = {}
    for name in predictor.meta["schema"]["features"]:
        drops = []
        for _ in range(repeats):
            shuffled = frame.copy()
            shuffled[name] = frame[name].to_numpy()[rng.permutation(len(frame))]
            drops.append(baseline - score(shuffled))
        result[name] = float(np.mean(drops))
    return result
