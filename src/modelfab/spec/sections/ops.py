"""`tracking:`, `serve:`, `monitor:` and `retrain:`: the services around the pipeline."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from modelfab.spec.sections.base import Section


class TrackingConfig(Section):
    uri: str | None = Field(None, description="MLflow tracking URI; sqlite:///<store>/mlflow.db when omitted.")
    experiment: str | None = Field(None, description="MLflow experiment; the spec's name when omitted.")


class ServeConfig(Section):
    """The prediction server (`modelfab serve`).

    ```yaml
    serve: {port: 8000, max_batch: 1000, api_key_env: MODELFAB_API_KEY}
    ```
    """

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=1, le=65_535, description="Port to listen on.")
    max_body_bytes: int = Field(1 << 20, ge=1024, description="Larger request bodies are refused with 413.")
    max_batch: int = Field(1000, ge=1, le=1_000_000, description="Records in one batch request at most.")
    log: str | None = Field(
        None, description="Prediction log: a SQLite file (relative to fab.yaml); <store>/predictions.db when omitted."
    )
    api_key_env: str = Field("MODELFAB_API_KEY", description="Environment variable holding the admin API key.")
    api_key_file: str | None = Field(None, description="File holding the admin API key (used if the variable is unset).")
    watch_seconds: float = Field(
        10.0, ge=0, description="How often to ask the registry whether the alias moved; 0 never asks."
    )
    runtime: Literal["python", "onnx"] = Field(
        "python", description="Score with the package in Python, or through ONNX Runtime with the version's exported "
        "graph (a version that has none is refused).")


class MonitorConfig(Section):
    """`modelfab monitor`: logged traffic against the training reference.

    Small samples are judged by tests (Kolmogorov-Smirnov for numbers, chi-square for
    categories, drift when p < p_value); large ones by effect size (Wasserstein distance in units
    of the reference's standard deviation, population stability index), since with many rows a
    test flags shifts too small to matter.

    ```yaml
    monitor: {drift_share: 0.5, wasserstein: 0.1, psi: 0.2}
    ```
    """

    small_sample: int = Field(1000, ge=10, description="At or below this many logged rows, use tests.")
    p_value: float = Field(0.05, gt=0, lt=1, description="Tests: a p-value below this is drift.")
    wasserstein: float = Field(0.1, gt=0, description="Large samples: drift above this (reference std units).")
    psi: float = Field(0.2, gt=0, description="Large samples: population stability index above this is drift.")
    drift_share: float = Field(
        0.5, gt=0, le=1, description="Status drift when this share of input columns drifted (or the predictions)."
    )
    performance_drop: float = Field(
        0.05, gt=0, description="Status drift when the primary metric on labelled rows falls this much below its "
        "evaluation value."
    )
    out_of_range: float = Field(0.01, ge=0, le=1, description="Warn when more rows than this fall outside the training range.")
    min_rows: int = Field(30, ge=1, description="Refuse to judge fewer logged predictions than this.")


class RetrainConfig(Section):
    """`modelfab retrain` and `modelfab watch`: new training data from labelled predictions.

    ```yaml
    retrain: {min_labelled: 200, holdout: 0.3, hours: 720}
    ```
    """

    min_labelled: int = Field(100, ge=10, description="Refuse to retrain on fewer labelled logged predictions.")
    holdout: float = Field(
        0.3, gt=0, lt=1, description="Newest share of the labelled rows held out: the gate compares challenger "
        "and champion on them."
    )
    hours: float | None = Field(None, gt=0, description="Use only predictions logged in the last H hours.")
    keep_reference: bool = Field(True, description="Train on the original data plus the logged rows (or logged rows only).")
    on: Literal["drift", "warn"] = Field("drift", description="`watch` retrains when monitoring reaches this status.")
