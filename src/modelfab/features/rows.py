"""Row-wise features: combinations of columns, the parts of dates, per-entity sensor windows and
denoising.

These read only the row and its entity's earlier rows, so they learn nothing and are applied
the same way at training and at prediction time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from modelfab.data.dates import parse_dates
from modelfab.data.repair import denoise

OPS = {
    "product": lambda a, b: a * b,
    "ratio": lambda a, b: a / b.replace(0, np.nan),
    "difference": lambda a, b: a - b,
    "sum": lambda a, b: a + b,
}


DATE_PARTS = ("year", "month", "day", "day of week", "hour", "minute", "day of year", "weekend", "days")


def date_names(column: str) -> list[str]:
    return [f"{column} {part}" for part in DATE_PARTS]


def date_parts(values: pd.Series) -> dict[str, np.ndarray]:
    """A date column's parts, as AutoGluon reads one; `days`: the time elapsed since 1970, in
    days. A cell that does not parse is missing in every part (imputed as such)."""
    parsed = parse_dates(values)
    t = parsed.dt
    out = {"year": t.year, "month": t.month, "day": t.day, "day of week": t.dayofweek, "hour": t.hour,
           "minute": t.minute, "day of year": t.dayofyear, "weekend": (t.dayofweek >= 5).where(parsed.notna()),
           "days": (parsed - pd.Timestamp(0)).dt.total_seconds() / 86400}
    return {part: pd.to_numeric(v, errors="coerce").to_numpy(dtype=float) for part, v in out.items()}


def combination_name(op: str, columns: list[str], name: str | None) -> str:
    return name or f"{columns[0]} {dict(product='*', ratio='/', difference='-', sum='+')[op]} {columns[1]}"


class RowFeatures(BaseEstimator, TransformerMixin):
    """Adds combination and window columns, keeps `keep` (the model's inputs) and drops the rest.

    ```yaml
    features:
      combine: [{op: product, columns: [Torque [Nm], Rotational speed [rpm]], name: power}]
      windows: {columns: [s2, s3], size: 30, stats: [mean, std, slope]}
    ```
    """

    def __init__(self, keep=(), combine=(), windows=None, denoise=None, entity=None, time=None, sequence=None,
                 dates=()):
        self.keep = keep
        self.dates = dates
        self.sequence = sequence
        self.combine = combine
        self.windows = windows
        self.denoise = denoise
        self.entity = entity
        self.time = time

    def fit(self, X: pd.DataFrame, y=None) -> RowFeatures:  # noqa: ANN001
        self._check_lengths(X)
        self.feature_names_out_ = np.asarray(self._features(X.head(3)).columns, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._check_lengths(X)
        return self._features(X)

    def _features(self, X: pd.DataFrame) -> pd.DataFrame:
        ordered = self._in_time_order(X)
        if self.denoise:
            d = self.denoise
            ordered = denoise(ordered, list(d["columns"]), d["method"], d["window"], self.entity)
        extra = {}
        for c in self.combine:
            a, b = (pd.to_numeric(ordered[col], errors="coerce") for col in c["columns"])
            with np.errstate(over="ignore", invalid="ignore"):
                combined = OPS[c["op"]](a, b)
            # A combination that overflows is not a measurement: missing, and imputed as such.
            extra[combination_name(c["op"], c["columns"], c.get("name"))] = combined.where(np.isfinite(combined))
        for col in self.dates:  # the raw column is kept for now; the column transformer drops it
            extra.update({f"{col} {part}": v for part, v in date_parts(ordered[col]).items()})
        if self.windows:
            extra.update(self._windows(ordered).items())
        if self.sequence:
            extra.update(self._lags(ordered))
        # The output holds the kept columns themselves, not copies (a frame of a large table is
        # not doubled). Nothing writes into it: the column transformer after it only reads.
        columns = {col: ordered[col] for col in self.keep} | extra
        out = pd.DataFrame(columns, index=ordered.index, copy=False)
        return out.loc[X.index] if ordered is not X else out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:  # noqa: ANN001
        return self.feature_names_out_

    def _in_time_order(self, X: pd.DataFrame) -> pd.DataFrame:
        if not (self.windows or self.denoise or self.sequence):
            return X
        keys = [k for k in (self.entity, self.time) if k]
        if not keys:
            return X
        return X.sort_values(keys, kind="stable")

    def _windows(self, X: pd.DataFrame) -> pd.DataFrame:
        """Trailing-window statistics per entity, from cumulative sums (one pass per column)."""
        w = self.windows
        size, stats = w["size"], list(w["stats"])
        pos = _positions(X, self.entity)
        n = np.minimum(pos + 1, size).astype(float)
        t = pos.astype(float)
        out = {}
        for col in w["columns"]:
            x = pd.to_numeric(X[col], errors="coerce").to_numpy(dtype=float)
            x = x - np.nanmean(x)  # centred sums keep the variance formula accurate
            s1, s2 = _window_sum(x, pos, size), _window_sum(x * x, pos, size)
            mean = s1 / n
            if "mean" in stats:
                out[f"{col} mean{size}"] = mean + np.nanmean(X[col].to_numpy(dtype=float))
            if "std" in stats:
                out[f"{col} std{size}"] = np.sqrt(np.maximum(s2 / n - mean**2, 0.0))
            if "slope" in stats:
                st, stt, sxt = _window_sum(t, pos, size), _window_sum(t * t, pos, size), _window_sum(x * t, pos, size)
                denom = n * stt - st**2
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[f"{col} slope{size}"] = np.where(denom > 0, (n * sxt - st * s1) / denom, 0.0)
            if "min" in stats or "max" in stats:
                keyed = X[col] if not self.entity else X.groupby(self.entity, sort=False)[col]
                rolled = keyed.rolling(size, min_periods=1)
                for stat in ("min", "max"):
                    if stat in stats:
                        values = getattr(rolled, stat)()
                        if self.entity:
                            values = values.reset_index(level=0, drop=True)
                        out[f"{col} {stat}{size}"] = values.loc[X.index].to_numpy()
        return pd.DataFrame(out, index=X.index)


    def _lags(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """`<col>[t-k]` for k = steps-1 .. 1: the entity's k-th earlier reading; an entity's first
        rows repeat its first reading (or stop, with short: error)."""
        q = self.sequence
        steps = q["steps"]
        pos = _positions(X, self.entity)
        out = {}
        rows = np.arange(len(X))
        for col in q["columns"]:
            x = pd.to_numeric(X[col], errors="coerce").to_numpy(dtype=float)
            for k in range(steps - 1, 0, -1):
                out[lag_name(col, k)] = x[rows - np.minimum(k, pos)]
        return out


    def _check_lengths(self, X: pd.DataFrame) -> None:
        """With `short: error`, an entity with fewer readings than the window stops the run."""
        q = self.sequence
        if not q or q.get("short") != "error":
            return
        X = self._in_time_order(X)  # sorted here only when the check runs: transform sorts again
        group = X[self.entity].to_numpy() if self.entity else np.zeros(len(X))
        lengths = pd.Series(_positions(X, self.entity) + 1).groupby(group).max()
        short = lengths[lengths < q["steps"]]
        if len(short):
            from modelfab.errors import DataError

            example = short.index[0].item() if hasattr(short.index[0], "item") else short.index[0]
            raise DataError(
                f"features.sequence: {len(short)} entities have fewer than {q['steps']} readings (e.g. "
                f"{self.entity or 'the table'} {example!r}: {int(short.iloc[0])}); lower steps or use short: pad"
            )


def _positions(X: pd.DataFrame, entity: str | None) -> np.ndarray:
    """Each row's index within its entity's run of rows (the rows are in entity, time order)."""
    group = X[entity].to_numpy() if entity else np.zeros(len(X))
    starts = np.r_[True, group[1:] != group[:-1]]
    return np.arange(len(X)) - np.maximum.accumulate(np.where(starts, np.arange(len(X)), 0))


def lag_name(column: str, k: int) -> str:
    return f"{column}[t-{k}]" if k else column


def _window_sum(x: np.ndarray, pos: np.ndarray, size: int) -> np.ndarray:
    """Sum of the last `size` values within each run (entity); `pos` is the index in the run."""
    c = np.cumsum(x)
    back = np.arange(len(x)) - size
    lagged = np.where(pos >= size, c[np.maximum(back, 0)], 0.0)
    before_run = np.where(pos < size, c[np.arange(len(x)) - pos] - x[np.arange(len(x)) - pos], 0.0)
    return c - lagged - before_run
