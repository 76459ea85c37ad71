"""Clusterers behind the model contract (`task: cluster`): k-means and Gaussian mixtures (k
given or chosen), DBSCAN and HDBSCAN (scikit-learn).

`predict_scores` gives each row's membership of each cluster, (n, k): k-means' is a softmax of
the squared distances to the centres (on the scale of the training rows' own distance), a
mixture's its posterior, a density clusterer's 1 for the cluster a row joins and all 0 for
noise. Clusters are numbered by size on the training rows, largest first, so cluster 0 means
the same after a reload and across seeds. `stability_` is the mean adjusted Rand index between
this clustering and refits on subsamples with other seeds (StabilityConfig).

Files: `.npy` arrays (centres, a mixture's parameters, a density clusterer's clustered rows;
no pickle) and `cluster.json`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelfab.artifacts import read_json, write_json
from modelfab.errors import DataError
from modelfab.models.base import ModelFamily, Progress, as_matrix
from modelfab.tasks.cluster import NOISE, Cluster

PROJECTION = ("projection", "projection_mean")  # the PCA of `reduce`, where there is one


class Clusterer(ModelFamily):
    tasks = frozenset({"cluster"})
    ARRAYS: tuple[str, ...] = ()  # the learned arrays saved as .npy, by attribute name
    STATE: tuple[str, ...] = ()  # learned scalars saved in cluster.json

    def fit(self, X: Any, y: Any = None, X_valid: Any = None, y_valid: Any = None,
            progress: Progress | None = None) -> Clusterer:
        X = check_rows(as_matrix(X), self.type)
        rng = np.random.default_rng(self.config.seed)
        self.order_ = None
        X = self._fit_projection(X)
        self.order_ = by_size(self._fit(X, self.config.seed, progress))
        if not self.order_:
            raise DataError(f"train.type {self.type}: every training row is noise; no cluster was found "
                            f"({self._hint()})")
        own = self._labels(X)
        self.sizes_ = [int(np.sum(own == c)) for c in range(self.k)]
        self.stability_ = self._stability(X, rng)
        return self

    def predict_scores(self, X: Any) -> np.ndarray:
        self._check_fitted("order_")
        return self._memberships(self._project(as_matrix(X)))[:, self.order_]

    def predict(self, X: Any) -> np.ndarray:
        return self.assign(as_matrix(X))

    def assign(self, X: np.ndarray) -> np.ndarray:
        """Each row's cluster, -1 for noise."""
        return Cluster().decide(self.predict_scores(X))

    def _labels(self, X: np.ndarray) -> np.ndarray:
        """As `assign`, for rows already projected."""
        return Cluster().decide(self._memberships(X)[:, self.order_])

    def _fit_projection(self, X: np.ndarray) -> np.ndarray:
        self.projection_ = self.projection_mean_ = None
        n = self.config.reduce
        if n is None or n >= X.shape[1]:
            return X
        from sklearn.decomposition import PCA

        pca = PCA(n_components=min(n, len(X)), random_state=self.config.seed).fit(X)
        self.projection_, self.projection_mean_ = pca.components_.astype(np.float64), pca.mean_.astype(np.float64)
        return self._project(X)

    def _project(self, X: np.ndarray) -> np.ndarray:
        if getattr(self, "projection_", None) is None:
            return X
        return ((X - self.projection_mean_) @ self.projection_.T).astype(np.float32)

    @property
    def k(self) -> int:
        return len(self.order_)

    def package_info(self) -> dict:
        """What package.json says of the clusters: their ids (the package's classes), sizes and stability."""
        return {"classes": list(range(self.k)), "clusters": {"k": self.k, "sizes": self.sizes_,
                                                              "stability": self.stability_, **self._chosen()}}

    def _chosen(self) -> dict:
        return {}

    def _stability(self, X: np.ndarray, rng: np.random.Generator) -> float | None:
        """Mean ARI, on up to `sample` training rows, between this clustering and refits on
        subsamples with other seeds (the fitted k or eps kept: the clustering is measured, not
        its choice)."""
        from sklearn.metrics import adjusted_rand_score

        cfg = self.config.stability
        if not cfg.seeds:
            return None
        probe = X[rng.choice(len(X), min(len(X), self.config.sample), replace=False)]
        own = self._labels(probe)
        scores = []
        for i in range(cfg.seeds):
            part = X[rng.choice(len(X), max(2, int(cfg.share * len(X))), replace=False)]
            other = type(self)(self.config, self.task, self.n_classes)
            other._carry(self)
            try:
                other.fit_fixed(part, self.config.seed + 1 + i)
            except DataError:
                scores.append(0.0)  # a subsample the clusterer cannot split agrees with nothing
                continue
            scores.append(adjusted_rand_score(own, other._labels(probe)))
        return float(np.mean(scores))

    def fit_fixed(self, X: np.ndarray, seed: int) -> None:
        """Fit with the choices of the clusterer this one was carried from (k, eps)."""
        self.order_ = by_size(self._fit(X, seed, None))
        if not self.order_:
            raise DataError(f"train.type {self.type}: no cluster found on a subsample")

    def _carry(self, other: Clusterer) -> None:
        """Take `other`'s fitted choices (k, eps) so a refit does not choose again."""

    def _hint(self) -> str:
        return "lower min_samples or the cluster size"

    # each clusterer: fit on X and return the training rows' labels (-1 for noise); memberships
    def _fit(self, X: np.ndarray, seed: int, progress: Progress | None) -> np.ndarray:
        raise NotImplementedError

    def _memberships(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def save(self, folder: Path) -> None:
        self._check_fitted("order_")
        for name in self._arrays():
            np.save(folder / f"{name}.npy", np.asarray(getattr(self, f"{name}_")), allow_pickle=False)
        state = {name: getattr(self, f"{name}_") for name in self.STATE}
        write_json(folder / "cluster.json", {"type": self.type, "order": self.order_, "sizes": self.sizes_,
                                             "stability": self.stability_, "state": state})

    @classmethod
    def load(cls, folder: Path, config: Any, task: str, n_classes: int) -> Clusterer:
        model = cls(config, task, n_classes)
        saved = read_json(folder / "cluster.json")
        model.order_, model.sizes_, model.stability_ = saved["order"], saved["sizes"], saved["stability"]
        for name, value in saved["state"].items():
            setattr(model, f"{name}_", value)
        model.projection_ = None
        for name in cls.ARRAYS + (PROJECTION if (folder / "projection.npy").is_file() else ()):
            setattr(model, f"{name}_", np.load(folder / f"{name}.npy", allow_pickle=False))
        model._restore()
        return model

    def _arrays(self) -> tuple[str, ...]:
        return self.ARRAYS + (PROJECTION if getattr(self, "projection_", None) is not None else ())

    def _restore(self) -> None:
        """Rebuild what is derived from the saved arrays (a mixture's estimator)."""


def by_size(labels: np.ndarray) -> list[int]:
    """The clusters found (noise left out), largest first: the order they are numbered in."""
    found, counts = np.unique(labels[labels != NOISE], return_counts=True)
    return [int(c) for c in found[np.argsort(-counts, kind="stable")]]


def check_rows(X: np.ndarray, family: str) -> np.ndarray:
    """Refuse what cannot be clustered: no feature, every feature constant, or a single row."""
    if X.shape[1] == 0 or not np.any(np.nanmax(X, axis=0) > np.nanmin(X, axis=0)):
        raise DataError(f"train.type {family}: every feature column is constant across the {len(X)} training rows; "
                        "there is nothing to tell rows apart by (are the columns dropped or filled with one value?)")
    if len(X) < 4:
        raise DataError(f"train.type {family}: {len(X)} training rows; clustering needs at least 4")
    return X


def _squared_distances(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    X64, c = X.astype(np.float64), np.asarray(centres, dtype=np.float64)
    return np.maximum((X64**2).sum(1)[:, None] - 2 * X64 @ c.T + (c**2).sum(1)[None, :], 0.0)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class _ChosenK(Clusterer):
    """A clusterer with k clusters: k given, or chosen over k_range by `_quality` (higher is better)."""

    def _fit(self, X: np.ndarray, seed: int, progress: Progress | None) -> np.ndarray:
        fixed = getattr(self, "fixed_k", None) or self.config.k
        distinct = len(np.unique(X[: 100_000], axis=0))
        if fixed is not None:
            _enough(len(X), distinct, fixed, self.type)
            return self._fit_k(X, fixed, seed)
        low, high = self.config.k_range
        high = min(high, len(X) // 2, distinct)
        if high < low:
            raise DataError(f"train.k_range: {list(self.config.k_range)} needs at least {2 * low} training rows with "
                            f"{low} distinct ones; got {len(X)} rows, {distinct} distinct")
        sample = X[np.random.default_rng(seed).choice(len(X), min(len(X), self.config.sample), replace=False)]
        self.k_scores_, best = {}, None
        for i, k in enumerate(range(low, high + 1)):
            if progress:
                progress(i, high - low + 1, f"{self.type}: trying k = {k}")
            labels = self._fit_k(X, k, seed)
            quality = self._quality(X, sample, k)
            self.k_scores_[str(k)] = quality
            if best is None or quality > best[0]:
                best = (quality, k, labels, self._snapshot())
        _, _, labels, state = best
        self._set(state)
        return labels

    def _chosen(self) -> dict:
        scores = getattr(self, "k_scores_", None)
        return {"k_scores": scores, "chosen_by": self.CHOSEN_BY} if scores else {}

    def _carry(self, other: Clusterer) -> None:
        self.fixed_k = other.k

    def _hint(self) -> str:
        return "check the features"


def _enough(rows: int, distinct: int, k: int, family: str) -> None:
    if rows < 2 * k or distinct < k:
        raise DataError(f"train.k: {k} clusters need at least two training rows each, {k} of them distinct; got "
                        f"{rows} rows, {distinct} distinct (lower k, or leave it out to choose one)")


class KMeansModel(_ChosenK):
    type = "kmeans"
    ARRAYS = ("centres",)
    STATE = ("scale",)
    CHOSEN_BY = "silhouette"

    def _fit_k(self, X: np.ndarray, k: int, seed: int) -> np.ndarray:
        from sklearn.cluster import KMeans

        est = KMeans(n_clusters=k, n_init=self.config.n_init, random_state=seed).fit(X)
        self.centres_ = est.cluster_centers_.astype(np.float64)
        self.scale_ = float(max(est.inertia_ / len(X), 1e-12))  # mean squared distance to a row's own centre
        return est.labels_

    def _quality(self, X: np.ndarray, sample: np.ndarray, k: int) -> float:
        from sklearn.metrics import silhouette_score

        labels = _squared_distances(sample, self.centres_).argmin(axis=1)
        return float(silhouette_score(sample, labels)) if len(np.unique(labels)) > 1 else -1.0

    def _snapshot(self) -> tuple:
        return self.centres_, self.scale_

    def _set(self, state: tuple) -> None:
        self.centres_, self.scale_ = state

    def _memberships(self, X: np.ndarray) -> np.ndarray:
        return _softmax(-_squared_distances(X, self.centres_) / self.scale_)


class GaussianMixtureModel(_ChosenK):
    type = "gaussian_mixture"
    ARRAYS = ("weights", "means", "covariances", "precisions_cholesky")
    CHOSEN_BY = "-BIC"

    def _fit_k(self, X: np.ndarray, k: int, seed: int) -> np.ndarray:
        from sklearn.mixture import GaussianMixture

        self.estimator_ = GaussianMixture(n_components=k, covariance_type=self.config.covariance, random_state=seed,
                                          reg_covar=1e-5).fit(X)
        return self.estimator_.predict(X)

    def _quality(self, X: np.ndarray, sample: np.ndarray, k: int) -> float:
        return -float(self.estimator_.bic(X))

    def _snapshot(self) -> object:
        return self.estimator_

    def _set(self, state: object) -> None:
        self.estimator_ = state

    def save(self, folder: Path) -> None:
        for name in self.ARRAYS:
            setattr(self, f"{name}_", getattr(self.estimator_, f"{name}_"))
        super().save(folder)

    def _restore(self) -> None:
        from sklearn.mixture import GaussianMixture

        est = GaussianMixture(n_components=len(self.weights_), covariance_type=self.config.covariance)
        for name in self.ARRAYS:
            setattr(est, f"{name}_", getattr(self, f"{name}_"))
        self.estimator_ = est

    def _memberships(self, X: np.ndarray) -> np.ndarray:
        return self.estimator_.predict_proba(X.astype(np.float64))


class _Density(Clusterer):
    """A density clusterer: new rows join the cluster of the nearest clustered training row
    within `reach_` of it, else they are noise."""

    ARRAYS = ("rows", "labels", "reach")

    def _memberships(self, X: np.ndarray) -> np.ndarray:
        from sklearn.neighbors import NearestNeighbors

        index = getattr(self, "index_", None)
        if index is None:
            index = self.index_ = NearestNeighbors(n_neighbors=1).fit(self.rows_)
        distance, nearest = index.kneighbors(X.astype(np.float32))
        nearest, distance = nearest[:, 0], distance[:, 0]
        labels = np.where(distance <= np.asarray(self.reach_)[nearest] * (1 + 1e-6), self.labels_[nearest], NOISE)
        out = np.zeros((len(X), int(np.max(self.labels_)) + 1))
        member = labels != NOISE
        out[np.flatnonzero(member), labels[member]] = 1.0
        return out

    def _keep(self, X: np.ndarray, labels: np.ndarray, reach: np.ndarray) -> np.ndarray:
        kept = labels != NOISE
        self.rows_, self.labels_ = X[kept].astype(np.float32), labels[kept].astype(np.int64)
        self.reach_, self.index_ = reach[kept].astype(np.float64), None
        return labels


def _kth_distance(X: np.ndarray, k: int) -> np.ndarray:
    """Each row's distance to its k-th nearest row, itself counted (as DBSCAN counts it)."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(X))
    return NearestNeighbors(n_neighbors=k).fit(X).kneighbors(X)[0][:, -1]


class DBSCANModel(_Density):
    type = "dbscan"
    STATE = ("eps",)

    def _fit(self, X: np.ndarray, seed: int, progress: Progress | None) -> np.ndarray:
        from sklearn.cluster import DBSCAN

        c = self.config
        eps = getattr(self, "eps_", None) or c.eps or float(np.quantile(_kth_distance(X, c.min_samples), 0.9))
        self.eps_ = max(eps, 1e-12)
        est = DBSCAN(eps=self.eps_, min_samples=c.min_samples).fit(X)
        core = np.zeros(len(X), dtype=bool)
        core[est.core_sample_indices_] = True
        labels = np.where(core, est.labels_, NOISE)  # only core rows take new ones in
        self._keep(X, labels, np.full(len(X), self.eps_))
        return est.labels_

    def _carry(self, other: Clusterer) -> None:
        self.eps_ = other.eps_

    def _chosen(self) -> dict:
        return {"eps": self.eps_}

    def _hint(self) -> str:
        return f"eps {self.eps_:.4g} is too small for min_samples {self.config.min_samples}"


class HDBSCANModel(_Density):
    type = "hdbscan"

    def _fit(self, X: np.ndarray, seed: int, progress: Progress | None) -> np.ndarray:
        from sklearn.cluster import HDBSCAN

        c = self.config
        samples = c.min_samples or c.min_cluster_size
        if len(X) <= c.min_cluster_size:
            raise DataError(f"train.min_cluster_size: {c.min_cluster_size} is not below the {len(X)} training rows")
        labels = HDBSCAN(min_cluster_size=c.min_cluster_size, min_samples=samples, copy=True).fit(X).labels_
        return self._keep(X, labels, _kth_distance(X, samples))
