"""New columns from pairs of numeric columns that `init` writes as `features.combine`, found by
the machine rather than by hand (in the manner of OpenFE): AI4I's failures follow power (torque x
speed), strain (tool wear x torque) and the temperature gap, which no single column shows.

1. Every product, ratio and difference of two of the best numeric columns is added, alone, to
   all the numeric columns: out-of-fold loss of a small LightGBM with and without it. Scored
   alone they show nothing (power alone predicts AI4I's failures no better than torque alone:
   the failures have several causes); beside the other columns they do.
2. A pair is a candidate when it lowers that loss by `GAIN`.
3. The best few (one a pair) are confirmed together: kept only when the loss falls by `CONFIRM`.
Only the training rows should be given; the figures are what a model would learn from.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

MAX_ROWS = 10_000
MAX_COLUMNS = 8  # the numeric columns paired (the best alone): 28 pairs, 84 candidates
GAIN = 0.02  # one combination must lower the out-of-fold loss by 2%
CONFIRM = 0.03  # together, by 3%
FLOOR = 0.01  # and by 1% of a constant answer's loss: near-perfect models' tiny losses are mostly noise
KEEP = 6
TRIED = ("product", "ratio", "difference")  # of features/rows.py's OPS: a sum says what a difference does


@dataclass(frozen=True)
class Found:
    op: str
    columns: tuple[str, str]
    evidence: str


def find_combinations(frame: pd.DataFrame, target: str, task: str, seed: int = 0) -> list[Found]:
    rows = frame[frame[target].notna()]
    if len(rows) > MAX_ROWS:
        rows = rows.sample(MAX_ROWS, random_state=seed)
    numeric = [c for c in rows.columns if c != target and pd.api.types.is_numeric_dtype(rows[c])
               and rows[c].nunique() > 2]
    if len(numeric) < 2 or len(rows) < 100:
        return []
    y = _codes(rows[target], task)
    alone = {c: _loss(rows[[c]].to_numpy(float), y, task, seed) for c in numeric}
    paired = sorted(numeric, key=alone.get)[:MAX_COLUMNS]
    base = rows[numeric].to_numpy(float)
    plain = _loss(base, y, task, seed, leaves=15)
    constant = _constant_loss(y, task)
    found = []
    for a, b in combinations(paired, 2):
        tried = [(_loss(np.column_stack([base, _combined(rows, op, a, b)]), y, task, seed, leaves=15), op)
                 for op in TRIED]
        loss, op = min(tried)  # one combination a pair: a ratio and a difference of two temperatures say the same
        if loss < plain * (1 - GAIN) and plain - loss > FLOOR * constant:
            found.append((loss, Found(op, (a, b), f"beside the other columns, out-of-fold loss {plain:.4g} -> "
                                                  f"{loss:.4g}")))
    chosen = [f for _, f in sorted(found, key=lambda t: t[0])[:KEEP]]
    if not chosen:
        return []
    extra = np.column_stack([_combined(rows, f.op, *f.columns) for f in chosen])
    before = plain
    after = _loss(np.column_stack([base, extra]), y, task, seed, leaves=15)
    if after > before * (1 - CONFIRM):
        return []
    said = f"; all {len(chosen)} together, {before:.4g} -> {after:.4g}"
    return [Found(f.op, f.columns, f.evidence + said) for f in chosen]


def _combined(rows: pd.DataFrame, op: str, a: str, b: str) -> np.ndarray:
    """The column the featurize stage will build for `features.combine` (rows.py's OPS)."""
    from modelfab.features.rows import OPS

    with np.errstate(over="ignore", invalid="ignore"):
        values = OPS[op](rows[a].astype(float), rows[b].astype(float))
    return values.where(np.isfinite(values)).to_numpy()


def _constant_loss(y: np.ndarray, task: str) -> float:
    if task == "regression":
        return float(np.var(y))
    shares = np.bincount(y) / len(y)
    return float(-np.sum(shares[shares > 0] * np.log(shares[shares > 0])))


def _codes(y: pd.Series, task: str) -> np.ndarray:
    if task == "regression":
        return y.to_numpy(float)
    return pd.factorize(y.astype(str), sort=True)[0]


def _loss(X: np.ndarray, y: np.ndarray, task: str, seed: int, leaves: int = 8, rounds: int = 60) -> float:
    """3-fold out-of-fold log loss (classes) or mean squared error of a small LightGBM."""
    import lightgbm as lgb
    from sklearn.model_selection import KFold, StratifiedKFold

    k = int(y.max()) + 1 if task != "regression" else 0
    params = {"objective": {"binary": "binary", "multiclass": "multiclass"}.get(task, "regression"),
              "num_leaves": leaves, "learning_rate": 0.15, "min_child_samples": 10, "max_bin": 1023,
              "verbosity": -1, "seed": seed, "deterministic": True, "force_row_wise": True, "num_threads": 2}
    if task == "multiclass":
        params["num_class"] = k
    split = (StratifiedKFold(3, shuffle=True, random_state=seed).split(X, y) if task != "regression"
             else KFold(3, shuffle=True, random_state=seed).split(X))
    scores = np.zeros((len(y), max(k, 2)) if task != "regression" else len(y))
    for train_at, held_at in split:
        booster = lgb.train(params, lgb.Dataset(X[train_at], y[train_at], params={"max_bin": 1023, "verbosity": -1}),
                            num_boost_round=rounds)
        p = booster.predict(X[held_at])
        scores[held_at] = np.column_stack([1 - p, p]) if task == "binary" else p
    if task == "regression":
        return float(np.mean((scores - y) ** 2))
    return float(-np.mean(np.log(np.clip(scores[np.arange(len(y)), y], 1e-15, 1.0))))
