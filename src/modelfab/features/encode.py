"""Small transforms scikit-learn does not have: a sign-safe log and model-based top-k selection."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_selection import SelectorMixin


class SignedLog(BaseEstimator, TransformerMixin):
    """sign(x) * log1p(|x|): compresses long tails and, unlike log, accepts zero and negatives."""

    def fit(self, X, y=None):  # noqa: ANN001, ANN201
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):  # noqa: ANN001, ANN201
        X = np.asarray(X, dtype=float)
        return np.sign(X) * np.log1p(np.abs(X))

    def get_feature_names_out(self, input_features=None):  # noqa: ANN001, ANN201
        return np.asarray(input_features, dtype=object)


class TopKByModel(SelectorMixin, BaseEstimator):
    """Keep the k features a quick LightGBM model splits on most (gain importance)."""

    def __init__(self, k=20, task="binary", seed=0):
        self.k = k
        self.task = task
        self.seed = seed

    def fit(self, X, y):  # noqa: ANN001, ANN201
        import lightgbm as lgb

        X = np.asarray(X, dtype=float)
        objective = {"regression": "regression", "binary": "binary", "anomaly": "binary"}.get(self.task, "multiclass")
        params = {"objective": objective, "verbosity": -1, "seed": self.seed, "n_estimators": 100}
        if objective == "multiclass":
            params["num_class"] = int(np.max(y)) + 1
        booster = lgb.train({k: v for k, v in params.items() if k != "n_estimators"},
                            lgb.Dataset(X, y), num_boost_round=params["n_estimators"])
        gain = booster.feature_importance("gain")
        self.scores_ = gain.astype(float)
        keep = np.argsort(-gain, kind="stable")[: self.k]
        self.support_ = np.zeros(X.shape[1], dtype=bool)
        self.support_[keep] = True
        self.n_features_in_ = X.shape[1]
        return self

    def _get_support_mask(self):  # noqa: ANN202
        return self.support_
