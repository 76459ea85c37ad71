"""Value repairs fitted on the training split and saved with the model: gap filling, outlier
clipping, sensor denoising. Prediction applies them exactly as training did."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin


class Cleaner(BaseEstimator, TransformerMixin):
    """Fill gaps and clip outliers with values learned on the training rows.

    ```yaml
    clean: {numeric_missing: median, outliers: {method: iqr, factor: 3}}
    ```
    """

    def __init__(self, numeric=(), categorical=(), numeric_missing="median",
                 categorical_missing="most_frequent", outliers="none", factor=1.5, outlier_columns=None):
        self.numeric = numeric
        self.categorical = categorical
        self.numeric_missing = numeric_missing
        self.categorical_missing = categorical_missing
        self.outliers = outliers
        self.factor = factor
        self.outlier_columns = outlier_columns

    def fit(self, X: pd.DataFrame, y=None) -> Cleaner:  # noqa: ANN001
        self.fill_ = {}
        for col in self.numeric:
            values = _finite(X[col])
            fill = {"median": values.median(), "mean": values.mean(), "zero": 0.0}[self.numeric_missing]
            self.fill_[col] = float(0.0 if pd.isna(fill) else fill)
        for col in self.categorical:
            mode = X[col].astype("string").mode()
            use_mode = self.categorical_missing == "most_frequent" and len(mode)
            self.fill_[col] = str(mode.iloc[0]) if use_mode else "missing"
        self.bounds_ = {}
        for col in (self.outlier_columns or self.numeric) if self.outliers != "none" else ():
            values = _finite(X[col]).dropna()
            if self.outliers == "iqr":
                q1, q3 = values.quantile([0.25, 0.75])
                lo, hi = q1 - self.factor * (q3 - q1), q3 + self.factor * (q3 - q1)
            else:
                lo, hi = values.mean() - self.factor * values.std(), values.mean() + self.factor * values.std()
            self.bounds_[col] = [float(lo), float(hi)]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy(deep=False)  # columns are replaced, never written into: the input stays intact
        for col in self.numeric:
            X[col] = _finite(X[col]).fillna(self.fill_[col])
        for col in self.categorical:
            X[col] = X[col].astype("string").fillna(self.fill_[col]).astype(object)
        for col, (lo, hi) in self.bounds_.items():
            X[col] = X[col].clip(lo, hi)
        return X

    def get_feature_names_out(self, input_features=None) -> np.ndarray:  # noqa: ANN001
        return np.asarray(self.feature_names_in_, dtype=object)


def _finite(col: pd.Series) -> pd.Series:
    """Numbers as float64, with text and infinities as missing (validate counted them)."""
    values = pd.to_numeric(col, errors="coerce").astype("float64")
    return values.mask(np.isinf(values.to_numpy()))


def denoise(frame: pd.DataFrame, columns: list[str], method: str, window: int, entity: str | None) -> pd.DataFrame:
    """Replace each sensor value by the trailing rolling median/mean of its entity's readings.

    Trailing (not centred) windows use only past readings, so the same smoothing is possible on
    the line at prediction time. Rows must already be in time order within each entity.
    """
    frame = frame.copy()
    grouped = frame.groupby(entity, sort=False)[columns] if entity else frame[columns]
    rolled = grouped.rolling(window, min_periods=1)
    smooth = rolled.median() if method == "median" else rolled.mean()
    if entity:
        smooth = smooth.reset_index(level=0, drop=True)
    frame[columns] = smooth.loc[frame.index]
    return frame
