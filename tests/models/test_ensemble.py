"""Greedy ensemble selection: weights follow the out-of-fold loss, never the test rows."""

import numpy as np

from modelfab.models import make_model
from modelfab.models.ensemble import _loss, select
from modelfab.spec.schema import EnsembleConfig, LightGBMConfig, LinearConfig


def test_selection_prefers_the_better_member_and_never_loses_to_it():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    good = np.full((300, 3), 0.1)
    good[np.arange(300), y] = 0.8
    noise = rng.dirichlet(np.ones(3), 300)
    weights = select([noise, good], y, "multiclass", rounds=20)
    assert weights[1] > weights[0]
    blended = weights[0] * noise + weights[1] * good
    assert _loss(blended, y, "multiclass") <= _loss(good, y, "multiclass") + 1e-12


def test_two_different_families_beat_either_alone_out_of_fold():
    """A linear trend plus a threshold: each family gets one part right, the blend both."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 3)).astype(np.float32)
    y = 2.0 * X[:, 0] + 3.0 * (X[:, 1] > 0.5) + rng.normal(scale=0.3, size=600)
    config = EnsembleConfig(members=[LinearConfig(), LightGBMConfig(n_estimators=200, num_leaves=4)], folds=4, rounds=20)
    model = make_model(config, "regression").fit(X[:500], y[:500], X[500:], y[500:])
    losses = model.oof_loss_
    blend = float(np.mean((model.valid_scores_ - y[500:]) ** 2))
    assert len(model.members_) == 2  # both earn a weight
    assert blend < min(losses.values())
    # Every training and validation row has the blend's out-of-fold score; its loss is the one recorded.
    assert model.oof_scores_.shape == (600,)
    assert np.isclose(float(np.mean((model.oof_scores_ - y) ** 2)), model.oof_blend_loss_)


def test_an_mlp_member_is_cross_validated_refitted_and_reloaded(tmp_path):
    from modelfab.models.ensemble import EnsembleModel
    from modelfab.spec.sections.nets import MLPConfig

    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(int)  # an interaction a linear model cannot draw
    mlp = MLPConfig(hidden=[32], epochs=60, batch_size=32, dropout=0.0, optimizer={"name": "adam", "lr": 0.01},
                    early_stopping={"patience": 5})
    config = EnsembleConfig(members=[LinearConfig(), mlp], folds=3, rounds=10)
    model = make_model(config, "binary", 2).fit(X[:240], y[:240], X[240:], y[240:])
    assert model.oof_loss_["1:mlp"] < model.oof_loss_["0:linear"]
    refitted = [m for _, m in model.members_ if m.config.type == "mlp"][0]
    assert refitted.config.early_stopping.patience is None  # epochs carried over from the folds
    model.save(tmp_path)
    loaded = EnsembleModel.load(tmp_path, config, "binary", 2)
    np.testing.assert_allclose(loaded.predict_scores(X[240:]), model.predict_scores(X[240:]), rtol=1e-6)
