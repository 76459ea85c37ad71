"""Dates read from text: one format or several, row by row (validate tells a date column by it;
the feature step takes its parts)."""

from __future__ import annotations

import pandas as pd


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates of any one format, or of mixed formats row by row; what does not parse is NaT.
    Times with a zone are read in UTC."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_convert("UTC").dt.tz_localize(None) if values.dt.tz is not None else values
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' advice on formats: every row is tried below
        parsed = pd.to_datetime(values, errors="coerce", format="mixed", utc=True)
    return parsed.dt.tz_localize(None)
