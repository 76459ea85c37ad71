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


DATES_AT_LEAST = 0.95  # of a sample of a text column's filled cells, for it to be a column of dates


def is_dates(col: pd.Series) -> bool:
    """Text that reads as dates or times (one format or several), not as plain numbers or words."""
    if not (col.dtype == object or pd.api.types.is_string_dtype(col)):
        return False
    sample = col.dropna().astype(str)
    sample = sample.iloc[:: max(len(sample) // 200, 1)][:200]
    if not len(sample) or sample.str.fullmatch(r"[+-]?\d+([.,]\d+)?").mean() > 0.5:
        return False  # numbers (a year alone, a code) are not dates
    if sample.str.contains(r"\d").mean() < DATES_AT_LEAST:
        return False
    return bool(parse_dates(sample).notna().mean() >= DATES_AT_LEAST)
