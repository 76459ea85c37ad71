"""Anomaly detection: is this part, this reading, unlike the normal ones? A detector learns what
normal looks like from the normal rows only; a label column (the normal class and the anomalous
one) evaluates it and sets the threshold. Scores are the two classes' probabilities, as for
binary: the anomalous class's is the detector's score scaled by the normal training rows'
quantiles, so every binary part of the factory (threshold, metrics, plots, serving, monitoring)
reads it unchanged.

Without a label column (`data.target` left out), every training row is taken as normal: the
ingest stage adds the column `(unlabelled)` holding `normal`, the threshold falls back to a
contamination share, and the metrics are the share flagged alone.
"""

from __future__ import annotations

import numpy as np

from modelfab.tasks.binary import Binary
from modelfab.tasks.classify import CLASS_METRICS

UNLABELLED = "(unlabelled)"  # the label column made when there is none
NORMAL, ANOMALOUS = "normal", "anomalous"


class Anomaly(Binary):
    name = "anomaly"
    detector = True
    needs_target = False
    metrics = (*CLASS_METRICS, "flagged")
    default_metric = "roc_auc"
    default_family = "isolation_forest"

    def compute(self, y: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
        """Binary's metrics with the anomalous class positive, and the share of rows flagged; the
        share alone where no row is labelled anomalous (no labels, nothing to score against)."""
        flagged = {"flagged": float(self.decide(scores, threshold).mean())}
        if not (np.asarray(y) == 1).any():
            return flagged
        return super().compute(y, scores, threshold) | flagged
