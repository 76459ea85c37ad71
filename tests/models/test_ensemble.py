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
