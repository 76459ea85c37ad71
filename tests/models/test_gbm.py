"""LightGBM-specific behaviour that the shared contract suite does not cover."""

import numpy as np

from modelfab.models import make_model
from modelfab.spec.schema import LightGBMConfig


def sharp_limit(n=6000, seed=0):
    """A failure that happens exactly above a physical limit, as AI4I's power failures do."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 100_000, size=(n, 2)).astype(np.float32)
    return X, (X[:, 0] > 9_000).astype(int)


def test_finer_bins_place_a_sharp_limit_more_exactly():
    X, y = sharp_limit()
    near = np.linspace(8_000, 10_000, 2001, dtype=np.float32)
    X_near = np.column_stack([near, np.full_like(near, 50_000)])
    y_near = (near > 9_000).astype(int)
    errors = {}
    for bins in (255, 8191):
        config = LightGBMConfig(n_estimators=50, max_bin=bins, min_data_in_bin=1, early_stopping_rounds=None)
        model = make_model(config, "binary", 2).fit(X, y)
        errors[bins] = int((model.predict(X_near) != y_near).sum())
    # 255 quantile bins of 100,000 are about 390 wide: the split lands up to a bin away from 9,000.
    assert errors[8191] * 2 < errors[255]
