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
from modelfab.tasks import get_task


@stage("split", outputs={"splits": Splits}, sections=("split", "data"))
def split(clean: CleanTable, raw_test: RawTable, report: DataReport, split: SplitConfig, data: DataConfig) -> Splits:
    frame, rep = clean.frame, report.data
    method = resolve_method(split.method, rep["task"], data.entity)
    # Positions are chosen on the key columns alone and each part is taken from the table once,
    # so a large table is copied into its three parts and never into a "rest" in between.
    keys = frame[[c for c in dict.fromkeys((rep["target"], rep.get("entity"), rep.get("time"))) if c]]
    if len(raw_test.frame):
        train_at, valid_at = divide(keys, method, split.valid_size, split.seed, rep)
        test = raw_test.frame
    else:
        rest_at, test_at = divide(keys, method, split.test_size, split.seed, rep)
        train_in_rest, valid_in_rest = divide(keys.iloc[rest_at], method, split.valid_size, split.seed, rep)
        train_at, valid_at = rest_at[train_in_rest], rest_at[valid_in_rest]
        test = frame.iloc[test_at]
    train, valid = frame.iloc[train_at], frame.iloc[valid_at]
    if data.remaining_life and data.remaining_life.cap:
        # Early-life readings cannot tell 300 cycles from 200 apart; the cap teaches "healthy".
        cap = data.remaining_life.cap
        train = train.assign(**{data.target: train[data.target].clip(upper=cap)})
        valid = valid.assign(**{data.target: valid[data.target].clip(upper=cap)})
    check_training_classes(train[rep["target"]], rep, method)
    info = {"method": method, "train": len(train), "valid": len(valid), "test": len(test), "seed": split.seed}
    return Splits(train, valid, test, info)


def check_training_classes(y: pd.Series, rep: dict, method: str) -> None:
    """A classifier trained on one class is a constant: stop here, naming the split rule, rather
    than train, evaluate and perhaps register it."""
    if not get_task(rep["task"]).has_classes or get_task(rep["task"]).detector:
        return  # a detector learns from the normal rows alone
    seen = y.astype(str).unique()
    if len(seen) < 2:
        only = f"only class {seen[0]!r}" if len(seen) else "no rows"
        raise DataError(f"split.method {method!r}: the training rows hold {only} of {rep['target']!r} "
                        f"(classes {rep['classes']}); a model cannot learn to tell classes apart from one. "
                        "Use split.method: stratified, or a time split whose training part has every class")


def resolve_method(method: str, task: str, entity: str | None) -> str:
    if method != "auto":
        return method
    if entity:
        return "group"
    return get_task(task).default_split


def divide(frame: pd.DataFrame, method: str, share: float, seed: int, rep: dict) -> tuple[np.ndarray, np.ndarray]:
    """Positions (kept, held_out) of the rows, with about `share` of rows (or entities) held
    out, in the order scikit-learn's splitters give them."""
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    at = np.arange(len(frame))
    if method == "group":
        groups = frame[rep["entity"]]
        if groups.nunique() < 2:
            raise DataError(f"split.method group: column {rep['entity']!r} has fewer than 2 entities")
        splitter = GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed)
        keep, held = next(splitter.split(at, groups=groups))
        return np.sort(keep), np.sort(held)
    if method == "time":
        order = np.argsort(frame[rep["time"]].to_numpy(), kind="stable") if rep.get("time") else at
        cut = int(round(len(order) * (1 - share)))
        return order[:cut], order[cut:]
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
        return train_test_split(at, test_size=share, stratify=stratify, random_state=seed)
    except ValueError as exc:
        raise DataError(f"split: cannot hold out {share:.0%} of {len(frame)} rows: {exc}") from None
