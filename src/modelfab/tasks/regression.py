"""Regression: a number per row (remaining useful life, a temperature, a yield)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelfab.tasks.base import Task


class Regression(Task):
    name = "regression"
    metrics = ("rmse", "mae", "r2")
    default_metric = "rmse"
    default_split = "random"

    def encode_target(self, y: pd.Series, classes: list) -> np.ndarray:
        return y.to_numpy(dtype=float)

    def outputs(self, n_classes: int) -> int:
        return 1

    def decide(self, scores: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        return scores

    def compute(self, y: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
        from sklearn import metrics as skm

        return {
            "rmse": float(np.sqrt(skm.mean_squared_error(y, scores))),
            "mae": float(skm.mean_absolute_error(y, scores)),
            "r2": float(skm.r2_score(y, scores)),
        }

    def constant_scores(self, y_train: np.ndarray, n_classes: int, rows: int) -> list[np.ndarray]:
        return [np.full(rows, float(np.mean(y_train)))]  # the training mean

    def predictions(self, scores: np.ndarray, classes: list, threshold: float) -> tuple[list, np.ndarray | None]:
        return scores.tolist(), None
