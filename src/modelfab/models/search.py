"""Hyperparameter search with Optuna: TPE proposes a config, k-fold cross-validation on the
training rows scores it, the median pruner stops trials that fall behind after a fold, and the
best config is refitted on all rows.

The search sees the training and validation rows only (as the ensemble does); the test rows
take no part in any choice. Every trial is kept in `search.json`, so a reader can see what was
tried and how close the runners-up came.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from modelfab.artifacts import read_json, write_json
from modelfab.models.base import Contributions, ModelFamily, Progress, TrainContext, as_matrix
from modelfab.models.ensemble import _loss, cv_folds

FILE = "search.json"
BEST = "best"


class SearchModel(ModelFamily):
    type = "search"

    def fit(self, X: Any, y: Any, X_valid: Any = None, y_valid: Any = None,
            progress: Progress | None = None) -> SearchModel:
        import optuna

        from modelfab.models import family as family_of
        from modelfab.spec.search_space import space_of

        c = self.config
        X, y = as_matrix(X), np.asarray(y)
        n_train = len(X)
        if X_valid is not None and len(X_valid):  # the validation rows are scored out of fold too
            X, y = np.vstack([X, as_matrix(X_valid)]), np.concatenate([y, np.asarray(y_valid)])
        folds = cv_folds(y, self.task, c.folds, c.seed)
        family, space = family_of(c.model.type), space_of(c)
        best: dict[str, Any] = {"loss": np.inf}
        started = time.perf_counter()
        clock = _Clock(c.timeout, len(folds))

        def objective(trial: optuna.Trial) -> float:
            config = propose(trial, c.model, space)
            scores, losses, fitted = None, [], []
            for step, (train_at, held_at) in enumerate(folds):
                if trial.number and clock.past():  # its folds cannot finish before the refit must start
                    trial.study.stop()
                    raise optuna.TrialPruned()
                model = family(family.fold_config(config), self.task, self.n_classes)
                model.context = TrainContext(deadline=clock.trials_end() if trial.number else None)
                begun = time.monotonic()
                model.fit(X[train_at], y[train_at], X[held_at], y[held_at])
                clock.fold_took(time.monotonic() - begun)
                if scores is None:
                    scores = np.zeros((len(y), *model.valid_scores_.shape[1:]))
                scores[held_at] = model.valid_scores_
                losses.append(_loss(model.valid_scores_, y[held_at], self.task))
                fitted.append(model)
                trial.report(float(np.mean(losses)), step)
                if c.prune and trial.should_prune():
                    raise optuna.TrialPruned()
            loss = _loss(scores, y, self.task)
            if loss < best["loss"]:
                best.update(loss=loss, config=config, scores=scores, fitted=fitted, number=trial.number)
            return loss

        def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            log = getattr(self.context, "log_metrics", None)
            if log and np.isfinite(best["loss"]):
                values = {"best_loss": best["loss"]}
                if trial.value is not None:
                    values["trial_loss"] = trial.value
                log(values, trial.number)
            if progress:
                done = len(study.trials)
                note = f"trials, best loss {best['loss']:.4f}" if np.isfinite(best["loss"]) else "trials"
                progress(done, c.trials, note)

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(
            direction="minimize",
            sampler=optuna.samplers.TPESampler(seed=c.seed, n_startup_trials=min(10, max(c.trials // 3, 1))),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0) if c.prune
            else optuna.pruners.NopPruner(),
        )
        # The first trial always runs, whatever the time budget: a search must have a result.
        study.optimize(objective, n_trials=1, callbacks=[report])
        left = clock.trials_left()
        if c.trials > 1 and (left is None or left > 0):
            study.optimize(objective, n_trials=c.trials - 1, timeout=left, callbacks=[report])
        final = family(family.all_rows_config(best["config"], best["fitted"]), self.task, self.n_classes)
        final.context = TrainContext(deadline=clock.refit_end())  # the refit too stops growing at the timeout
        self.best_ = final.fit(X, y)
        self.trials_ = [_trial_record(t) for t in study.trials]
        self.summary_ = {"best_trial": best["number"], "best_loss": best["loss"], "trials": len(study.trials),
                         "pruned": sum(t["state"] == "PRUNED" for t in self.trials_),
                         "seconds": round(time.perf_counter() - started, 2),
                         "loss": "log loss" if self.kind.has_classes else "mean squared error",
                         "searched": sorted(space)}
        if n_train < len(X):
            self.valid_scores_ = best["scores"][n_train:]
            self.trained_on_valid_ = True  # the final fit uses every row
        return self

    def predict_scores(self, X: Any) -> np.ndarray:
        self._check_fitted("best_")
        return self.best_.predict_scores(X)

    def contributions(self, X: Any) -> Contributions:
        return self.best_.contributions(X)

    @property
    def has_contributions(self) -> bool:
        return self.best_.has_contributions

    def feature_importance(self) -> np.ndarray:
        self._check_fitted("best_")
        if not hasattr(self.best_, "feature_importance"):
            raise AttributeError(f"{self.best_.type} has no built-in feature importance")
        return self.best_.feature_importance()

    def save(self, folder: Path) -> None:
        self._check_fitted("best_")
        (folder / BEST).mkdir()
        self.best_.save(folder / BEST)
        write_json(folder / FILE, {"config": self.best_.config.model_dump(mode="json"), **self.summary_,
                                   "all_trials": self.trials_})

    @classmethod
    def load(cls, folder: Path, config: Any, task: str, n_classes: int) -> SearchModel:
        from pydantic import TypeAdapter

        from modelfab.models import family
        from modelfab.spec.schema import MemberConfig

        state = read_json(folder / FILE)
        best = TypeAdapter(MemberConfig).validate_python(state["config"])
        model = cls(config, task, n_classes)
        model.best_ = family(best.type).load(folder / BEST, best, task, n_classes)
        model.trials_ = state["all_trials"]
        model.summary_ = {k: v for k, v in state.items() if k not in ("config", "all_trials")}
        return model


def propose(trial: Any, base: Any, space: dict) -> Any:
    """The base config with each searched key set to the trial's suggestion."""
    from modelfab.spec.search_space import is_int_field, with_values

    values = {}
    for key, rng in space.items():
        if rng.choices is not None:
            values[key] = trial.suggest_categorical(key, rng.choices)
        elif is_int_field(base, key):
            values[key] = trial.suggest_int(key, int(rng.low), int(rng.high), log=rng.log)
        else:
            values[key] = trial.suggest_float(key, rng.low, rng.high, log=rng.log)
    return with_values(base, values)


class _Clock:
    """`timeout` as a hard limit (on `time.monotonic()`): trials stop starting, and a trial in flight
    stops growing, early enough for the refit on all rows, guessed from the slowest fold so far
    (all rows are k/(k-1) of a fold's; 1.5x for safety). No timeout: no deadlines."""

    def __init__(self, timeout: float | None, folds: int) -> None:
        self.end = None if timeout is None else time.monotonic() + timeout
        self.scale = 1.5 * folds / max(folds - 1, 1)
        self.slowest = 0.0

    def fold_took(self, seconds: float) -> None:
        self.slowest = max(self.slowest, seconds)

    def trials_end(self) -> float | None:
        return None if self.end is None else self.end - self.scale * self.slowest

    def refit_end(self) -> float | None:
        """The timeout, unless the first trial (which always runs) spent it: then the refit's own guess."""
        if self.end is None:
            return None
        return max(self.end, time.monotonic() + self.scale * self.slowest)

    def past(self) -> bool:
        end = self.trials_end()
        return end is not None and time.monotonic() >= end

    def trials_left(self) -> float | None:
        end = self.trials_end()
        return None if end is None else end - time.monotonic()


def _trial_record(trial: Any) -> dict:
    return {"number": trial.number, "state": trial.state.name,
            "loss": trial.value if trial.value is not None else None,
            "params": trial.params, "folds_scored": len(trial.intermediate_values)}
