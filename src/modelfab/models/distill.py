"""Distillation: a teacher's soft outputs taught to one LightGBM or one net (`train.type: distill`).

The teacher (an ensemble, a search, any table family) is fitted as usual; it then labels the
training rows and `augment` perturbed copies of them (each feature taken, with chance `swap`,
from another random row: MUNGE-like, in the features' own space), and the student learns those
labels: values by squared error, a binary probability by cross-entropy, class probabilities by
a softmax cross-entropy against the soft targets (LightGBM's multiclass objective takes hard
labels only). A net student learns values by squared error and class probabilities by its
cross-entropy against them. A registered teacher (a blend, a large net) scores the training rows
through its own package, in the train stage. The package keeps the student alone; how closely
it follows its teacher is recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelfab.artifacts import read_json, write_json
from modelfab.errors import FabError
from modelfab.models.base import ModelFamily, Progress, as_matrix

FILE = "distill.json"


class DistillModel(ModelFamily):
    type = "distill"

    def fit(self, X: Any, y: Any, X_valid: Any = None, y_valid: Any = None,
            progress: Progress | None = None, refit_valid: tuple | None = None) -> DistillModel:
        """`refit_valid`: passed to a net student (see NetFamily.fit). A registered teacher's
        scores of the training rows come in `taught_`, set by the train stage before fit."""
        X = as_matrix(X)
        if self.config.registered_teacher:
            teacher, rows, taught = None, X, self._taught(len(X))
        else:
            teacher = self._teacher(X, y, X_valid, y_valid, progress)
            rows = np.vstack([X, *self._copies(X)])
            taught = teacher.predict_scores(rows)
        if self.config.student.type == "lightgbm":
            self.booster_ = self._student(rows, self._soft(taught))
        else:
            self.student_ = self._net_student(rows, taught, X_valid, y_valid, progress, refit_valid)
        self.rows_taught_ = len(rows)
        if teacher is None:  # how closely the student follows its teacher, where the teacher's scores are known
            gap = np.abs(self.predict_scores(X) - taught)
            self.fidelity_ = {"rows": "training", "mean_abs_gap": float(gap.mean()), "max_abs_gap": float(gap.max())}
        if X_valid is not None and len(X_valid):
            X_valid = as_matrix(X_valid)
            self.valid_scores_ = self.predict_scores(X_valid)
            if teacher is not None:
                if getattr(teacher, "trained_on_valid_", False):
                    self.trained_on_valid_ = True  # the teacher learnt from the validation rows too
                gap = np.abs(self.valid_scores_ - teacher.predict_scores(X_valid))
                self.fidelity_ = {"rows": "validation", "mean_abs_gap": float(gap.mean()),
                                  "max_abs_gap": float(gap.max())}
        self.trained_on_valid_ |= getattr(getattr(self, "student_", None), "trained_on_valid_", False)
        return self

    def _taught(self, n: int) -> np.ndarray:
        taught = getattr(self, "taught_", None)
        if taught is None or len(taught) != n:
            raise FabError(f"train.teacher: the registered teacher {self.config.registered_teacher!r} gave "
                           f"{'no' if taught is None else len(taught)} scores for {n} training rows; expected one "
                           "per row")
        return np.asarray(taught, dtype=np.float64)

    def _teacher(self, X: np.ndarray, y: Any, X_valid: Any, y_valid: Any, progress: Progress | None) -> ModelFamily:
        from modelfab.models import family

        teacher = family(self.config.teacher.type)(self.config.teacher, self.task, self.n_classes)
        teacher.layout = getattr(self, "layout", None)
        return teacher.fit(X, y, X_valid, y_valid, progress)

    def _net_student(self, rows: np.ndarray, taught: np.ndarray, X_valid: Any, y_valid: Any,
                     progress: Progress | None, refit_valid: tuple | None) -> ModelFamily:
        """A net learns the teacher's values, or its class probabilities (soft cross-entropy)."""
        from modelfab.models import make_model

        student = make_model(self.config.student, self.task, self.n_classes, layout=self.layout)
        target = taught if self.kind.has_classes else taught.ravel()
        return student.fit(rows, target.astype(np.float32), X_valid, y_valid, progress, refit_valid=refit_valid)

    def _copies(self, X: np.ndarray) -> list[np.ndarray]:
        rng = np.random.default_rng(self.config.seed)
        out = []
        for _ in range(self.config.augment):
            copy, partner = X.copy(), X[rng.permutation(len(X))]
            take = rng.random(X.shape) < self.config.swap
            copy[take] = partner[take]
            out.append(copy)
        return out

    def _soft(self, scores: np.ndarray) -> np.ndarray:
        """The targets: values, P(positive), or the (n, k) class probabilities."""
        return scores[:, 1] if self.task == "binary" else scores

    def _student(self, X: np.ndarray, target: np.ndarray) -> Any:
        import lightgbm as lgb

        c = self.config.student
        params = {"learning_rate": c.learning_rate, "num_leaves": c.num_leaves, "max_depth": c.max_depth,
                  "min_child_samples": c.min_child_samples, "bagging_fraction": c.subsample,
                  "bagging_freq": 1 if c.subsample < 1 else 0, "feature_fraction": c.colsample_bytree,
                  "lambda_l1": c.reg_alpha, "lambda_l2": c.reg_lambda, "max_bin": c.max_bin,
                  "min_data_in_bin": c.min_data_in_bin, "seed": c.seed, "deterministic": True,
                  "force_row_wise": True, "verbosity": -1, **({"num_threads": c.threads} if c.threads else {})}
        if self.task == "multiclass":
            params |= {"objective": _soft_softmax, "num_class": self.n_classes}
            data = lgb.Dataset(X, np.zeros(len(X)), params={"max_bin": c.max_bin})
            data.soft_ = target
        else:
            params["objective"] = "cross_entropy" if self.task == "binary" else "regression"
            data = lgb.Dataset(X, target)
        return lgb.train(params, data, num_boost_round=c.n_estimators)

    def predict_scores(self, X: Any) -> np.ndarray:
        if hasattr(self, "student_"):
            return self.student_.predict_scores(X)
        self._check_fitted("booster_")
        raw = np.asarray(self.booster_.predict(as_matrix(X)))
        if self.task == "binary":
            return np.column_stack([1 - raw, raw])
        if self.task == "multiclass":  # a custom objective: the booster gives raw sums
            z = np.exp(raw - raw.max(axis=1, keepdims=True))
            return z / z.sum(axis=1, keepdims=True)
        return raw

    def feature_importance(self) -> np.ndarray:
        if hasattr(self, "student_"):
            return self.student_.feature_importance()
        self._check_fitted("booster_")
        return self.booster_.feature_importance("gain")

    def package_info(self) -> dict:
        return {"distilled": {"rows_taught": getattr(self, "rows_taught_", None),
                              "fidelity": getattr(self, "fidelity_", None)}}

    def save(self, folder: Path) -> None:
        if hasattr(self, "student_"):
            (folder / "student").mkdir()
            self.student_.save(folder / "student")
        else:
            self._check_fitted("booster_")
            self.booster_.save_model(str(folder / "student.txt"))
        teacher = self.config.registered_teacher or self.config.teacher.type
        write_json(folder / FILE, {"teacher": teacher, "student": self.config.student.type,
                                   **self.package_info()["distilled"]})

    @classmethod
    def load(cls, folder: Path, config: Any, task: str, n_classes: int) -> DistillModel:
        import lightgbm as lgb

        model = cls(config, task, n_classes)
        if (folder / "student").is_dir():
            from modelfab.models import family

            model.student_ = family(config.student.type).load(folder / "student", config.student, task, n_classes)
        else:
            model.booster_ = lgb.Booster(model_file=str(folder / "student.txt"))
        state = read_json(folder / FILE)
        model.rows_taught_, model.fidelity_ = state["rows_taught"], state.get("fidelity")
        return model


def _soft_softmax(preds: np.ndarray, data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Softmax cross-entropy against soft targets: gradient p - q, LightGBM's own hessian."""
    q = data.soft_
    z = np.exp(preds - preds.max(axis=1, keepdims=True))
    p = z / z.sum(axis=1, keepdims=True)
    k = p.shape[1]
    return p - q, np.maximum(k / (k - 1) * p * (1 - p), 1e-6)
