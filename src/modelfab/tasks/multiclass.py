"""Multiclass: which of k faults, defects or systems? The most probable class wins."""

from __future__ import annotations

import numpy as np

from modelfab.tasks.classify import Classification


class Multiclass(Classification):
    name = "multiclass"
    default_metric = "accuracy"

    def decide(self, scores: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        return scores.argmax(axis=1)

    def _headline(self, labels: np.ndarray, precision: np.ndarray, recall: np.ndarray, f1: np.ndarray) -> dict:
        """Macro averages over the classes that occur."""
        return {"precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean())}

    def _aucs(self, y: np.ndarray, scores: np.ndarray) -> dict:
        from sklearn import metrics as skm

        if len(np.unique(y)) != scores.shape[1]:
            return {}
        onehot = np.eye(scores.shape[1])[y]
        return {"roc_auc": float(skm.roc_auc_score(y, scores, multi_class="ovr", average="macro")),
                "pr_auc": float(skm.average_precision_score(onehot, scores, average="macro"))}
