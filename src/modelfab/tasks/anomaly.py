"""Anomaly detection: is this part, this reading, unlike the normal ones? A detector learns what
normal looks like from the normal rows only; a label column (the normal class and the anomalous
one) evaluates it and sets the threshold. Scores are the two classes' probabilities, as for
binary: the anomalous class's is the detector's score scaled by the normal training rows'
quantiles, so every binary part of the factory (threshold, metrics, plots, serving, monitoring)
reads it unchanged.
"""

from __future__ import annotations

import numpy as np

from modelfab.tasks.binary import Binary
from modelfab.tasks.classify import CLASS_METRICS


class Anomaly(Binary):
    name = "anomaly"
    detector = True
    metrics = (*CLASS_METRICS, "flagged")
    default_metric = "roc_auc"

    def compute(self, y: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
        """Binary's metrics with the anomalous class positive, and the share of rows flagged."""
        return super().compute(y, scores, threshold) | {"flagged": float(self.decide(scores, threshold).mean())}
