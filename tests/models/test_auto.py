"""`train.type: auto`: bagged candidates, a search, a blend chosen out of fold, and a clock
that every fit obeys. Wall time is never asserted here (benchmarks/bench_auto.py measures the
budget); the deadlines are tested by giving fits one that has already passed."""

import time

import numpy as np
import pytest

from modelfab.errors import FabError
from modelfab.models import make_model
from modelfab.models.auto import AutoModel, Clock
from modelfab.models.base import TrainContext
from modelfab.spec.schema import AutoConfig, LightGBMConfig, RandomForestConfig


def _table(n=500, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    y = ((X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(scale=0.5, size=n)) > 0).astype(int)
    return X, y


def _counted(**kw):
    return AutoConfig(**{"deterministic": True, "trials": 3, "families": ["lightgbm", "linear", "extra_trees"],
                         "folds": 3, **kw})


def test_counted_runs_give_the_same_model_and_the_blend_is_never_worse_out_of_fold(tmp_path):
    X, y = _table()
    first = make_model(_counted(), "binary", 2).fit(X[:400], y[:400], X[400:], y[400:])
    second = make_model(_counted(), "binary", 2).fit(X[:400], y[:400], X[400:], y[400:])
    assert np.array_equal(first.predict_scores(X), second.predict_scores(X))
    board = first.leaderboard_
    names = [c["name"] for c in board["candidates"]]
    assert names[0] == "lightgbm" and "linear" in names and "lightgbm fine bins" not in names  # 500 rows: 255 bins are fine
    assert sum("search" in n for n in names) == 3  # trials counted, not timed
    assert board["blend"]["loss"] <= min(c["loss"] for c in board["candidates"] if c["loss"] is not None) + 1e-12
    assert abs(sum(c["weight"] for c in board["candidates"]) - 1) < 1e-3
    # Every member of the final model is a fold model of a weighted candidate: no refit.
    assert len(first.members_) == 3 * sum(c["weight"] > 0 for c in board["candidates"])
    assert first.trained_on_valid_ and first.valid_scores_.shape == (100, 2)
    (tmp_path / "m").mkdir()
    first.save(tmp_path / "m")
    loaded = AutoModel.load(tmp_path / "m", first.config, "binary", 2)
    assert np.allclose(loaded.predict_scores(X), first.predict_scores(X))
    assert loaded.leaderboard_["candidates"][0]["name"] == "lightgbm"


def test_regression_and_multiclass_blend_their_own_kind_of_scores():
    X, _ = _table(400, seed=1)
    y = X[:, 0] * 2 + X[:, 1]
    model = make_model(_counted(trials=0), "regression").fit(X, y)
    assert model.predict_scores(X).shape == (400,)
    assert model.leaderboard_["metric"] == "rmse" and model.leaderboard_["loss"] == "mean squared error"
    classes = np.digitize(X[:, 0], [-0.5, 0.5])
    multi = make_model(_counted(trials=0), "multiclass", 3).fit(X, classes)
    assert np.allclose(multi.predict_scores(X).sum(axis=1), 1)


def test_a_budget_spent_before_the_first_model_says_the_least_that_would_do(monkeypatch):
    X, y = _table(200)
    monkeypatch.setattr(Clock, "left", lambda self: -1.0)
    with pytest.raises(FabError, match=r"train.time_budget: 1 s was not enough .* 200 rows x 5 features; give at least"):
        make_model(AutoConfig(time_budget=1), "binary", 2).fit(X, y)


def test_a_later_candidate_that_would_not_fit_is_stopped_after_one_fold(monkeypatch):
    """The first candidate always finishes; the next ones are judged on their first fold."""
    X, y = _table(300)
    budget = {"left": 1e9}
    monkeypatch.setattr(Clock, "left", lambda self: budget["left"])
    model = make_model(AutoConfig(families=["lightgbm", "random_forest"], search=False, folds=3), "binary", 2)
    original = model._bag

    def bag(candidate, *args, **kw):
        if candidate.family == "random_forest":
            budget["left"] = 1e-6  # the forest's three folds cannot fit in what is left
        return original(candidate, *args, **kw)

    monkeypatch.setattr(model, "_bag", bag)
    model.fit(X, y)
    states = {c["name"]: c["state"] for c in model.leaderboard_["candidates"]}
    assert states["lightgbm"] == "done"
    assert states["random forest"].startswith(("stopped: 3 folds would take", "skipped:"))


def test_fits_stop_growing_at_their_deadline():
    X, y = _table(400)
    passed = TrainContext(deadline=time.monotonic() - 1)
    gbm = make_model(LightGBMConfig(n_estimators=500, early_stopping_rounds=None), "binary", 2, context=passed)
    gbm.fit(X, y, X[:50], y[:50])
    assert gbm.booster_.current_iteration() == 1
    forest = make_model(RandomForestConfig(n_estimators=200), "binary", 2, context=passed).fit(X, y)
    assert len(forest.estimator_.estimators_) == 20  # the first chunk only
    whole = make_model(RandomForestConfig(n_estimators=50), "binary", 2,
                       context=TrainContext(deadline=time.monotonic() + 600)).fit(X, y)
    plain = make_model(RandomForestConfig(n_estimators=50), "binary", 2).fit(X, y)
    assert np.array_equal(whole.predict_scores(X), plain.predict_scores(X))  # chunks grow the same forest


def test_a_net_stops_after_the_epoch_in_which_its_deadline_passed():
    from modelfab.spec.sections.nets import MLPConfig

    X, y = _table(200)
    net = make_model(MLPConfig(epochs=50, checkpoint_every=0, refit_full=False), "binary", 2,
                     context=TrainContext(deadline=time.monotonic() - 1))
    net.fit(X, y, X[:40], y[:40])
    assert len(net.history_) == 1


def test_the_budget_reads_seconds_minutes_and_hours():
    assert AutoConfig(time_budget="90s").time_budget == 90
    assert AutoConfig(time_budget="2m").time_budget == 120
    assert AutoConfig(time_budget="0.5h").time_budget == 1800
    with pytest.raises(ValueError, match=r"train.time_budget: 'soon' is not a duration"):
        AutoConfig(time_budget="soon")
