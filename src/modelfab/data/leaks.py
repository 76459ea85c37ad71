"""Columns that leak the answer, found before anything trains.

Two kinds, each with its evidence:
- a column that alone predicts the target almost perfectly: out-of-fold ROC-AUC (classes) or R²
  (values) of a small tree on that one column, at least `SCORE` (0.99);
- a set of two-valued columns whose OR (or AND) is the target on at least `AGREE` of the rows,
  as AI4I's five failure modes are of `Machine failure`: each column alone may be rare, so no
  single-column score finds them;
- with `data.time` (when the outcome is known), a date column that is later than it on at least
  `AFTER` of the rows where it is filled (a repair date, an inspection after the failure): it was
  recorded after the outcome, so no prediction made in time can have it.
Only the training rows should be given: the figures are what a model would learn from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SCORE = 0.99  # out-of-fold ROC-AUC or R² of one column at which it is called a leak
AGREE = 0.995  # share of rows on which an OR or AND of flags equals a binary target
AFTER = 0.99  # share of filled rows on which a date column is later than data.time
MAX_ROWS = 20_000  # rows sampled for the per-column check: enough to see a near-perfect column


@dataclass(frozen=True)
class Leak:
    columns: tuple[str, ...]
    evidence: str


def find_leaks(frame: pd.DataFrame, target: str, task: str, seed: int = 0, time: str | None = None) -> list[Leak]:
    """The leaks in `frame` (its training rows), one column or one set of flags each."""
    late = after_time(frame.drop(columns=[target]), time) if time else []
    frame = frame.drop(columns=[c for leak in late for c in leak.columns])
    rows = frame[frame[target].notna()]
    if len(rows) > MAX_ROWS:
        rows = rows.sample(MAX_ROWS, random_state=seed)
    y = rows[target]
    leaks = [leak for c in rows.columns if c != target and (leak := _alone(rows[c], y, task, seed))]
    found = {c for leak in leaks for c in leak.columns}
    if task == "binary":
        flags = [c for c in rows.columns if c != target and c not in found and _two_valued(rows[c])]
        leaks += _flag_sets(rows, flags, y)
    return late + leaks


def after_time(frame: pd.DataFrame, time: str) -> list[Leak]:
    """Date columns recorded after `time`, the moment the outcome is known (no model fits: cheap)."""
    from modelfab.data.dates import is_dates, parse_dates

    def dates(col: pd.Series) -> pd.Series | None:
        return parse_dates(col) if pd.api.types.is_datetime64_any_dtype(col) or is_dates(col) else None

    at = dates(frame[time])
    if at is None:
        return []  # a cycle count or a step number: nothing to compare a date with
    out = []
    for name in (c for c in frame.columns if c != time):
        when = dates(frame[name])
        both = None if when is None else when.notna() & at.notna()
        if both is None or both.sum() < 10:
            continue
        lag = when[both] - at[both]
        later = float((lag > pd.Timedelta(0)).mean())
        if later >= AFTER:
            out.append(Leak((str(name),), f"recorded after data.time {time!r} on {later:.1%} of the rows where it is "
                                          f"filled (median {_duration(lag.median())} later)"))
    return out


def _duration(delta: pd.Timedelta) -> str:
    seconds = delta.total_seconds()
    for unit, size in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


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
