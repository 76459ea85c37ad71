"""Anomaly detectors behind the model contract (`task: anomaly`): Isolation Forest and Local
Outlier Factor (scikit-learn), kNN (PyOD), ECOD, and several combined (by rank, or on one scale);
the autoencoder is in `autoencoder.py`.

Each learns from the normal training rows (code 0; or all rows under `on: all`) and scores a
row by how unusual it is. That raw score is scaled by the normal training rows' own scores
(their median maps to 0.5, their 99th percentile to 0.99, through a logistic), which keeps the
order (so ROC-AUC) and gives the anomalous class a probability-like column, as a binary model's:
`predict_scores` returns (n, 2).

ECOD is computed here against the training rows' empirical distributions: PyOD's ECOD scores a
batch by adding its rows to the training rows' distributions, so a row's score would depend on
the rows it is scored with, and one row served would not score as in a batch. Files: skops for
the scikit-learn detectors, `.npy` arrays (no pickle) for kNN's training rows and ECOD's
distributions, `detector.json` for the scale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelfab.artifacts import read_json, write_json
from modelfab.models.base import ModelFamily, Progress, as_matrix

SPREAD = np.log(99.0)  # the logistic's slope: the 99th percentile of normal scores maps to 0.99


class Detector(ModelFamily):
    tasks = frozenset({"anomaly"})

    def fit(self, X: Any, y: Any, X_valid: Any = None, y_valid: Any = None,
            progress: Progress | None = None) -> Detector:
        X, y = as_matrix(X), np.asarray(y)
        rows = X if self.config.on == "all" or y is None or not len(y) else X[y == 0]
        if len(rows) < 2:
            from modelfab.errors import DataError

            raise DataError(f"train.type {self.type}: {len(rows)} normal training rows; a detector needs more")
        train_scores = self._fit(rows)
        q50, q99 = np.quantile(train_scores, [0.5, 0.99])
        self.scale_ = [float(q50), float(max(q99 - q50, 1e-12))]
        self.train_standard_ = SPREAD * (train_scores - self.scale_[0]) / self.scale_[1]  # an ensemble ranks by these
        if X_valid is not None and len(X_valid):
            self.valid_scores_ = self.predict_scores(X_valid)
        return self

    def predict_scores(self, X: Any) -> np.ndarray:
        self._check_fitted("scale_")
        return _two_columns(1.0 / (1.0 + np.exp(-np.clip(self.standard(X), -700, 700))))

    def standard(self, X: Any) -> np.ndarray:
        """The raw score on the normal rows' scale: 0 at their median, log(99) at their 99th percentile."""
        q50, spread = self.scale_
        return SPREAD * (self._raw(as_matrix(X)) - q50) / spread

    # each detector: fit on normal rows and return their own (out-of-sample where it can) scores
    def _fit(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _raw(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def save(self, folder: Path) -> None:
        self._check_fitted("scale_")
        write_json(folder / "detector.json", {"type": self.type, "scale": self.scale_})
        self._save(folder)

    @classmethod
    def load(cls, folder: Path, config: Any, task: str, n_classes: int) -> Detector:
        model = cls(config, task, n_classes)
        model.scale_ = read_json(folder / "detector.json")["scale"]
        model._load(folder)
        return model

    def _save(self, folder: Path) -> None:
        raise NotImplementedError

    def _load(self, folder: Path) -> None:
        raise NotImplementedError


def _two_columns(p: np.ndarray) -> np.ndarray:
    return np.column_stack([1.0 - p, p])


class _SkopsDetector(Detector):
    FILE = "detector.skops"

    def _save(self, folder: Path) -> None:
        from modelfab.features.persist import save_transform

        save_transform(self.estimator_, folder / self.FILE)

    def _load(self, folder: Path) -> None:
        from modelfab.features.persist import load_transform

        self.estimator_ = load_transform(folder / self.FILE)

    def _raw(self, X: np.ndarray) -> np.ndarray:
        return -self.estimator_.score_samples(X)  # scikit-learn: lower is more abnormal


class IsolationForestModel(_SkopsDetector):
    type = "isolation_forest"

    def _fit(self, X: np.ndarray) -> np.ndarray:
        from sklearn.ensemble import IsolationForest

        c = self.config
        self.estimator_ = IsolationForest(n_estimators=c.n_estimators, max_samples=min(c.max_samples, len(X)),
                                          max_features=c.max_features, random_state=c.seed, n_jobs=-1).fit(X)
        return self._raw(X)


def reference_rows(X: np.ndarray, config: Any) -> np.ndarray:
    """The normal rows a neighbour detector keeps: all, or a seeded sample of `reference` rows."""
    if config.reference is None or len(X) <= config.reference:
        return X
    keep = np.random.default_rng(config.seed).choice(len(X), config.reference, replace=False)
    return X[np.sort(keep)]


class LOFModel(_SkopsDetector):
    type = "lof"

    def _fit(self, X: np.ndarray) -> np.ndarray:
        from sklearn.neighbors import LocalOutlierFactor

        X = reference_rows(X, self.config)
        k = min(self.config.n_neighbors, len(X) - 1)
        self.estimator_ = LocalOutlierFactor(n_neighbors=k, novelty=True, n_jobs=-1).fit(X)
        return -self.estimator_.negative_outlier_factor_  # each training row without itself


class KNNModel(Detector):
    """PyOD's kNN; its training rows are kept as an array and the neighbour index rebuilt on load."""

    type = "knn"

    def _fit(self, X: np.ndarray) -> np.ndarray:
        self.train_ = np.ascontiguousarray(reference_rows(X, self.config), dtype=np.float64)
        self.detector_ = self._build()
        return self.detector_.decision_scores_  # each training row without itself

    def _build(self):  # noqa: ANN202
        from pyod.models.knn import KNN

        k = min(self.config.n_neighbors, len(self.train_) - 1)
        return KNN(n_neighbors=k, method=self.config.method, n_jobs=1).fit(self.train_)

    def _raw(self, X: np.ndarray) -> np.ndarray:
        return self.detector_.decision_function(X.astype(np.float64))

    def _save(self, folder: Path) -> None:
        np.save(folder / "knn_train.npy", self.train_, allow_pickle=False)

    def _load(self, folder: Path) -> None:
        self.train_ = np.load(folder / "knn_train.npy", allow_pickle=False)
        self.detector_ = self._build()


class ECODModel(Detector):
    """ECOD's left and right tail probabilities per column, from the training rows' sorted
    values, combined by each column's skewness as in the paper; their negative logs summed."""

    type = "ecod"

    def _fit(self, X: np.ndarray) -> np.ndarray:
        from scipy.stats import skew

        self.sorted_ = np.sort(X, axis=0)
        self.skew_ = np.sign(np.nan_to_num(skew(X, axis=0)))
        return self._raw(X)

    def _raw(self, X: np.ndarray) -> np.ndarray:
        n = len(self.sorted_)
        left = np.column_stack([np.searchsorted(self.sorted_[:, j], X[:, j], side="right")
                                for j in range(X.shape[1])]) / n
        right = np.column_stack([n - np.searchsorted(self.sorted_[:, j], X[:, j], side="left")
                                 for j in range(X.shape[1])]) / n
        u_left, u_right = -np.log(np.clip(left, 1 / (n + 1), 1)), -np.log(np.clip(right, 1 / (n + 1), 1))
        u_skew = np.where(self.skew_ < 0, u_left, u_right)
        return np.maximum(np.maximum(u_left, u_right), u_skew).sum(axis=1)

    def _save(self, folder: Path) -> None:
        np.save(folder / "ecod_sorted.npy", self.sorted_, allow_pickle=False)
        np.save(folder / "ecod_skew.npy", self.skew_, allow_pickle=False)

    def _load(self, folder: Path) -> None:
        self.sorted_ = np.load(folder / "ecod_sorted.npy", allow_pickle=False)
        self.skew_ = np.load(folder / "ecod_skew.npy", allow_pickle=False)


DETECTORS = {d.type: d for d in (IsolationForestModel, LOFModel, KNNModel, ECODModel)}


GRID = np.linspace(0.0, 1.0, 1001)  # the quantiles of each member's normal training scores kept for ranking


class DetectorsModel(Detector):
    """Several detectors' scores combined: by `combine: rank`, the mean of each one's rank among
    its own normal training rows' (out-of-sample) scores, so no detector's scale outweighs
    another's; by `combine: standard`, the mean of the scores on their normal rows' scale. A
    rank beyond every training row's grows on with the score, so the most unusual rows do not
    all tie at 1; a row's rank depends on the training rows alone, never on the rows scored with it."""

    type = "detectors"

    def _fit(self, X: np.ndarray) -> np.ndarray:
        from modelfab.models import make_model

        self.members_ = []
        for config in self.config.members:
            member = make_model(config.model_copy(update={"on": "all"}), self.task, self.n_classes,
                                layout=self.layout)
            member.fit(X, np.zeros(len(X), dtype=int))
            self.members_.append(member)
        self.quantiles_ = np.stack([np.quantile(m.train_standard_, GRID) for m in self.members_])
        return self._raw(X)

    def _raw(self, X: np.ndarray) -> np.ndarray:
        standard = [m.standard(X) for m in self.members_]
        if self.config.combine == "standard":
            return np.mean(standard, axis=0)
        return np.mean([rank(z, q) for z, q in zip(standard, self.quantiles_, strict=True)], axis=0)

    def _save(self, folder: Path) -> None:
        for k, member in enumerate(self.members_):
            (folder / f"member{k}").mkdir()
            member.save(folder / f"member{k}")
        np.save(folder / "quantiles.npy", self.quantiles_, allow_pickle=False)

    def _load(self, folder: Path) -> None:
        from modelfab.models import family

        self.members_ = [family(c.type).load(folder / f"member{k}", c, self.task, self.n_classes)
                         for k, c in enumerate(self.config.members)]
        self.quantiles_ = np.load(folder / "quantiles.npy", allow_pickle=False)


def rank(z: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Where each score falls among the normal training scores (0 to 1), and past the highest
    one, 1 plus the excess in units of the normal rows' spread."""
    return np.interp(z, quantiles, GRID) + np.maximum(z - quantiles[-1], 0.0) / SPREAD
