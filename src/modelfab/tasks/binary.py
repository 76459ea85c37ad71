"""Binary: will it fail, is it defective? Scores are the two classes' probabilities; the
decision threshold is chosen on validation rows (train)."""

from __future__ import annotations

import numpy as np

from modelfab.tasks.classify import Classification


class Binary(Classification):
    name = "binary"
    binary = True
    thresholded = True
    default_metric = "f1"

    def decide(self, scores: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        return (scores[:, 1] >= threshold).astype(int)

    def _headline(self, labels: np.ndarray, precision: np.ndarray, recall: np.ndarray, f1: np.ndarray) -> dict:
        """The positive class's precision, recall and F1."""
        positive = np.flatnonzero(labels == 1)
        p, r, f = (float(v[positive[0]]) if len(positive) else 0.0 for v in (precision, recall, f1))
        return {"precision": p, "recall": r, "f1": f}

    def _aucs(self, y: np.ndarray, scores: np.ndarray) -> dict:
        from sklearn import metrics as skm

        return {"roc_auc": float(skm.roc_auc_score(y, scores[:, 1])),
                "pr_auc": float(skm.average_precision_score(y, scores[:, 1]))}
