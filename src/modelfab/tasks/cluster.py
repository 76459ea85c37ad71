"""Clustering: which rows belong together, with no label to learn from. A clusterer groups the
training rows by their features; a label column, where there is one (`data.target`), is never
learned from: it only measures how well the clusters agree with it (adjusted Rand index, NMI).

Scores are each row's membership of each cluster, (n, k), summing to 1, or to 0 for a row that
belongs to none (DBSCAN's and HDBSCAN's noise), predicted as cluster -1. The package's
`classes` are the cluster ids, so serving, batch prediction and the prediction log answer
`prediction: <cluster id>` with the memberships as `proba_<id>`.

The figures that need the feature matrix (silhouette, Davies-Bouldin) and the clusters'
profiles are computed by the evaluate stage (evaluate/clusters.py); stability across seeds is
measured when the clusterer is fitted and read from its package.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelfab.tasks.base import Task

NOISE = -1  # the cluster of a row that belongs to none
GEOMETRY = ("silhouette", "davies_bouldin")  # computed on the feature matrix (evaluate)


class Cluster(Task):
    name = "cluster"
    needs_target = False
    clusters = True
    metrics = (*GEOMETRY, "stability", "ari", "nmi", "noise")
    default_metric = "silhouette"
    default_family = "kmeans"

    def encode_target(self, y: pd.Series, classes: list) -> np.ndarray:
        """Label values -> codes in the classes' order; a label training did not see is -1 (a
        label only measures agreement, so a new one is no error)."""
        index = {str(c): i for i, c in enumerate(classes)}
        positions, distinct = pd.factorize(y)
        lookup = np.array([index.get(str(v), -1) for v in distinct] + [-1], dtype=int)
        return lookup[positions]

    def outputs(self, n_classes: int) -> int:
        return n_classes

    def decide(self, scores: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        """The cluster of largest membership; -1 where a row belongs to none."""
        scores = np.asarray(scores)
        return np.where(scores.sum(axis=1) > 0, scores.argmax(axis=1), NOISE)

    def compute(self, y: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
        """The share of noise rows, and agreement with the label where rows have two labels or more."""
        from sklearn import metrics as skm

        pred = self.decide(scores)
        out = {"noise": float(np.mean(pred == NOISE))} if len(pred) else {}
        labelled = np.asarray(y) >= 0
        if len(np.unique(np.asarray(y)[labelled])) >= 2:
            truth, found = np.asarray(y)[labelled], pred[labelled]
            out |= {"ari": float(skm.adjusted_rand_score(truth, found)),
                    "nmi": float(skm.normalized_mutual_info_score(truth, found))}
        return out

    def constant_scores(self, y_train: np.ndarray, n_classes: int, rows: int) -> list[np.ndarray]:
        """Every row in one cluster: what a clustering must beat on agreement (ARI 0)."""
        return [np.ones((rows, 1))]

    def predictions(self, scores: np.ndarray, classes: list, threshold: float) -> tuple[list, np.ndarray | None]:
        return self.decide(scores).tolist(), np.asarray(scores)
