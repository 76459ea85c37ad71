"""One contract suite for every model family (scikit-learn's estimator checks, in spirit).

Families declare capabilities; no check special-cases a family by name.
"""

import numpy as np
import pytest

from modelfab.errors import FabError
from modelfab.models import FAMILIES, NotFittedError, make_model
from modelfab.spec.schema import (
    EnsembleConfig,
    ExtraTreesConfig,
    LightGBMConfig,
    LinearConfig,
    RandomForestConfig,
)

CONFIGS = {
    "lightgbm": LightGBMConfig(n_estimators=30, num_leaves=8),
    "linear": LinearConfig(),
    "extra_trees": ExtraTreesConfig(n_estimators=20, threads=1),
    "random_forest": RandomForestConfig(n_estimators=20, threads=1),
    "ensemble": EnsembleConfig(members=[LightGBMConfig(n_estimators=30, num_leaves=8), LinearConfig(),
                                        ExtraTreesConfig(n_estimators=20, threads=1)], folds=3, rounds=10),
}
TASKS = {"binary": 2, "multiclass": 3, "regression": 0}


def data(task, n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    signal = X[:, 0] + 0.5 * X[:, 1]
    if task == "regression":
        y = signal * 3 + rng.normal(scale=0.1, size=n)
    elif task == "binary":
        y = (signal > 0).astype(int)
    else:
        y = np.digitize(signal, [-0.5, 0.5])
    return X[:200], y[:200], X[200:], y[200:]


CASES = [(f, t) for f in FAMILIES for t in TASKS if t in FAMILIES[f].tasks]


@pytest.fixture(params=CASES, ids=[f"{f}-{t}" for f, t in CASES])
def case(request):
    family, task = request.param
    return family, task, make_model(CONFIGS[family], task, TASKS[task])


def test_fit_returns_self(case):
    _, task, model = case
    X, y, Xv, yv = data(task)
    assert model.fit(X, y, Xv, yv) is model


def test_fit_is_idempotent(case):
    family, task, model = case
    X, y, Xv, yv = data(task)
    first = model.fit(X, y, Xv, yv).predict_scores(Xv)
    again = make_model(CONFIGS[family], task, TASKS[task]).fit(X, y, Xv, yv).predict_scores(Xv)
    np.testing.assert_array_equal(first, again)


def test_learns_something(case):
    _, task, model = case
    X, y, Xv, yv = data(task)
    pred = model.fit(X, y, Xv, yv).predict(Xv)
    if task == "regression":
        assert np.corrcoef(pred, yv)[0, 1] > 0.8
    else:
        assert (pred == yv).mean() > 0.7


def test_save_load_roundtrip(case, tmp_path):
    family, task, model = case
    X, y, Xv, yv = data(task)
    model.fit(X, y, Xv, yv).save(tmp_path)
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):  # safe formats only, never a pickle
        assert path.suffix in {".txt", ".json", ".safetensors", ".skops"}, path
    loaded = FAMILIES[family].load(tmp_path, CONFIGS[family], task, TASKS[task])
    np.testing.assert_allclose(loaded.predict_scores(Xv), model.predict_scores(Xv), rtol=1e-6)


def test_predict_before_fit_raises(case):
    _, task, model = case
    with pytest.raises(NotFittedError, match="not fitted"):
        model.predict(data(task)[2])


def test_probabilities(case):
    _, task, model = case
    X, y, Xv, yv = data(task)
    model.fit(X, y)
    if "proba" not in model.capabilities or task == "regression":
        with pytest.raises(AttributeError):
            model.predict_proba(Xv)
        return
    proba = model.predict_proba(Xv)
    assert proba.shape == (len(Xv), TASKS[task])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def test_bad_input_is_named(case):
    _, task, model = case
    with pytest.raises(FabError, match="at least one row"):
        model.fit(np.empty((0, 5)), np.empty(0))
    with pytest.raises(FabError, match="2-D"):
        model.fit(np.zeros(5), np.zeros(5))


def test_valid_scores_are_out_of_sample(case):
    _, task, model = case
    X, y, Xv, yv = data(task)
    model.fit(X, y, Xv, yv)
    assert len(model.valid_scores_) == len(Xv)
