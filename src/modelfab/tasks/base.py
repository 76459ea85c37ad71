"""What a task is: the contract every task file fills in.

A task owns what differs between binary, multiclass and regression (and, later, anomaly
detection, clustering or control): whether it needs a target and how the target is encoded,
how scores become predictions, which metrics it is judged by and which one the gate reads by
default, the default split, how many outputs a net has, what the server answers, and which
pipeline runs it. Adding a task is one file here and one line in `tasks/__init__.py`; the
contract suite (tests/tasks) runs every task through the same checks.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

# Metrics (and training losses) where a smaller value is better; every direction test reads this.
LOWER_IS_BETTER = frozenset({"rmse", "mae", "loss", "train_loss", "davies_bouldin"})
# Figures with no better direction (the share of rows a detector flags, or a clusterer calls
# noise): a gate bounds them.
UNRANKED = frozenset({"flagged", "noise"})


def better(metric: str, a: float, b: float) -> float:
    """How much `a` beats `b` (positive is better), whatever the metric's direction."""
    return (b - a) if metric in LOWER_IS_BETTER else (a - b)


class Task:
    """One kind of question. Subclasses set the class attributes and the methods that differ."""

    name: ClassVar[str]
    pipeline: ClassVar[str] = "tables"  # pipelines.PIPELINES key
    needs_target: ClassVar[bool] = True
    has_classes: ClassVar[bool] = False  # the target is a label among `classes`
    binary: ClassVar[bool] = False  # two classes, scored by the positive one's probability
    detector: ClassVar[bool] = False  # models learn what normal looks like from the normal rows
    thresholded: ClassVar[bool] = False  # a decision threshold is chosen on validation rows (train)
    clusters: ClassVar[bool] = False  # models group rows with no label; a label only measures agreement
    metrics: ClassVar[tuple[str, ...]] = ()
    default_metric: ClassVar[str] = ""
    default_split: ClassVar[str] = "random"
    default_family: ClassVar[str] = "lightgbm"  # the train.type a spec without `train:` gets

    def encode_target(self, y: pd.Series, classes: list) -> np.ndarray:
        """Target values -> what models learn (class codes 0..k-1, or floats)."""
        raise NotImplementedError

    def outputs(self, n_classes: int) -> int:
        """Columns of a model's scores (a net's output units)."""
        raise NotImplementedError

    def decide(self, scores: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        """Scores -> predicted codes (or values)."""
        raise NotImplementedError

    def compute(self, y: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
        """Every metric of `metrics` that is defined for these rows."""
        raise NotImplementedError

    def details(self, y: np.ndarray, scores: np.ndarray, classes: list, threshold: float) -> dict:
        """Per-class scores and the like, for the evaluation record."""
        return {}

    def constant_scores(self, y_train: np.ndarray, n_classes: int, rows: int) -> list[np.ndarray]:
        """The scores of the constant models a real one must beat, for `rows` rows."""
        raise NotImplementedError

    def trivial(self, y_train: np.ndarray, y: np.ndarray, n_classes: int) -> dict[str, float]:
        """Each metric's best value among the constant models, on the rows `y`."""
        best: dict[str, float] = {}
        for scores in self.constant_scores(y_train, n_classes, len(y)):
            for metric, value in self.compute(y, scores).items():
                if metric not in best or better(metric, value, best[metric]) > 0:
                    best[metric] = value
        return best

    def predictions(self, scores: np.ndarray, classes: list, threshold: float) -> tuple[list, np.ndarray | None]:
        """What is answered for each row of scores: the prediction (a class label or a value),
        and the class probabilities where the task has them (the server, batch prediction)."""
        raise NotImplementedError
