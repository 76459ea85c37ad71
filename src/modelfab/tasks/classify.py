"""What binary and multiclass share: a label among known classes, scores as probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelfab.tasks.base import Task

CLASS_METRICS = ("accuracy", "precision", "recall", "f1", "f1_macro", "roc_auc", "pr_auc")


class Classification(Task):
    has_classes = True
    metrics = CLASS_METRICS
    default_split = "stratified"

    def encode_target(self, y: pd.Series, classes: list) -> np.ndarray:
        """Class labels -> codes 0..k-1 in the classes' order (labels compared as text)."""
        index = {str(c): i for i, c in enumerate(classes)}
        # Converting each distinct value, not each row, keeps this off the per-run bill.
        positions, distinct = pd.factorize(y)
        lookup = np.array([index.get(str(v), -1) for v in distinct] + [-1], dtype=int)
        codes = lookup[positions]  # a missing label has position -1: the appended -1
        if (codes < 0).any():
            unseen = y.iloc[int(np.argmax(codes < 0))]
            unseen = unseen.item() if isinstance(unseen, np.generic) else unseen  # 7, not np.int64(7)
            from modelfab.errors import DataError

            raise DataError(f"target value {unseen!r} was not among the training classes {classes}")
        return codes

    def outputs(self, n_classes: int) -> int:
        return n_classes

    def compute(self, y: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
        from sklearn import metrics as skm

        pred = self.decide(scores, threshold)
        # One pass gives every class's precision, recall and F1 over the classes that occur (as
        # scikit-learn's macro average uses them).
        labels = np.union1d(y, pred)
        precision, recall, f1, _ = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
        out = {"accuracy": float(np.mean(y == pred)), **self._headline(labels, precision, recall, f1),
               "f1_macro": float(f1.mean())}
        if len(np.unique(y)) >= 2:  # AUCs are undefined with one class in the evaluation rows
            out |= self._aucs(y, scores)
        return out

    def details(self, y: np.ndarray, scores: np.ndarray, classes: list, threshold: float) -> dict:
        """Per-class scores and the confusion matrix (rows: true class, columns: predicted)."""
        from sklearn import metrics as skm

        pred = self.decide(scores, threshold)
        labels = list(range(len(classes)))
        f1 = skm.f1_score(y, pred, labels=labels, average=None, zero_division=0)
        support = np.bincount(y, minlength=len(classes))
        return {
            "per_class": {str(c): {"f1": float(f1[i]), "support": int(support[i])} for i, c in enumerate(classes)},
            "confusion_matrix": skm.confusion_matrix(y, pred, labels=labels).tolist(),
        }

    def constant_scores(self, y_train: np.ndarray, n_classes: int, rows: int) -> list[np.ndarray]:
        """Every row the same class, for each class: the majority's accuracy, every row
        positive's recall and F1 (constant scores rank nothing: AUC 0.5)."""
        return [np.tile(np.eye(n_classes)[k], (rows, 1)) for k in range(n_classes)]

    def predictions(self, scores: np.ndarray, classes: list, threshold: float) -> tuple[list, np.ndarray | None]:
        return [classes[i] for i in self.decide(scores, threshold).tolist()], scores

    def _headline(self, labels: np.ndarray, precision: np.ndarray, recall: np.ndarray, f1: np.ndarray) -> dict:
        raise NotImplementedError

    def _aucs(self, y: np.ndarray, scores: np.ndarray) -> dict:
        raise NotImplementedError
