"""init's new columns from pairs: found where the answer follows a product or a difference that no
single column shows, and nothing found where there is none."""

import numpy as np
import pandas as pd

from modelfab.features.combos import find_combinations


def _frame(seed=0, n=2000):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"torque": rng.uniform(10, 60, n), "speed": rng.uniform(1200, 2800, n),
                         "air": rng.normal(300, 2, n), "noise": rng.normal(size=n)})


def test_a_power_limit_is_found_as_the_product_of_torque_and_speed():
    frame = _frame()
    power = frame.torque * frame.speed
    frame["failed"] = ((power > 110_000) | (power < 25_000)).astype(int)
    found = find_combinations(frame, "failed", "binary")
    assert found and (found[0].op, set(found[0].columns)) == ("product", {"torque", "speed"})
    assert "out-of-fold loss" in found[0].evidence


def test_a_gap_in_values_is_found_as_a_difference():
    frame = _frame(1)
    frame["process"] = frame.air + np.random.default_rng(2).normal(10, 1, len(frame))
    frame["y"] = 3.0 * (frame.process - frame.air) + np.random.default_rng(3).normal(0, 0.1, len(frame))
    found = find_combinations(frame, "y", "regression")
    assert any(set(f.columns) == {"air", "process"} and f.op in ("difference", "ratio") for f in found)


def test_nothing_is_found_where_one_column_decides():
    frame = _frame(4)
    frame["failed"] = (frame.torque > 35).astype(int)
    assert find_combinations(frame, "failed", "binary") == []
