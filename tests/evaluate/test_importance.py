"""Permutation importance on a wide table screens groups of columns first, so its cost is
bounded by importance_max_columns whatever the width, and finds the columns that matter."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelfab.evaluate.importance import permutation_importance


class Stub:
    """A package whose score depends on two of many columns; counts its calls."""

    task = "regression"

    def __init__(self, columns: list[str]) -> None:
        self.meta = {"schema": {"features": columns, "entity": None}, "threshold": 0.5}
        self.calls = 0

    def unchecked_scores(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        return truth(frame)


def truth(frame: pd.DataFrame) -> np.ndarray:
    return 3 * frame["c7"].to_numpy() + frame[frame.columns[-1] if len(frame.columns) < 152 else "c151"].to_numpy()


def wide(n_columns: int = 300, rows: int = 400) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, n_columns)), columns=[f"c{i}" for i in range(n_columns)])
    return frame, truth(frame)


def test_a_wide_table_is_screened_in_groups_and_the_columns_that_matter_are_found():
    frame, y = wide()
    stub = Stub(list(frame.columns))
    importance, note = permutation_importance(stub, frame, y, "rmse", repeats=3, max_columns=30)
    assert stub.calls <= 1 + 2 * 30  # the baseline, at most 30 groups, at most 30 columns
    assert {k: note[k] for k in ("columns", "groups", "group_size", "measured")} == \
        {"columns": 300, "groups": 30, "group_size": 10, "measured": 30}
    ranked = sorted(importance, key=lambda c: -importance[c])
    assert ranked[:2] == ["c7", "c151"] and len(importance) == 30
    assert note["largest_drop_left"] < 0.05 * importance["c151"]  # what was left out hardly matters


def test_a_narrow_table_measures_every_column_and_is_reproducible():
    frame, y = wide(12)
    first, note = permutation_importance(Stub(list(frame.columns)), frame, y, "rmse", repeats=2, max_columns=40)
    again, _ = permutation_importance(Stub(list(frame.columns)), frame, y, "rmse", repeats=2, max_columns=40)
    assert note is None and set(first) == set(frame.columns) and first == again
