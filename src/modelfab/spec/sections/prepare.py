"""`validate:`, `clean:` and `split:`: the checks on the data, the repairs, and the split into train, validation and test."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from modelfab.spec.sections.base import Section


class ValidateConfig(Section):
    max_missing_rate: float = Field(0.5, ge=0, le=1, description="A column missing more than this is an error.")
    max_categories: int = Field(
        50, ge=2, description="A text column with more distinct values than this is free text if its cells hold "
        "several words, a many-valued category if its values repeat (features.encode: auto target-encodes it), "
        "else an identifier."
    )
    min_rows: int = Field(20, ge=2, description="Fewer rows than this is an error.")


class OutlierConfig(Section):
    method: Literal["none", "iqr", "zscore"] = Field("none", description="How outliers are found.")
    factor: float = Field(1.5, gt=0, description="IQR multiple (iqr) or standard deviations (zscore).")
    columns: list[str] | None = Field(None, description="Columns to treat; all numeric features when omitted.")


class DenoiseConfig(Section):
    columns: list[str] = Field(description="Sensor columns to smooth.")
    method: Literal["median", "mean"] = Field("median", description="Rolling statistic.")
    window: int = Field(5, ge=2, le=10_000, description="Rows in the trailing window, per entity.")


class CleanConfig(Section):
    """Row-dropping runs once before the split; value fixes are fitted on the training split.

    ```yaml
    clean:
      duplicates: drop
      missing: {numeric: median, categorical: most_frequent}
      outliers: {method: iqr, factor: 3}
    ```
    """

    duplicates: Literal["drop", "keep"] = Field("drop", description="Drop exact duplicate rows.")
    missing_target: Literal["drop", "error"] = Field("drop", description="Rows whose target is missing.")
    invalid: Literal["null", "error"] = Field(
        "null", description="Cells that are not numbers in a column of numbers ('abc' among 833 torques): "
        "count them as missing and report them (null), or stop naming them (error)."
    )
    numeric_missing: Literal["median", "mean", "zero"] = Field("median", description="Fill for numeric gaps.")
    categorical_missing: Literal["most_frequent", "constant"] = Field(
        "most_frequent", description="Fill for categorical gaps ('constant' fills 'missing')."
    )
    outliers: OutlierConfig = Field(default_factory=OutlierConfig, description="Clip outliers to learned bounds.")
    denoise: DenoiseConfig | None = Field(None, description="Smooth noisy sensors with a trailing rolling window.")


class SplitConfig(Section):
    method: Literal["auto", "stratified", "random", "group", "time"] = Field(
        "auto", description="auto: stratified for classification, group when an entity is set, else random."
    )
    test_size: float = Field(0.2, gt=0, lt=1, description="Share of rows (or entities) held out for testing.")
    valid_size: float = Field(
        0.15, gt=0, lt=1, description="Share of the remaining training rows held out for validation."
    )
    seed: int = Field(0, description="Random seed of the split.")
