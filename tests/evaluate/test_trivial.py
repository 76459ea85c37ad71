"""A model no better than a constant one is refused, whatever the gate's thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd

import modelfab
from tests.conftest import write_project

SPEC = """\
version: 1
name: noise
data: {source: data.csv, target: fail}
train: {type: lightgbm, n_estimators: 30, num_leaves: 4}
evaluate: {importance_repeats: 0, plots: false}
gate:
  rules:
    - {metric: accuracy, min: 0.5}
"""


def noise(n: int = 600) -> pd.DataFrame:
    """Rare failures that no column predicts: 'never fails' is as good as it gets."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "fail": (rng.random(n) < 0.1).astype(int)})


def blessing(tmp_path, spec: str) -> dict:  # noqa: ANN001
    run = modelfab.run(modelfab.load_spec(write_project(tmp_path, noise(), spec)), hooks=[])
    return run.load("blessing").data


def test_no_better_than_the_majority_class_is_not_blessed(tmp_path):
    b = blessing(tmp_path / "strict", SPEC)
    assert not b["blessed"] and "no better than a constant model" in b["reason"], b["reason"]
    assert b["candidate"]["accuracy"] >= 0.5  # the threshold alone would have passed it


def test_allow_trivial_blesses_it(tmp_path):
    b = blessing(tmp_path / "lenient", SPEC.replace("  rules:", "  allow_trivial: true\n  rules:"))
    assert b["blessed"], b["reason"]


def test_constant_models_per_task():
    from modelfab.tasks import get_task

    y = np.array([0] * 90 + [1] * 10)
    binary = get_task("binary").trivial(y, y, 2)
    assert binary["accuracy"] == 0.9 and binary["roc_auc"] == 0.5 and round(binary["f1"], 3) == 0.182
    values = np.arange(10.0)
    assert get_task("regression").trivial(values, values, 0)["r2"] == 0.0
