"""Columns that leak the answer, found before anything trains.

Two kinds, each with its evidence:
- a column that alone predicts the target almost perfectly: out-of-fold ROC-AUC (classes) or R²
  (values) of a small tree on that one column, at least `SCORE` (0.99);
- a set of two-valued columns whose OR (or AND) is the target on at least `AGREE` of the rows,
  as AI4I's five failure modes are of `Machine failure`: each column alone may be rare, so no
  single-column score finds them.
Only the training rows should be given: the figures are what a model would learn from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SCORE = 0.99  # out-of-fold ROC-AUC or R² of one column at which it is called a leak
AGREE = 0.995  # share of rows on which an OR or AND of flags equals a binary target
MAX_ROWS = 20_000  # rows sampled for the per-column check: enough to see a near-perfect column


@dataclass(frozen=True)
class Leak:
    columns: tuple[str, ...]
    evidence: str


def find_leaks(frame: pd.DataFrame, target: str, task: str, seed: int = 0) -> list[Leak]:
    """The leaks in `frame` (its training rows), one column or one set of flags each."""
    rows = frame[frame[target].notna()]
    if len(rows) > MAX_ROWS:
        rows = rows.sample(MAX_ROWS, random_state=seed)
    y = rows[target]
    leaks = [leak for c in rows.columns if c != target and (leak := _alone(rows[c], y, task, seed))]
    found = {c for leak in leaks for c in leak.columns}
    if task == "binary":
        flags = [c for c in rows.columns if c != target and c not in found and _two_valued(rows[c])]
        leaks += _flag_sets(rows, flags, y)
    return leaks


def _alone(col: pd.Series, y: pd.Series, task: str, seed: int) -> Leak | None:
    """A small tree on this one column, scored out of fold."""
    from sklearn.model_selection import cross_val_predict
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    x = _numbers(col)
    if x is None or np.nanstd(x) == 0:
        return None
    X = np.nan_to_num(x, nan=np.nanmin(x) - 1).reshape(-1, 1)  # a gap is its own value
    if task == "regression":
        model = DecisionTreeRegressor(max_depth=8, min_samples_leaf=5, random_state=seed)
        pred = cross_val_predict(model, X, y.to_numpy(float), cv=3)
        score, name = _r2(y.to_numpy(float), pred), "R²"
    else:
        codes = pd.factorize(y, sort=True)[0]
        if np.bincount(codes).min() < 3:
            return None
        model = DecisionTreeClassifier(max_depth=8, min_samples_leaf=5, random_state=seed)
        proba = cross_val_predict(model, X, codes, cv=3, method="predict_proba")
        score, name = _auc(codes, proba), "ROC-AUC"
    if score < SCORE:
        return None
    return Leak((str(col.name),), f"alone it predicts the target with out-of-fold {name} {score:.3f}")


def _flag_sets(rows: pd.DataFrame, flags: list[str], y: pd.Series) -> list[Leak]:
    """Flags whose OR (or AND) is the binary target: those that imply it (OR) or that it implies (AND)."""
    positive = pd.factorize(y, sort=True)[0].astype(bool)
    on = {c: _on(rows[c]) for c in flags}
    out = []
    for kind in ("OR", "AND"):
        if kind == "OR":  # each flag, when up, comes with a positive target
            members = [c for c in flags if on[c].any() and positive[on[c]].mean() >= AGREE]
            joined = np.any([on[c] for c in members], axis=0) if members else None
        else:  # each flag is up whenever the target is positive
            members = [c for c in flags if positive.any() and on[c][positive].mean() >= AGREE and not on[c].all()]
            joined = np.all([on[c] for c in members], axis=0) if members else None
        if len(members) >= 2 and (joined == positive).mean() >= AGREE:
            out.append(Leak(tuple(members), f"their {kind} equals the target on {(joined == positive).mean():.1%} "
                                            f"of the rows"))
    return out


def _numbers(col: pd.Series) -> np.ndarray | None:
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=float, na_value=np.nan)
    if col.nunique() > 200:  # free text or identifiers: not one column a tree can read
        return None
    return pd.factorize(col.astype("string"), sort=True)[0].astype(float)  # categories as codes


def _two_valued(col: pd.Series) -> bool:
    return col.dropna().nunique() == 2


def _on(col: pd.Series) -> np.ndarray:
    """True where a two-valued column holds its larger (or later-sorted) value."""
    values = sorted(col.dropna().unique().tolist(), key=str)
    high = max(values) if pd.api.types.is_numeric_dtype(col) else values[-1]
    return (col == high).to_numpy()


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    spread = ((y - y.mean()) ** 2).sum()
    return float(1 - ((y - pred) ** 2).sum() / spread) if spread else 0.0


def _auc(codes: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if proba.shape[1] == 2:
        return float(roc_auc_score(codes, proba[:, 1]))
    return float(roc_auc_score(codes, proba, multi_class="ovr", average="macro"))
