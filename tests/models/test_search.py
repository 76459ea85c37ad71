"""Hyperparameter search: trials are scored out of fold, the best config is refitted, every
trial is kept, and a bad search space is a spec error naming its key."""

import numpy as np
import pytest

from modelfab.errors import SpecError
from modelfab.models import make_model
from modelfab.models.ensemble import _loss, cv_folds
from modelfab.models.gbm import LightGBMModel
from modelfab.models.search import SearchModel
from modelfab.spec.load import parse_spec
from modelfab.spec.schema import LightGBMConfig, SearchConfig


def data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    y = (X[:, 0] + 0.8 * X[:, 1] * X[:, 2] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return X, y


def oof_loss(config, X, y, folds):
    scores = np.zeros((len(y), 2))
    for train_at, held_at in folds:
        model = LightGBMModel(LightGBMModel.fold_config(config), "binary", 2).fit(X[train_at], y[train_at],
                                                                                  X[held_at], y[held_at])
        scores[held_at] = model.valid_scores_
    return _loss(scores, y, "binary")


def test_the_search_beats_a_poor_starting_config_out_of_fold():
    """A learning rate far too small for 20 rounds: the searched range holds much better ones."""
    X, y = data()
    base = LightGBMConfig(n_estimators=20, learning_rate=0.001, num_leaves=4, early_stopping_rounds=None)
    config = SearchConfig(model=base, trials=8, folds=3, prune=False,
                          space={"learning_rate": {"low": 0.001, "high": 0.5, "log": True}})
    model = make_model(config, "binary", 2).fit(X[:300], y[:300], X[300:], y[300:])
    rows_X, rows_y = np.vstack([X[:300], X[300:]]), np.concatenate([y[:300], y[300:]])
    start = oof_loss(base, rows_X, rows_y, cv_folds(rows_y, "binary", 3, 0))
    assert model.summary_["best_loss"] < start - 0.05
    assert model.best_.config.learning_rate > 0.01
    assert len(model.trials_) == 8 and all(t["state"] == "COMPLETE" for t in model.trials_)
    # The best trial's loss is the smallest of all, and it is the config that was refitted.
    best = model.trials_[model.summary_["best_trial"]]
    assert best["loss"] == min(t["loss"] for t in model.trials_)
    assert model.best_.config.learning_rate == pytest.approx(best["params"]["learning_rate"])
    assert model.trained_on_valid_ and model.valid_scores_.shape == (100, 2)


def test_same_seed_same_trials_same_model(tmp_path):
    X, y = data(300, seed=1)
    config = SearchConfig(model=LightGBMConfig(n_estimators=30), trials=5, folds=3)
    a = make_model(config, "binary", 2).fit(X[:250], y[:250], X[250:], y[250:])
    b = make_model(config, "binary", 2).fit(X[:250], y[:250], X[250:], y[250:])
    assert [t["params"] for t in a.trials_] == [t["params"] for t in b.trials_]
    np.testing.assert_array_equal(a.predict_scores(X), b.predict_scores(X))


def test_a_spent_time_budget_still_leaves_one_finished_trial():
    X, y = data(200, seed=5)
    config = SearchConfig(model=LightGBMConfig(n_estimators=20), trials=10, folds=2, timeout=1e-6)
    model = make_model(config, "binary", 2).fit(X[:150], y[:150], X[150:], y[150:])
    assert [t["state"] for t in model.trials_] == ["COMPLETE"]
    assert model.summary_["best_trial"] == 0


def test_saved_search_reloads_with_its_trials(tmp_path):
    X, y = data(300, seed=2)
    config = SearchConfig(model=LightGBMConfig(n_estimators=30), trials=4, folds=3)
    model = make_model(config, "binary", 2).fit(X[:250], y[:250], X[250:], y[250:])
    model.save(tmp_path)
    loaded = SearchModel.load(tmp_path, config, "binary", 2)
    np.testing.assert_array_equal(loaded.predict_scores(X), model.predict_scores(X))
    assert loaded.trials_ == model.trials_
    assert loaded.summary_["trials"] == 4


def test_regression_searches_the_squared_error():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    y = 2 * X[:, 0] + rng.normal(scale=0.1, size=300)
    config = SearchConfig(model={"type": "linear"}, trials=4, folds=3)  # the linear family's default space
    model = make_model(config, "regression").fit(X, y)
    assert model.summary_["loss"] == "mean squared error"
    assert model.summary_["searched"] == ["C", "alpha"]
    assert np.mean((model.predict(X) - y) ** 2) < 0.05


SPEC = """\
version: 1
name: s
task: binary
data: {{source: data.csv, target: failed}}
train:
  type: search
  model: {{type: lightgbm}}
{space}
"""


@pytest.mark.parametrize(("space", "expected"), [
    ("  space: {learnng_rate: {low: 0.01, high: 0.1}}",
     "train.space.learnng_rate: lightgbm has no such setting. Did you mean 'learning_rate'?"),
    ("  space: {learning_rate: {low: 0.2, high: 0.1}}", "train.space.learning_rate: low 0.2 is above high 0.1"),
    ("  space: {reg_lambda: {low: 0, high: 1, log: true}}", "train.space.reg_lambda: a log scale needs low > 0"),
    ("  space: {num_leaves: {low: 4.5, high: 10}}", "train.space.num_leaves: num_leaves is a whole number"),
    ("  space: {learning_rate: {low: 0.1, high: 2}}", "train.space.learning_rate: 2.0 is not a valid learning_rate"),
    ("  space: {learning_rate: {low: 0.1}}", "train.space.learning_rate: give either low and high, or choices"),
    ("  space: {max_bin: {low: 16, high: 64, choices: [16]}}", "train.space.max_bin: give either low and high, or choices"),
    ("  model: {type: mlp}", "train.space: 'mlp' has no default search space"),
    ("  model: {type: mlp}\n  space: {optimizer.lrr: {low: 0.001, high: 0.1}}",
     "train.space.optimizer.lrr: mlp has no such setting. Did you mean 'optimizer.lr'?"),
    ("  model: {type: mlp}\n  space: {optimizer.lr: {low: 0, high: 0.1}}",
     "train.space.optimizer.lr: 0.0 is not a valid optimizer.lr"),
])
def test_a_bad_search_space_is_a_spec_error_naming_the_key(space, expected):
    text = SPEC.format(space=space)
    if "model: {type: mlp}" in space:  # the case's own model replaces the template's
        text = text.replace("  model: {type: lightgbm}\n", "")
    with pytest.raises(SpecError) as err:
        parse_spec(text)
    assert expected in str(err.value)


def test_a_net_searches_a_nested_setting_such_as_its_learning_rate():
    from modelfab.spec.sections.nets import MLPConfig

    X, y = data(300, seed=4)
    base = MLPConfig(epochs=5, hidden=[16], batch_size=64, dropout=0.0)
    config = SearchConfig(model=base, trials=3, folds=2, space={"optimizer.lr": {"low": 1e-4, "high": 1e-1, "log": True},
                                                               "dropout": {"choices": [0.0, 0.2]}})
    model = make_model(config, "binary", 2).fit(X[:250], y[:250], X[250:], y[250:])
    rates = [t["params"]["optimizer.lr"] for t in model.trials_]
    assert len(set(rates)) == 3 and all(1e-4 <= r <= 1e-1 for r in rates)
    best = model.trials_[model.summary_["best_trial"]]["params"]
    assert model.best_.config.optimizer.lr == pytest.approx(best["optimizer.lr"])
    assert model.best_.config.dropout == best["dropout"] and model.best_.config.hidden == [16]


def test_a_good_search_space_loads_and_keeps_the_families_keys():
    spec = parse_spec(SPEC.format(space="  space: {num_leaves: {low: 4, high: 64, log: true}, "
                                        "reg_lambda: {choices: [0, 1, 10]}}"))
    assert spec.train.type == "search" and spec.train.model.type == "lightgbm"
    assert set(spec.train.space) == {"num_leaves", "reg_lambda"}


def test_a_search_runs_through_the_pipeline_and_registers(tmp_path):
    """`type: search` in fab.yaml: trained, evaluated, gated and served like any other family."""
    import json

    import mlflow
    from typer.testing import CliRunner

    from modelfab.cli import app
    from tests.conftest import BINARY_SPEC, machine_table, write_project

    spec = BINARY_SPEC.replace(
        "train: {type: lightgbm, n_estimators: 60, learning_rate: 0.1, num_leaves: 8, early_stopping_rounds: 20}",
        "train: {type: search, trials: 3, folds: 3, model: {type: lightgbm, n_estimators: 60, early_stopping_rounds: 20},"
        " space: {num_leaves: {low: 4, high: 16}}}")
    frame = machine_table()
    path = write_project(tmp_path / "proj", frame, spec)
    result = CliRunner().invoke(app, ["run", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["blessed"] and out["metrics"]["roc_auc"] > 0.6
    package = next((tmp_path / "proj" / ".fab" / "objects").glob("*/*/model/search.json"))
    trials = json.loads(package.read_text())["all_trials"]
    assert len(trials) == 3 and {t["params"]["num_leaves"] for t in trials} <= set(range(4, 17))
    inputs = frame.drop(columns=["Machine failure"]).head(20)
    served = mlflow.pyfunc.load_model("models:/machines@champion").predict(inputs)
    assert len(served) == 20
    # Every trial's loss is in the MLflow run, the trial number as its step.
    client = mlflow.MlflowClient()
    [mlrun] = [r for r in client.search_runs(client.get_experiment_by_name("machines").experiment_id)
               if r.data.tags.get("modelfab.run_id") == out["run_id"]]
    history = client.get_metric_history(mlrun.info.run_id, "train.trial_loss")
    assert sorted(m.step for m in history) == [t["number"] for t in trials if t["state"] == "COMPLETE"]


def test_a_timeout_gives_each_later_fit_a_deadline_before_the_refit_must_start(monkeypatch):
    """Trials after the first stop growing early enough for the refit, and the refit at the timeout."""
    import time

    from modelfab.models.base import deadline_of

    seen = []
    fit = LightGBMModel.fit

    def spy(self, X, y, *args, **kwargs):
        seen.append((len(X), deadline_of(self)))
        return fit(self, X, y, *args, **kwargs)

    monkeypatch.setattr(LightGBMModel, "fit", spy)
    X, y = data(300, seed=4)
    started = time.monotonic()
    config = SearchConfig(model=LightGBMConfig(n_estimators=20), trials=3, folds=3, prune=False, timeout=60)
    make_model(config, "binary", 2).fit(X[:250], y[:250], X[250:], y[250:])
    trials, refit = seen[:-1], seen[-1]
    assert [d for _, d in trials[:3]] == [None] * 3  # the first trial always runs in full
    assert all(d is not None and started < d < started + 60 for _, d in trials[3:]) and len(trials) == 9
    assert refit[0] == 300 and refit[1] == pytest.approx(started + 60, abs=1.0)
    assert max(d for _, d in trials[3:]) < refit[1]  # trials end before the refit's deadline
