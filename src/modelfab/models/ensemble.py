"""Automatic model selection: a weighted average of model families chosen on out-of-fold
predictions (greedy ensemble selection, Caruana et al. 2004, the method AutoGluon uses).

1. Every member family is fitted k times; each fold's model scores the rows it did not see,
   so every training row gets an out-of-fold score from every member.
2. Starting from nothing, the member whose addition most lowers the out-of-fold loss of the
   running average is added, with replacement, `rounds` times; the counts are the weights.
3. Members with a weight are refitted on all training rows.

Choosing on out-of-fold scores of the training rows keeps the test rows out of every decision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelfab.artifacts import read_json, write_json
from modelfab.models.base import ModelFamily, Progress, as_matrix
from modelfab.tasks import get_task

FILE = "ensemble.json"


class EnsembleModel(ModelFamily):
    type = "ensemble"

    def fit(self, X: Any, y: Any, X_valid: Any = None, y_valid: Any = None,
            progress: Progress | None = None) -> EnsembleModel:
        from modelfab.models import family as family_of

        X, y = as_matrix(X), np.asarray(y)
        n_train = len(X)
        if X_valid is not None and len(X_valid):  # the validation rows get out-of-fold scores too
            X, y = np.vstack([X, as_matrix(X_valid)]), np.concatenate([y, np.asarray(y_valid)])
        members, folds = self.config.members, self._folds(y)
        total, done = len(members) * (len(folds) + 1), 0
        out_of_fold, refit_configs = [], []
        for member in members:
            family = family_of(member.type)
            scores, fitted = None, []
            for train_at, held_at in folds:
                model = family(family.fold_config(member), self.task, self.n_classes)
                model.fit(X[train_at], y[train_at], X[held_at], y[held_at])
                if scores is None:
                    scores = np.zeros((len(y), *model.valid_scores_.shape[1:]))
                scores[held_at] = model.valid_scores_
                fitted.append(model)
                done += 1
                if progress:
                    progress(done, total, "ensemble fits")
            out_of_fold.append(scores)
            refit_configs.append(family.all_rows_config(member, fitted))
        self.weights_ = select(out_of_fold, y, self.task, self.config.rounds)
        self.oof_loss_ = {f"{i}:{member.type}": _loss(scores, y, self.task)
                          for i, (member, scores) in enumerate(zip(members, out_of_fold, strict=True))}
        self.oof_scores_ = blend(out_of_fold, self.weights_)  # kept in memory only: for benchmarks and reports
        self.oof_blend_loss_ = _loss(self.oof_scores_, y, self.task)
        self.members_ = []
        for config, weight in zip(refit_configs, self.weights_, strict=True):
            if weight > 0:
                model = family_of(config.type)(config, self.task, self.n_classes).fit(X, y)
                self.members_.append((weight, model))
            done += len(folds)  # a member left out costs nothing more; keep the bar honest
            if progress:
                progress(min(done, total), total, "ensemble fits")
        if n_train < len(X):
            self.valid_scores_ = self.oof_scores_[n_train:]
            self.trained_on_valid_ = True  # the members' final fits use every row
        return self

    def _folds(self, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        return cv_folds(y, self.task, self.config.folds, self.config.seed)

    def predict_scores(self, X: Any) -> np.ndarray:
        self._check_fitted("members_")
        X = as_matrix(X)
        total = sum(w for w, _ in self.members_)
        return sum(w * m.predict_scores(X) for w, m in self.members_) / total

    def save(self, folder: Path) -> None:
        self._check_fitted("members_")
        entries = []
        for i, (weight, model) in enumerate(self.members_):
            sub = folder / f"member-{i}"
            sub.mkdir()
            model.save(sub)
            entries.append({"folder": sub.name, "weight": weight, "config": model.config.model_dump(mode="json")})
        write_json(folder / FILE, {"members": entries, "out_of_fold_loss": self.oof_loss_,
                                   "out_of_fold_loss_of_blend": getattr(self, "oof_blend_loss_", None)})

    @classmethod
    def load(cls, folder: Path, config: Any, task: str, n_classes: int) -> EnsembleModel:
        from pydantic import TypeAdapter

        from modelfab.models import family
        from modelfab.spec.schema import MemberConfig

        state = read_json(folder / FILE)
        model = cls(config, task, n_classes)
        model.oof_loss_ = state["out_of_fold_loss"]
        if state.get("out_of_fold_loss_of_blend") is not None:
            model.oof_blend_loss_ = state["out_of_fold_loss_of_blend"]
        model.members_ = []
        for entry in state["members"]:
            member = TypeAdapter(MemberConfig).validate_python(entry["config"])
            loaded = family(member.type).load(folder / entry["folder"], member, task, n_classes)
            model.members_.append((float(entry["weight"]), loaded))
        return model


def cv_folds(y: np.ndarray, task: str, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k folds for classes (when every class has k rows), plain k folds otherwise."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if get_task(task).has_classes and np.bincount(y).min(initial=k) >= k:
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(y, y))
    return list(KFold(k, shuffle=True, random_state=seed).split(y))


def blend(scores: list[np.ndarray], weights: list[float]) -> np.ndarray:
    return sum(w * s for w, s in zip(weights, scores, strict=True)) / sum(weights)


def select(scores: list[np.ndarray], y: np.ndarray, task: str, rounds: int) -> list[float]:
    """Greedy forward selection with replacement; returns one weight per member (sums to 1).

    The weights of the step with the lowest loss are kept, so the blend is never worse on the
    out-of-fold rows than the best single member (the first step picks that member)."""
    counts = np.zeros(len(scores))
    running = np.zeros_like(scores[0])
    best_loss, best_counts = np.inf, counts
    for step in range(rounds):
        losses = [_loss((running * step + s) / (step + 1), y, task) for s in scores]
        pick = int(np.argmin(losses))  # ties go to the member listed first
        counts = counts.copy()
        counts[pick] += 1
        running = (running * step + scores[pick]) / (step + 1)
        if losses[pick] < best_loss - 1e-12:
            best_loss, best_counts = losses[pick], counts
    return (best_counts / best_counts.sum()).tolist()


def _loss(scores: np.ndarray, y: np.ndarray, task: str) -> float:
    if not get_task(task).has_classes:
        return float(np.mean((scores - y) ** 2))
    p = np.clip(scores[np.arange(len(y)), y], 1e-15, 1.0)
    return float(-np.mean(np.log(p)))
