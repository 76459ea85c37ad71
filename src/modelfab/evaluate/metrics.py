"""Metrics, computed the same way for candidate and champion: each task says which and how
(`tasks/`); this module is the evaluate stage's door to them."""

from __future__ import annotations

import numpy as np

from modelfab.tasks import LOWER_IS_BETTER, TASKS, better, get_task

DEFAULT_METRIC = {name: t.default_metric for name, t in TASKS.items()}
METRICS_BY_TASK = {name: list(t.metrics) for name, t in TASKS.items()}

__all__ = ["DEFAULT_METRIC", "LOWER_IS_BETTER", "METRICS_BY_TASK", "better", "compute", "decide", "details"]


def decide(task: str, scores: np.ndarray, threshold: float) -> np.ndarray:
    return get_task(task).decide(scores, threshold)


def compute(task: str, y: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    return get_task(task).compute(y, scores, threshold)


def details(task: str, y: np.ndarray, scores: np.ndarray, classes: list, threshold: float) -> dict:
    """Per-class scores and the confusion matrix (rows: true class, columns: predicted)."""
    return get_task(task).details(y, scores, classes, threshold)

