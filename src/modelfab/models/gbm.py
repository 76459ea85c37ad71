"""Gradient-boosted trees with LightGBM, saved in LightGBM's own text format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelfab.artifacts import read_json, write_json
from modelfab.models.base import Contributions, ModelFamily, Progress, as_matrix, balanced_weights, deadline_of
from modelfab.spec.schema import LightGBMConfig


class LightGBMModel(ModelFamily):
    type = "lightgbm"

    def _params(self) -> dict:
        c: LightGBMConfig = self.config
        objective = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}[self.task]
        params = {
            "objective": objective, "learning_rate": c.learning_rate, "num_leaves": c.num_leaves,
            "max_depth": c.max_depth, "min_child_samples": c.min_child_samples,
            "bagging_fraction": c.subsample, "bagging_freq": 1 if c.subsample < 1 else 0,
            "feature_fraction": c.colsample_bytree, "lambda_l1": c.reg_alpha, "lambda_l2": c.reg_lambda,
            "seed": c.seed, "deterministic": True, "force_row_wise": True, "verbosity": -1,
            "max_bin": c.max_bin, "min_data_in_bin": c.min_data_in_bin,
        }
        if c.threads:
            params["num_threads"] = c.threads
        if self.task == "multiclass":
            params["num_class"] = self.n_classes
        return params

    @classmethod
    def fold_config(cls, config: LightGBMConfig) -> LightGBMConfig:
        return config.model_copy(update={"refit_full": False})  # the fold's held-out rows stay unseen

    @classmethod
    def all_rows_config(cls, config: LightGBMConfig, fold_models: list) -> LightGBMConfig:
        if not config.early_stopping_rounds:
            return config
        # Each fold stopped early on its held-out rows; all rows are a bit more, so a bit more rounds.
        rounds = np.mean([m.best_iteration_ for m in fold_models]) * (1 + 1 / max(len(fold_models), 1))
        return config.model_copy(update={"n_estimators": max(1, int(round(rounds))), "early_stopping_rounds": None})

    def _dataset_params(self) -> dict:
        # Binning happens when the Dataset is built, so these must reach it, not only train().
        return {"max_bin": self.config.max_bin, "min_data_in_bin": self.config.min_data_in_bin, "verbosity": -1}

    def fit(self, X: Any, y: Any, X_valid: Any = None, y_valid: Any = None,
            progress: Progress | None = None) -> LightGBMModel:
        import lightgbm as lgb

        c: LightGBMConfig = self.config
        X, y = as_matrix(X), np.asarray(y)
        weight = balanced_weights(y) if c.class_weight == "balanced" and self.kind.has_classes else None
        train = lgb.Dataset(X, y, weight=weight, free_raw_data=False, params=self._dataset_params())
        callbacks = [_progress_callback(progress, c.n_estimators)] if progress else []
        if deadline_of(self) is not None:
            callbacks.append(_deadline_callback(deadline_of(self)))
        valid_sets = []
        if X_valid is not None and len(X_valid):
            X_valid = as_matrix(X_valid)
            valid_sets = [lgb.Dataset(X_valid, np.asarray(y_valid), reference=train)]
            if c.early_stopping_rounds:
                callbacks.append(lgb.early_stopping(c.early_stopping_rounds, verbose=False))
        booster = lgb.train(self._params(), train, num_boost_round=c.n_estimators,
                            valid_sets=valid_sets, callbacks=callbacks)
        self.best_iteration_ = booster.best_iteration or booster.current_iteration()
        if valid_sets:
            self.valid_scores_ = self._scores(booster, X_valid)
        if valid_sets and c.refit_full and c.early_stopping_rounds:
            # More rows beat a held-out early-stopping set once the round count is known.
            X_all, y_all = np.vstack([X, X_valid]), np.concatenate([y, np.asarray(y_valid)])
            w_all = balanced_weights(y_all) if weight is not None else None
            booster = lgb.train(self._params(), lgb.Dataset(X_all, y_all, weight=w_all, params=self._dataset_params()),
                                num_boost_round=self.best_iteration_)
            self.trained_on_valid_ = True
        self.booster_ = booster
        return self

    def _scores(self, booster: Any, X: np.ndarray) -> np.ndarray:
        raw = booster.predict(X, num_iteration=self.best_iteration_ if booster.best_iteration else None)
        if self.task == "binary":
            return np.column_stack([1 - raw, raw])
        return raw

    def predict_scores(self, X: Any) -> np.ndarray:
        self._check_fitted("booster_")
        raw = self.booster_.predict(as_matrix(X))
        return np.column_stack([1 - raw, raw]) if self.task == "binary" else raw

    def contributions(self, X: Any) -> Contributions:
        """Exact SHAP values from LightGBM itself (`pred_contrib`, Lundberg's TreeSHAP in C++):
        SHAP's TreeExplainer would parse the trees again, and is far slower on large models."""
        self._check_fitted("booster_")
        X = as_matrix(X)
        k = self.n_classes if self.task == "multiclass" else 1
        out = np.asarray(self.booster_.predict(X, pred_contrib=True)).reshape(len(X), k, -1)
        raw = np.asarray(self.booster_.predict(X, raw_score=True)).reshape(len(X), k)
        space = "value" if self.task == "regression" else "margin"
        return Contributions(out[:, :, :-1].transpose(0, 2, 1), out[0, :, -1], raw, "tree SHAP (LightGBM)", space)

    def feature_importance(self) -> np.ndarray:
        self._check_fitted("booster_")
        return self.booster_.feature_importance("gain")

    def save(self, folder: Path) -> None:
        self._check_fitted("booster_")
        self.booster_.save_model(str(folder / "model.txt"))
        write_json(folder / "lightgbm.json", {"best_iteration": self.best_iteration_})

    @classmethod
    def load(cls, folder: Path, config: Any, task: str, n_classes: int) -> LightGBMModel:
        import lightgbm as lgb

        model = cls(config, task, n_classes)
        model.booster_ = lgb.Booster(model_file=str(folder / "model.txt"))
        model.best_iteration_ = read_json(folder / "lightgbm.json")["best_iteration"]
        return model


def _deadline_callback(deadline: float):  # noqa: ANN202
    """Stop adding rounds once the deadline has passed; with validation rows, the round that
    scored best on them so far is the one kept (as early stopping would)."""
    import time

    import lightgbm as lgb

    best = {"score": None, "iteration": 0, "results": []}

    def callback(env: Any) -> None:
        results = env.evaluation_result_list or []
        if results:
            _, _, score, higher_better = results[0][:4]
            if best["score"] is None or (score > best["score"] if higher_better else score < best["score"]):
                best.update(score=score, iteration=env.iteration, results=results)
        if time.monotonic() > deadline:
            raise lgb.callback.EarlyStopException(best["iteration"] if results else env.iteration, best["results"])

    callback.order = 40  # after early stopping's own check (order 30)
    return callback


def _progress_callback(progress: Progress, total: int):  # noqa: ANN202
    def callback(env: Any) -> None:
        if env.iteration % 10 == 0:
            progress(env.iteration + 1, total, "boosting rounds")

    return callback
