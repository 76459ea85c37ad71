"""The bootstrap's vectorized metrics are scikit-learn's metrics of the resampled rows, and the
intervals hold the test metric."""

from __future__ import annotations

import numpy as np
import pytest

from modelfab.evaluate import metrics
from modelfab.evaluate.bootstrap import _binary_aucs, _classes, _regression, intervals


def data(task: str, n: int = 500, seed: int = 0):  # noqa: ANN201
    rng = np.random.default_rng(seed)
    if task == "regression":
        y = rng.normal(size=n)
        return y, y + rng.normal(0, 0.3, n)
    k = 2 if task == "binary" else 5
    y = rng.integers(0, k, n)
    raw = rng.random((n, k)) + 0.8 * np.eye(k)[y]
    s = (raw / raw.sum(1, keepdims=True)).round(2)  # rounded: ties in the scores
    s[:, -1] = 1 - s[:, :-1].sum(1)
    return y, s


def weighted(task: str, W: np.ndarray, y: np.ndarray, s: np.ndarray) -> dict:
    if task == "regression":
        return _regression(W, y, s)
    out = _classes(W, y, metrics.decide(task, s, 0.5), s.shape[1], task == "binary")
    return out | (_binary_aucs(W, y, s[:, 1]) if task == "binary" else {})


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_one_resample_scores_what_scikit_learn_scores_on_the_drawn_rows(task):
    y, s = data(task)
    rows = np.random.default_rng(1).integers(0, len(y), len(y))
    W = np.bincount(rows, minlength=len(y))[None].astype(float)
    expected = metrics.compute(task, y[rows], s[rows], 0.5)
    got = weighted(task, W, y, s)
    for name, values in got.items():
        assert values[0] == pytest.approx(expected[name], abs=1e-9), name


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_the_intervals_hold_the_test_metric_and_narrow_with_more_rows(task):
    y, s = data(task)
    point = metrics.compute(task, y, s, 0.5)
    small = intervals(task, y[:100], s[:100], 0.5, 200)
    wide = intervals(task, y, s, 0.5, 200)
    for name, (lo, hi) in wide.items():
        assert lo <= point[name] <= hi, name
        assert hi - lo < small[name][1] - small[name][0], name
    assert ("roc_auc" in wide) == (task == "binary")  # multiclass AUCs: not cheap, left out
