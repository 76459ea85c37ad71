"""`evaluate:`, `gate:` and `register:`: how the candidate is scored, judged and registered."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from modelfab.spec.sections.base import Section
from modelfab.tasks import TASKS

# Every task's metrics, in the tasks' order (classification's, then regression's).
Metric = Literal[tuple(dict.fromkeys(m for t in TASKS.values() for m in t.metrics))]  # type: ignore[misc]


class EvaluateConfig(Section):
    cv_folds: int = Field(0, ge=0, le=20, description="k-fold cross-validation on the training rows; 0 is off.")
    plots: bool = Field(True, description="Write PNG plots (confusion matrix, ROC/PR, calibration, residuals, "
                        "importance).")
    bootstrap: int = Field(
        200, ge=0, le=10_000, description="Resamples of the test rows for each metric's 95% interval; 0 is off.",
    )
    importance_repeats: int = Field(
        5, ge=0, le=100, description="Permutation-importance repeats per input column; 0 is off."
    )
    importance_max_columns: int = Field(
        40, ge=1, le=10_000,
        description="A wider table is screened: its columns are shuffled in this many groups, and the groups "
        "that matter most are measured column by column, up to this many columns.",
    )


class ExplainConfig(Section):
    """Explanations of the model, written by the explain stage after evaluate.

    ```yaml
    explain: {rows: 200, method: auto}
    ```
    """

    enabled: bool = Field(True, description="Explain the model after evaluating it.")
    method: Literal["auto", "exact", "gradients", "permutation"] = Field(
        "auto", description="exact: SHAP values of the trees (LightGBM's own, SHAP's TreeExplainer for forests) "
        "or a linear model's coefficients; gradients: Integrated Gradients (Captum) for the nets; permutation: "
        "SHAP's model-agnostic permutation explainer on a sample; auto: exact where the family has it, "
        "gradients for nets, else permutation.",
    )
    steps: int = Field(32, ge=4, le=512, description="Integrated Gradients: points along the path from the "
                       "baseline to each row (more: a smaller completeness gap, proportionally slower).")
    rows: int = Field(200, ge=1, le=100_000, description="Test rows explained one by one (the largest errors first).")
    background: int = Field(
        10, ge=1, le=1000, description="Training rows the permutation explainer replaces a column's value from."
    )
    permutation_rows: int = Field(
        20, ge=1, le=100_000, description="Rows the run explains when the family has no exact values (the "
        "permutation explainer: each row costs 2 x columns x background predictions; a net's gradients "
        "through an image backbone: steps passes per row): the worst of the explained rows.",
    )
    max_rows: int = Field(100_000, ge=1, description="The most rows `modelfab explain` and POST /explain take at once.")


class GateRule(Section):
    metric: Metric = Field(description="Metric the rule reads.")
    min: float | None = Field(None, description="The candidate must reach at least this (higher-is-better metrics).")
    max: float | None = Field(None, description="The candidate must stay at or below this (rmse, mae).")
    min_delta: float | None = Field(
        None, description="The candidate must beat the champion by at least this much (absolute)."
    )
    min_relative: float | None = Field(
        None, description="The candidate must beat the champion by at least this share (0.01 = 1%)."
    )


class GateConfig(Section):
    """Rules a candidate must pass to be blessed; no rules means nothing is blessed.

    ```yaml
    gate:
      rules:
        - {metric: f1, min: 0.8, min_delta: 0.0}
    ```
    """

    rules: list[GateRule] = Field(default_factory=list, description="All rules must pass.")
    allow_trivial: bool = Field(
        False, description="Bless a model no better than a constant one (the majority class, every row "
        "positive, the training mean) on a rule's metric; off: such a model is refused whatever the thresholds."
    )


class RegisterConfig(Section):
    name: str | None = Field(None, description="Registered model name; the spec's name when omitted.")
    alias: str = Field("champion", description="Alias a blessed model gets.")
