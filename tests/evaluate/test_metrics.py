"""Metrics are computed in one pass, so they must agree with scikit-learn's own functions."""

import numpy as np
import pytest
from sklearn import metrics as skm

from modelfab.evaluate.metrics import compute


@pytest.mark.parametrize("seed", range(60))
def test_threshold_metrics_agree_with_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    task = "binary" if seed % 2 else "multiclass"
    k = 2 if task == "binary" else int(rng.integers(3, 6))
    n = int(rng.integers(5, 40))
    y = rng.integers(0, k, n)
    if seed % 7 == 0:
        y[:] = rng.integers(0, k)  # one class only: macro averages over what occurs
    scores = rng.random((n, k))
    scores /= scores.sum(axis=1, keepdims=True)
    got = compute(task, y, scores, 0.5)
    pred = (scores[:, 1] >= 0.5).astype(int) if task == "binary" else scores.argmax(axis=1)
    average = "binary" if task == "binary" else "macro"
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred, average=average, zero_division=0),
        "recall": skm.recall_score(y, pred, average=average, zero_division=0),
        "f1": skm.f1_score(y, pred, average=average, zero_division=0),
        "f1_macro": skm.f1_score(y, pred, average="macro", zero_division=0),
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name
