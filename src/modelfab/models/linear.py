"""Linear baselines: logistic regression for classes, ridge for values; coefficients as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelfab.artifacts import read_json, write_json
from modelfab.models.base import Contributions, ModelFamily, Progress, as_matrix
from modelfab.spec.schema import LinearConfig
from modelfab.tasks import get_task


class LinearModel(ModelFamily):
    type = "linear"

    def _estimator(self) -> Any:
        from sklearn.linear_model import LogisticRegression, Ridge

        c: LinearConfig = self.config
        if not self.kind.has_classes:
            return Ridge(alpha=c.alpha, random_state=c.seed)
        solver = "liblinear" if c.penalty == "l1" and self.task == "binary" else "saga" if c.penalty == "l1" else "lbfgs"
        l1_ratio = 1.0 if c.penalty == "l1" else 0.0
        return LogisticRegression(C=c.C, l1_ratio=l1_ratio, solver=solver, class_weight=c.class_weight,
                                  max_iter=c.max_iter, random_state=c.seed)

    def fit(self, X: Any, y: Any, X_valid: Any = None, y_valid: Any = None,
            progress: Progress | None = None) -> LinearModel:
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        X, y = as_matrix(X), np.asarray(y)
        est = self._estimator()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X.astype(np.float64), y)
        self.estimator_ = est
        if X_valid is not None and len(X_valid):
            self.valid_scores_ = self.predict_scores(X_valid)
        return self

    def predict_scores(self, X: Any) -> np.ndarray:
        self._check_fitted("estimator_")
        X = as_matrix(X).astype(np.float64)
        if not self.kind.has_classes:
            return self.estimator_.predict(X)
        return self.estimator_.predict_proba(X)

    def contributions(self, X: Any) -> Contributions:
        """Each feature's coefficient times its value: exact, against the intercept."""
        self._check_fitted("estimator_")
        X = as_matrix(X).astype(np.float64)
        est = self.estimator_
        coef = np.atleast_2d(est.coef_)  # (outputs, features)
        values = X[:, :, None] * coef.T[None, :, :]
        base = np.atleast_1d(est.intercept_).astype(float)
        if self.kind.has_classes:
            raw, space = est.decision_function(X).reshape(len(X), -1), "margin"
        else:
            raw, space = est.predict(X).reshape(len(X), 1), "value"
        return Contributions(values, base, raw, "linear (coefficient x value)", space)

    def save(self, folder: Path) -> None:
        self._check_fitted("estimator_")
        est = self.estimator_
        state = {"coef": est.coef_, "intercept": np.atleast_1d(est.intercept_), "n_features": est.n_features_in_}
        if self.kind.has_classes:
            state["classes"] = est.classes_
        write_json(folder / "linear.json", state)

    @classmethod
    def load(cls, folder: Path, config: Any, task: str, n_classes: int) -> LinearModel:
        state = read_json(folder / "linear.json")
        model = cls(config, task, n_classes)
        est = model._estimator()
        est.coef_ = np.asarray(state["coef"], dtype=float)
        est.intercept_ = np.asarray(state["intercept"], dtype=float)
        if not get_task(task).has_classes:
            est.intercept_ = float(est.intercept_[0]) if est.coef_.ndim == 1 else est.intercept_
        else:
            est.classes_ = np.asarray(state["classes"])
        est.n_features_in_ = state["n_features"]
        model.estimator_ = est
        return model
