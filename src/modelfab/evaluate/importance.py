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
        scores = predictor.unchecked_scores(data)
        return better(metric, compute(task, y, scores, threshold)[metric], 0.0)  # higher is better

    baseline = score(frame)
    rng = np.random.default_rng(seed)
    n = len(frame)
    # Repeats share one transform call, unless rows carry entity histories (windows) that
    # stacked copies would run together.
    batch = 1 if predictor.meta["schema"].get("entity") else repeats
    result = {}
    for name in predictor.meta["schema"]["features"]:
        drops = []
        for _ in range(0, repeats, batch):
            stacked = pd.concat([frame] * batch, ignore_index=True)
            stacked[name] = np.concatenate([frame[name].to_numpy()[rng.permutation(n)] for _ in range(batch)])
            scores = predictor.unchecked_scores(stacked)
            drops += [baseline - better(metric, compute(task, y, scores[i * n:(i + 1) * n], threshold)[metric], 0.0)
                      for i in range(batch)]
        result[name] = float(np.mean(drops))
    return result
