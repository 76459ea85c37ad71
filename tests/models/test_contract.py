"""One contract suite for every model family (scikit-learn's estimator checks, in spirit).

Families declare capabilities; no check special-cases a family by name.
"""

import numpy as np
import pytest

from modelfab.errors import FabError
from modelfab.models import NotFittedError, family, make_model
from modelfab.spec.schema import (
    EnsembleConfig,
    ExtraTreesConfig,
    LightGBMConfig,
    LinearConfig,
    RandomForestConfig,
    SearchConfig,
)
from modelfab.spec.sections.nets import CNNConfig, EfficientNetConfig, MiniLMConfig, MLPConfig, RNNConfig, TransformerConfig

CONFIGS = {
    "lightgbm": LightGBMConfig(n_estimators=30, num_leaves=8),
    "linear": LinearConfig(),
    "extra_trees": ExtraTreesConfig(n_estimators=20, threads=1),
    "random_forest": RandomForestConfig(n_estimators=20, threads=1),
    "ensemble": EnsembleConfig(members=[LightGBMConfig(n_estimators=30, num_leaves=8), LinearConfig(),
                                        ExtraTreesConfig(n_estimators=20, threads=1)], folds=3, rounds=10),
    "search": SearchConfig(model=LightGBMConfig(n_estimators=30, num_leaves=8), trials=3, folds=3,
                           space={"learning_rate": {"low": 0.05, "high": 0.3, "log": True}}),
}
NET = dict(optimizer={"name": "adam", "lr": 0.01}, batch_size=32, dropout=0.0)
# Net families: the config and the input layout they read (images, sensor windows, tokens, embeddings).
NET_CASES = {
    "mlp": (MLPConfig(epochs=40, hidden=[32], **NET), "flat"),
    "mlp_seeds": (MLPConfig(epochs=40, hidden=[32], seeds=3, **NET), "flat"),
    "cnn": (CNNConfig(epochs=30, channels=[8], convs_per_block=1, hidden=16, **NET), "image"),
    "cnn_sequence": (CNNConfig(epochs=30, channels=[8], convs_per_block=1, kernel=3, hidden=16, **NET), "sequence"),
    "lstm": (RNNConfig(type="lstm", epochs=40, hidden=16, layers=1, **NET), "sequence"),
    "gru": (RNNConfig(type="gru", epochs=40, hidden=16, layers=1, embedding_dim=8, **NET), "tokens"),
    "transformer": (TransformerConfig(epochs=40, d_model=16, heads=2, layers=1, ff=32, **NET), "sequence"),
    "efficientnet_lite0": (EfficientNetConfig(epochs=40, **NET), "embedding"),
    "minilm": (MiniLMConfig(epochs=3, batch_size=16, dropout=0.0, optimizer={"name": "adamw", "lr": 1e-4}), "minilm"),
}
CONFIGS.update({name: config for name, (config, _) in NET_CASES.items()})
KINDS = {name: kind for name, (_, kind) in NET_CASES.items()}
TASKS = {"binary": 2, "multiclass": 3, "regression": 0}
LAYOUTS = {
    "image": {"kind": "image", "shape": [1, 6, 6], "index": list(range(36)), "static": []},
    "sequence": {"kind": "sequence", "shape": [5, 2], "index": list(range(10)), "static": []},
    "tokens": {"kind": "tokens", "shape": [6], "index": list(range(6)), "static": [], "vocab": 10, "pad": 0,
               "tokenizer": "words"},
    "embedding": {"kind": "embedding", "tune_blocks": 0},
    "minilm": {"kind": "tokens", "shape": [8], "index": list(range(8)), "static": [], "vocab": 30522, "pad": 0,
               "tokenizer": "minilm"},
}


def inputs(kind, n, rng):
    """A feature matrix in the layout `kind`, and a signal the target follows."""
    if kind == "image":
        X = rng.normal(size=(n, 1, 6, 6))
        return X.reshape(n, -1), X[:, 0, :3, :3].mean(axis=(1, 2)) * 3
    if kind == "sequence":
        X = rng.normal(size=(n, 5, 2))
        return X.reshape(n, -1), X[:, :, 0].mean(axis=1) * 2 + 0.5 * X[:, -1, 1]
    if kind == "tokens":
        X = rng.integers(2, 10, size=(n, 6))
        return X, (X == 2).sum(axis=1) - (X == 3).sum(axis=1) + rng.normal(scale=0.1, size=n)
    if kind == "minilm":
        from modelfab.features.text import MiniLMTokens

        signal = rng.normal(size=n)
        texts = [f"pump {'leaking badly' if s > 0 else 'working fine'} {i}" for i, s in enumerate(signal)]
        return MiniLMTokens(8).fit(texts).transform(texts), signal
    X = rng.normal(size=(n, 5))
    return X, X[:, 0] + 0.5 * X[:, 1]


def data(task, n=240, seed=0, kind="flat"):
    rng = np.random.default_rng(seed)
    X, signal = inputs(kind, n, rng)
    X = X.astype(np.float32)
    if task == "regression":
        y = signal * 3 + rng.normal(scale=0.1, size=n)
    elif task == "binary":
        y = (signal > 0).astype(int)
    else:
        y = np.digitize(signal, [-0.5, 0.5])
    return X[:200], y[:200], X[200:], y[200:]


CASES = [(f, t) for f in CONFIGS for t in TASKS if t in family(CONFIGS[f].type).tasks
         and not (f == "minilm" and t != "binary")]  # MiniLM is slow to fine-tune; one task shows the contract


def model_for(name, task):
    return make_model(CONFIGS[name], task, TASKS[task], layout=LAYOUTS.get(KINDS.get(name)))


@pytest.fixture(params=CASES, ids=[f"{f}-{t}" for f, t in CASES])
def case(request):
    name, task = request.param
    return name, task, model_for(name, task)


def data_for(name, task, **kw):
    return data(task, kind=KINDS.get(name, "flat"), **kw)


def test_fit_returns_self(case):
    family, task, model = case
    X, y, Xv, yv = data_for(family, task)
    assert model.fit(X, y, Xv, yv) is model


def test_fit_is_idempotent(case):
    family, task, model = case
    X, y, Xv, yv = data_for(family, task)
    first = model.fit(X, y, Xv, yv).predict_scores(Xv)
    again = model_for(family, task).fit(X, y, Xv, yv).predict_scores(Xv)
    np.testing.assert_array_equal(first, again)


def test_learns_something(case):
    family, task, model = case
    X, y, Xv, yv = data_for(family, task)
    pred = model.fit(X, y, Xv, yv).predict(Xv)
    if task == "regression":
        assert np.corrcoef(pred, yv)[0, 1] > 0.8
    else:
        assert (pred == yv).mean() > 0.7


def test_save_load_roundtrip(case, tmp_path):
    name, task, model = case
    X, y, Xv, yv = data_for(name, task)
    model.fit(X, y, Xv, yv).save(tmp_path)
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):  # safe formats only, never a pickle
        assert path.suffix in {".txt", ".json", ".safetensors", ".skops"}, path
    loaded = family(CONFIGS[name].type).load(tmp_path, CONFIGS[name], task, TASKS[task])
    np.testing.assert_allclose(loaded.predict_scores(Xv), model.predict_scores(Xv), rtol=1e-6)


def test_predict_before_fit_raises(case):
    name, task, model = case
    with pytest.raises(NotFittedError, match="not fitted"):
        model.predict(data_for(name, task)[2])


def test_probabilities(case):
    name, task, model = case
    X, y, Xv, yv = data_for(name, task)
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
    name, task, model = case
    X, y, Xv, yv = data_for(name, task)
    model.fit(X, y, Xv, yv)
    assert len(model.valid_scores_) == len(Xv)
