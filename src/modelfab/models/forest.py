"""Tree ensembles from scikit-learn (extra trees, random forest), saved with skops.

Bagged, fully grown trees make different mistakes from boosted ones, which is what an
ensemble of families needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelfab.features.persist import load_transform, save_transform
from modelfab.models.base import Contributions, ModelFamily, Progress, as_matrix, deadline_of
from modelfab.spec.schema import ForestConfig

FILE = "forest.skops"


class _Forest(ModelFamily):
    classifier: str
    regressor: str

    def _estimator(self) -> Any:
        import sklearn.ensemble as ens

        c: ForestConfig = self.config
        cls = getattr(ens, self.classifier if self.kind.has_classes else self.regressor)
        extra = {"class_weight": c.class_weight} if self.kind.has_classes else {}
        return cls(n_estimators=c.n_estimators, max_features=c.max_features, min_samples_leaf=c.min_samples_leaf,
                   max_depth=c.max_depth, n_jobs=c.threads or -1, random_state=c.seed, **extra)

    def fit(self, X: Any, y: Any, X_valid: Any = None, y_valid: Any = None,
            progress: Progress | None = None) -> _Forest:
        X, y = as_matrix(X), np.asarray(y)
        deadline = deadline_of(self)
        self.estimator_ = self._estimator().fit(X, y) if deadline is None else self._grown(X, y, deadline)
        if X_valid is not None and len(X_valid):
            self.valid_scores_ = self.predict_scores(X_valid)
        return self

    def _grown(self, X: np.ndarray, y: np.ndarray, deadline: float) -> Any:
        """Trees in chunks until `n_estimators` or the deadline: warm start adds trees with the
        random states a single fit would draw, so a forest that finishes is the same forest."""
        import time

        target = self.config.n_estimators
        estimator = self._estimator().set_params(warm_start=True, n_estimators=min(target, max(8, target // 10)))
        while True:
            started = time.monotonic()
            grown = len(getattr(estimator, "estimators_", []))
            estimator.fit(X, y)
            n = len(estimator.estimators_)
            per_tree = (time.monotonic() - started) / max(n - grown, 1)
            room = int((deadline - time.monotonic()) / max(per_tree, 1e-9))
            if n >= target or room < 1:
                return estimator.set_params(warm_start=False)
            estimator.set_params(n_estimators=min(target, n + min(room, max(8, target // 4))))

    def predict_scores(self, X: Any) -> np.ndarray:
        self._check_fitted("estimator_")
        X = as_matrix(X)
        if not self.kind.has_classes:
            return self.estimator_.predict(X)
        proba = self.estimator_.predict_proba(X)
        if proba.shape[1] == self.n_classes:
            return proba
        # A class missing from the training rows still gets its (zero) column.
        full = np.zeros((len(X), self.n_classes))
        full[:, self.estimator_.classes_.astype(int)] = proba
        return full

    def contributions(self, X: Any) -> Contributions:
        """Exact SHAP values from SHAP's TreeExplainer, on the probabilities (or values) the
        forest averages."""
        import shap

        self._check_fitted("estimator_")
        X = as_matrix(X)
        explainer = shap.TreeExplainer(self.estimator_)
        values = np.asarray(explainer.shap_values(X, check_additivity=False), dtype=float)
        base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
        values = values if values.ndim == 3 else values[:, :, None]
        if self.task == "binary":  # the positive class (code 1) only
            column = list(self.estimator_.classes_).index(1)
            values, base = values[:, :, column:column + 1], base[column:column + 1]
        elif self.kind.has_classes and values.shape[2] != self.n_classes:
            full = np.zeros((*values.shape[:2], self.n_classes))
            full_base = np.zeros(self.n_classes)
            full[:, :, self.estimator_.classes_.astype(int)] = values
            full_base[self.estimator_.classes_.astype(int)] = base
            values, base = full, full_base
        scores = self.predict_scores(X).reshape(len(X), -1)
        raw = scores[:, 1:2] if self.task == "binary" else scores
        space = "probability" if self.kind.has_classes else "value"
        return Contributions(values, base, raw, "tree SHAP (SHAP's TreeExplainer)", space)

    def save(self, folder: Path) -> None:
        self._check_fitted("estimator_")
        save_transform(self.estimator_, folder / FILE)

    @classmethod
    def load(cls, folder: Path, config: Any, task: str, n_classes: int) -> _Forest:
        model = cls(config, task, n_classes)
        model.estimator_ = load_transform(folder / FILE)
        return model


class ExtraTreesModel(_Forest):
    type = "extra_trees"
    classifier, regressor = "ExtraTreesClassifier", "ExtraTreesRegressor"


class RandomForestModel(_Forest):
    type = "random_forest"
    classifier, regressor = "RandomForestClassifier", "RandomForestRegressor"
