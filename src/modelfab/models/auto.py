"""`train.type: auto`: automatic model selection under a hard time budget.

1. A portfolio of candidates that suit the task and the data size (portfolio.py) is bagged
   over k folds, strongest first: each fold's model scores the rows it did not see.
2. With the time left, Optuna searches the best family's settings; every trial is one more
   bagged candidate (pruned after a fold when it trails the median).
3. Greedy ensemble selection (ensemble.select) weights the candidates on the out-of-fold scores.
4. The chosen candidates' fold models are the final model (AutoGluon's bagging): no refit, so
   the budget is spent on fits that are scored.

The clock: every fit gets a deadline (models/base.py TrainContext) so that none outlives the
budget, and a candidate whose first fold shows that its k folds would not fit is stopped there.
With `deterministic: true` nothing is timed: every candidate and every trial runs to the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelfab.artifacts import read_json, write_json
from modelfab.errors import FabError
from modelfab.models.base import ModelFamily, Progress, TrainContext, as_matrix
from modelfab.models.ensemble import EnsembleModel, _loss, blend, cv_folds, select
from modelfab.models.portfolio import Candidate, portfolio, search_base
from modelfab.tasks import get_task

LEADERBOARD = "leaderboard.json"
DETERMINISTIC_TRIALS = 40
KEPT_TRIALS = 20
RESERVE = 0.04  # of the budget, kept for the blend, the threshold and writing the package
# A fold's cost against the first LightGBM's, roughly, on tables: a candidate whose first fold
# would not fit in the time left is not started.
COST = {"lightgbm": 1.0, "extra_trees": 1.0, "random_forest": 1.5, "linear": 0.1, "mlp": 3.0}


class Clock:
    """Seconds left of the budget, after the reserve; never runs out when deterministic."""

    def __init__(self, budget: float, deterministic: bool) -> None:
        self.started, self.budget, self.deterministic = time.monotonic(), budget, deterministic
        self.reserve = min(RESERVE * budget, 10.0)
        self.fold_seconds = 0.0  # of the first candidate: what other candidates' costs are guessed from

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self) -> float:
        return np.inf if self.deterministic else self.budget - self.reserve - self.elapsed()


@dataclass
class Bag:
    """One candidate bagged over the folds."""

    candidate: Candidate
    scores: np.ndarray | None = None
    models: list[ModelFamily] = field(default_factory=list)
    seconds: float = 0.0
    state: str = "done"
    loss: float = np.inf
    metric: float | None = None  # the task's headline metric, out of fold


class AutoModel(EnsembleModel):
    type = "auto"

    def fit(self, X: Any, y: Any, X_valid: Any = None, y_valid: Any = None,
            progress: Progress | None = None) -> AutoModel:
        c = self.config
        clock = Clock(c.time_budget, c.deterministic)
        X, y = as_matrix(X), np.asarray(y)
        n_train = len(X)
        if X_valid is not None and len(X_valid):  # the validation rows get out-of-fold scores too
            X, y = np.vstack([X, as_matrix(X_valid)]), np.concatenate([y, np.asarray(y_valid)])
        folds = cv_folds(y, self.task, c.folds, c.seed)
        tick = _ticker(progress, clock)
        bags: list[Bag] = []
        for candidate in portfolio(c, self.task, X.shape):
            bags.append(self._bag(candidate, X, y, folds, clock, first=not _done(bags)))
            tick(bags)
        if c.search and trials_of(c):
            bags += self._search(bags, X, y, folds, clock, tick)
        done = _done(bags)
        if not done:
            raise FabError(_too_short(c, bags, X.shape))
        self.weights_ = select([b.scores for b in done], y, self.task, c.rounds)
        self.oof_scores_ = blend([b.scores for b in done], self.weights_)
        self.oof_blend_loss_ = _loss(self.oof_scores_, y, self.task)
        self.oof_loss_ = {b.candidate.name: b.loss for b in done}
        self.members_ = [(w / len(b.models), m) for w, b in zip(self.weights_, done, strict=True) if w > 0
                         for m in b.models]
        weights = {id(b): w for b, w in zip(done, self.weights_, strict=True)}
        self.leaderboard_ = leaderboard(bags, weights, y, self.task, clock, self.oof_scores_)
        if n_train < len(X):
            self.valid_scores_ = self.oof_scores_[n_train:]
            self.trained_on_valid_ = True  # the fold models learned from the validation rows too
        return self

    def _bag(self, candidate: Candidate, X: np.ndarray, y: np.ndarray, folds: list, clock: Clock,
             first: bool, prune: Any = None) -> Bag:
        """The candidate fitted on each fold. A later candidate is stopped after its first fold
        when its k folds would not fit in the time left; the first one always finishes (its fits
        stop growing at their deadlines), so that a budget gives a model."""
        from modelfab.models import family as family_of

        bag, family, k = Bag(candidate), family_of(candidate.config.type), len(folds)
        left_at_start, started = clock.left(), time.monotonic()
        guess = clock.fold_seconds * COST.get(candidate.family, 1.0)
        if left_at_start <= 0 or (not first and left_at_start < guess):
            bag.state = f"skipped: {_s(left_at_start)} s were left, a fold takes about {_s(guess)} s"
            return bag
        for i, (train_at, held_at) in enumerate(folds):
            model = family(family.fold_config(candidate.config), self.task, self.n_classes)
            share = clock.left() / (k - i)
            model.layout = self.layout
            model.context = TrainContext(deadline=None if clock.deterministic else time.monotonic() + max(share, 0.05))
            model.fit(X[train_at], y[train_at], X[held_at], y[held_at])
            if bag.scores is None:
                bag.scores = np.zeros((len(y), *model.valid_scores_.shape[1:]))
            bag.scores[held_at] = model.valid_scores_
            bag.models.append(model)
            spent = time.monotonic() - started
            if i == 0 and not first and spent * k > left_at_start:
                bag.state = f"stopped: {k} folds would take about {_s(spent * k)} s, {_s(left_at_start)} s were left"
                break
            if prune is not None and prune(i, _loss(bag.scores[held_at], y[held_at], self.task)):
                bag.state = "pruned: behind the median trial after a fold"
                break
        bag.seconds = time.monotonic() - started
        if first:
            clock.fold_seconds = bag.seconds / len(bag.models)
        if bag.state == "done":
            bag.loss, bag.metric = _loss(bag.scores, y, self.task), headline(bag.scores, y, self.task)
        else:
            bag.scores, bag.models = None, []
        return bag

    def _search(self, bags: list[Bag], X: np.ndarray, y: np.ndarray, folds: list, clock: Clock,
                tick: Any) -> list[Bag]:
        """Optuna's TPE over the best searchable family's settings, one bagged candidate a trial.
        A trial starts only when one more bag of that family should fit in the time left."""
        import optuna

        from modelfab.models.search import propose

        base = search_base(_done(bags))
        if base is None:
            return []
        candidate, space = base
        c, trials = self.config, []
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(
            direction="minimize", sampler=optuna.samplers.TPESampler(seed=c.seed, n_startup_trials=min(8, trials_of(c))),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=0))
        cost = np.median([b.seconds for b in _done(bags) if b.candidate.family == candidate.family])
        for number in range(trials_of(c)):
            if clock.left() < cost:
                break
            trial = study.ask()
            config = propose(trial, candidate.config, space)

            def prune(step: int, loss: float, trial: Any = trial) -> bool:
                trial.report(loss, step)
                return trial.should_prune()

            bag = self._bag(Candidate(f"{candidate.family} search {number + 1}", config, candidate.family),
                            X, y, folds, clock, first=False, prune=prune)
            trials.append(bag)
            if bag.state == "done":
                study.tell(trial, bag.loss)
                cost = max(cost * 0.5, bag.seconds)
                _keep_best(trials, KEPT_TRIALS)
            else:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            tick(bags + trials)
        return trials

    def save(self, folder: Path) -> None:
        super().save(folder)
        write_json(folder / LEADERBOARD, self.leaderboard_)

    @classmethod
    def load(cls, folder: Path, config: Any, task: str, n_classes: int) -> AutoModel:
        model = super().load(folder, config, task, n_classes)
        model.leaderboard_ = read_json(folder / LEADERBOARD)
        return model


def _keep_best(trials: list[Bag], n: int) -> None:
    """Only the best n trials keep their fold models and scores for the blend (memory stays
    bounded over thousands of trials; a worse setting of the same family adds little to a blend)."""
    done = sorted(_done(trials), key=lambda b: b.loss)
    for bag in done[n:]:
        bag.state, bag.scores, bag.models = f"not kept: outside the best {n} trials", None, []


def trials_of(c: Any) -> int:
    """Trials at most: the spec's, else unbounded (the clock stops them), else 40 when counted."""
    if c.trials is not None:
        return c.trials
    return DETERMINISTIC_TRIALS if c.deterministic else 100_000


def _s(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    return f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"


def _done(bags: list[Bag]) -> list[Bag]:
    return [b for b in bags if b.state == "done"]


def leaderboard(bags: list[Bag], weights: dict, y: np.ndarray, task: str, clock: Clock, blended: np.ndarray) -> dict:
    """Every candidate with its out-of-fold loss and headline metric, its time and its weight."""
    kind = get_task(task)
    metric = kind.default_metric
    rows = [{"name": b.candidate.name, "family": b.candidate.family, "settings": b.candidate.settings(),
             "loss": b.loss if np.isfinite(b.loss) else None, metric: b.metric,
             "seconds": round(b.seconds, 2), "weight": round(weights.get(id(b), 0.0), 4), "state": b.state}
            for b in bags]
    return {"metric": metric, "loss": "log loss" if kind.has_classes else "mean squared error",
            "out_of_fold": True, "budget_s": clock.budget, "seconds": round(clock.elapsed(), 2),
            "blend": {"loss": _loss(blended, y, task), metric: headline(blended, y, task)}, "candidates": rows}


def headline(scores: np.ndarray, y: np.ndarray, task: str) -> float | None:
    """The task's default metric of out-of-fold scores (at threshold 0.5 for a binary task)."""
    kind = get_task(task)
    value = kind.compute(y, scores, 0.5).get(kind.default_metric)
    return None if value is None else float(value)


def _too_short(c: Any, bags: list[Bag], shape: tuple) -> str:
    """Bad input: a budget too small for one model; say the least that would do."""
    spent = max((b.seconds for b in bags), default=0.0)
    need = max(2 * spent, c.time_budget * 2)
    return (f"train.time_budget: {c.time_budget:g} s was not enough to bag one model over {c.folds} folds on "
            f"{shape[0]:,} rows x {shape[1]:,} features; give at least {need:.0f} s")


def _ticker(progress: Progress | None, clock: Clock) -> Any:
    """The stage's bar counts seconds of the budget, so its ETA is the budget's end."""
    def tick(bags: list[Bag]) -> None:
        if progress is None:
            return
        done = _done(bags)
        note = f"{len(bags)} candidates, best {min(b.loss for b in done):.4f}" if done else f"{len(bags)} candidates"
        if clock.deterministic:
            progress(len(bags), None, note)
        else:
            progress(min(clock.elapsed(), clock.budget), clock.budget, note)

    return tick
