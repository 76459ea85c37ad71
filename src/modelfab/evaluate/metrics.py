"""Metrics for classification and regression, computed the same way for candidate and champion."""

from __future__ import annotations

import numpy as np

LOWER_IS_BETTER = frozenset({"rmse", "mae"})
DEFAULT_METRIC = {"binary": "f1", "multiclass": "accuracy", "regression": "rmse"}
METRICS_BY_TASK = {
    "binary": ["accuracy", "precision", "recall", "f1", "f1_macro", "roc_auc", "pr_auc"],
    "multiclass": ["accuracy", "precision", "recall", "f1", "f1_macro", "roc_auc", "pr_auc"],
    "regression": ["rmse", "mae", "r2"],
}


def better(metric: str, a: float, b: float) -> float:
    """How much `a` beats `b` (positive is better), whatever the metric's direction."""
    return (b - a) if metric in LOWER_IS_BETTER else (a - b)


def decide(task: str, scores: np.ndarray, threshold: float) -> np.ndarray:
    if task == "regression":
        return scores
    if task == "binary":
        return (scores[:, 1] >= threshold).astype(int)
    return scores.argmax(axis=1)


def compute(task: str, y: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    from sklearn import metrics as skm

    pred = decide(task, scores, threshold)
    if task == "regression":
        return {
            "rmse": float(np.sqrt(skm.mean_squared_error(y, pred))),
            "mae": float(skm.mean_absolute_error(y, pred)),
            "r2": float(skm.r2_score(y, pred)),
        }
    # One pass gives every class's precision, recall and F1 over the classes that occur (as
    # scikit-learn's macro average uses them); binary scores are the positive class's.
    labels = np.union1d(y, pred)
    precision, recall, f1, _ = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    if task == "binary":
        positive = np.flatnonzero(labels == 1)
        precision, recall, f1_pos = (float(v[positive[0]]) if len(positive) else 0.0 for v in (precision, recall, f1))
    else:
        precision, recall, f1_pos = float(precision.mean()), float(recall.mean()), float(f1.mean())
    out = {
        "accuracy": float(np.mean(y == pred)),
        "precision": precision,
        "recall": recall,
        "f1": f1_pos,
        "f1_macro": float(f1.mean()),
    }
    present = np.unique(y)
    if len(present) < 2:
        return out  # AUCs are undefined with one class in the evaluation rows
    if task == "binary":
        out["roc_auc"] = float(skm.roc_auc_score(y, scores[:, 1]))
        out["pr_auc"] = float(skm.average_precision_score(y, scores[:, 1]))
    elif len(present) == scores.shape[1]:
        out["roc_auc"] = float(skm.roc_auc_score(y, scores, multi_class="ovr", average="macro"))
        onehot = np.eye(scores.shape[1])[y]
        out["pr_auc"] = float(skm.average_precision_score(onehot, scores, average="macro"))
    return out


def details(task: str, y: np.ndarray, scores: np.ndarray, classes: list, threshold: float) -> dict:
    """Per-class scores and the confusion matrix (rows: true class, columns: predicted)."""
    from sklearn import metrics as skm

    if task == "regression":
        return {}
    pred = decide(task, scores, threshold)
    labels = list(range(len(classes)))
    f1 = skm.f1_score(y, pred, labels=labels, average=None, zero_division=0)
    support = np.bincount(y, minlength=len(classes))
    return {
        "per_class": {str(c): {"f1": float(f1[i]), "support": int(support[i])} for i, c in enumerate(classes)},
        "confusion_matrix": skm.confusion_matrix(y, pred, labels=labels).tolist(),
    }
