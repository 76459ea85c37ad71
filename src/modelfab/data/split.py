"""Split: train / validation / test rows, stratified, random, grouped by entity, or by time.

With `data.test`, the separate test file is the test part and only train/validation are split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelfab.artifacts import CleanTable, DataReport, RawTable, Splits
from modelfab.errors import DataError
from modelfab.pipeline import stage
from modelfab.spec.schema import DataConfig, SplitConfig


@stage("split", outputs={"splits": Splits}, sections=("split", "data"))
def split(clean: CleanTable, raw_test: RawTable, report: DataReport, split: SplitConfig, data: DataConfig) -> Splits:
    frame, rep = clean.frame, report.data
    method = resolve_method(split.method, rep["task"], data.entity)
    if len(raw_test.frame):
        train, valid = divide(frame, method, split.valid_size, split.seed, rep)
        test = raw_test.frame
    else:
        rest, test = divide(frame, method, split.test_size, split.seed, rep)
        train, valid = divide(rest, method, split.valid_size, split.seed, rep)
    if data.remaining_life and data.remaining_life.cap:
        # Early-life readings cannot tell 300 cycles from 200 apart; the cap teaches "healthy".
        cap = data.remaining_life.cap
        train = train.assign(**{data.target: train[data.target].clip(upper=cap)})
        valid = valid.assign(**{data.target: valid[data.target].clip(upper=cap)})
    info = {"method": method, "train": len(train), "valid": len(valid), "test": len(test), "seed": split.seed}
    return Splits(train, valid, test, info)


def resolve_method(method: str, task: str, entity: str | None) -> str:
    if method != "auto":
        return method
    if entity:
        return "group"
    return "stratified" if task != "regression" else "random"


def divide(frame: pd.DataFrame, method: str, share: float, seed: int, rep: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (kept, held_out) with about `share` of rows (or entities) held out."""
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    if method == "group":
        groups = frame[rep["entity"]]
        if groups.nunique() < 2:
            raise DataError(f"split.method group: column {rep['entity']!r} has fewer than 2 entities")
        splitter = GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed)
        keep, held = next(splitter.split(frame, groups=groups))
        return frame.iloc[np.sort(keep)], frame.iloc[np.sort(held)]
    if method == "time":
        order = frame.sort_values(rep["time"], kind="stable") if rep.get("time") else frame
        cut = int(round(len(order) * (1 - share)))
        return order.iloc[:cut], order.iloc[cut:]
    stratify = None
    if method == "stratified":
        stratify = frame[rep["target"]]
        counts = stratify.value_counts()
        if counts.min() < 2:
            raise DataError(
                f"split.method stratified: class {counts.idxmin()!r} of {rep['target']!r} has "
                f"{counts.min()} row; a stratified split needs at least 2 per class"
            )
    try:
        return train_test_split(frame, test_size=share, stratify=stratify, random_state=seed)
    except ValueError as exc:
        raise DataError(f"split: cannot hold out {share:.0%} of {len(frame)} rows: {exc}") from None
