"""`train:` for `task: anomaly`: the detectors, chosen by `type:`. Each learns what normal looks
like from the normal rows (`on: normal`, the default) or from every training row (`on: all`),
and flags a row when its score passes the threshold the rule in `threshold:` sets on the
validation rows (never on the test rows)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from modelfab.spec.sections.base import ModelConfig, Section
from modelfab.spec.sections.nets import EarlyStoppingConfig, NetBase


class ThresholdRule(Section):
    """Where the flag starts, chosen on the validation rows.

    ```yaml
    threshold: {rule: contamination, value: 0.02}   # flag the 2% most unusual validation rows
    threshold: {rule: quantile, value: 0.99}        # above 99% of the normal validation rows
    threshold: {rule: f1}                           # the F1-best on labelled validation rows
    ```
    """

    rule: Literal["f1", "quantile", "contamination"] = Field("f1", description="How the threshold is chosen.")
    value: float | None = Field(None, gt=0, lt=1, description="The quantile or the contamination share.")


class DetectorConfig(ModelConfig):
    on: Literal["normal", "all"] = Field("normal", description="The training rows the detector learns from.")
    threshold: ThresholdRule = Field(default_factory=ThresholdRule)


class IsolationForestConfig(DetectorConfig):
    """Isolation Forest (scikit-learn): unusual rows are isolated by few random splits.

    ```yaml
    train: {type: isolation_forest, n_estimators: 300}
    ```
    """

    type: Literal["isolation_forest"] = "isolation_forest"
    n_estimators: int = Field(300, ge=1, le=10_000, description="Trees.")
    max_samples: int = Field(256, ge=2, description="Rows each tree is grown on.")
    max_features: float = Field(1.0, gt=0, le=1, description="Share of columns each tree sees.")


class NeighbourConfig(DetectorConfig):
    # Each scored row is compared with every reference row: a seeded sample of the normal rows
    # keeps that cost bounded (as PatchCore's coreset does for patches).
    reference: int | None = Field(
        20_000, ge=10, description="Normal rows kept as neighbours to compare with (a seeded random sample; "
        "null keeps every one: exact, but the time grows with the square of the rows).")


class LOFConfig(NeighbourConfig):
    """Local Outlier Factor (scikit-learn, novelty mode): density against the neighbours'."""

    type: Literal["lof"] = "lof"
    n_neighbors: int = Field(20, ge=1, le=1000, description="Neighbours a row's density is compared with.")


class KNNConfig(NeighbourConfig):
    """k nearest neighbours (PyOD): the distance to the k-th (or mean of k) nearest normal rows."""

    type: Literal["knn"] = "knn"
    n_neighbors: int = Field(10, ge=1, le=1000, description="Neighbours.")
    method: Literal["largest", "mean", "median"] = Field("mean", description="How the k distances make a score.")


class ECODConfig(DetectorConfig):
    """ECOD (Li et al. 2022): per-column tail probabilities from the normal rows' empirical
    distributions, summed; no parameters to tune."""

    type: Literal["ecod"] = "ecod"


class PatchCoreConfig(DetectorConfig):
    """PatchCore (Roth et al. 2022) on EfficientNet-Lite0's mid-level patches (needs
    `features.image: {backbone: efficientnet-lite0, patches: true}`): a memory bank of the good
    images' patch features, locally averaged and thinned by greedy coreset selection; an image
    scores its most unusual patch's distance to the bank (or their mean, `pooling`). No training
    of the backbone.

    ```yaml
    train: {type: patchcore, coreset: 0.01}
    ```
    """

    type: Literal["patchcore"] = "patchcore"
    coreset: float = Field(0.01, gt=0, le=1, description="Share of the good images' patches kept in the bank.")
    max_bank: int = Field(20_000, ge=100, description="The most patches kept, whatever the share.")
    projection: int = Field(64, ge=8, le=1024, description="Dimensions of the random projection coreset selection uses.")
    pooling: Literal["max", "mean"] = Field(
        "max", description="An image's score from its patches' distances: the most unusual patch (PatchCore's: small, "
        "local defects), or their mean (defects that change much of the part).",
    )


class AutoencoderConfig(NetBase, DetectorConfig):
    """An autoencoder (PyTorch, on the factory's trainer): it learns to rebuild normal rows, and
    a row scores its reconstruction error. Tables go through dense layers narrowing to
    `hidden[-1]` and back; sensor windows (`features.sequence`) through a GRU that reads the
    window into one state and a GRU that rebuilds every time step from it, so the error is known
    per step (where in the window the reading went wrong). Early stopping watches the normal
    validation rows' reconstruction loss.

    ```yaml
    train: {type: autoencoder, hidden: [64, 16], epochs: 50}
    ```
    """

    type: Literal["autoencoder"] = "autoencoder"
    hidden: list[int] = Field(
        default_factory=lambda: [64, 16], min_length=1,
        description="Tables: the encoder's widths, the last the bottleneck (the decoder mirrors them). Sensor "
        "windows: the last is the GRU's state.",
    )
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout between the dense layers.")
    epochs: int = Field(50, ge=1, le=100_000, description="Passes over the normal training rows at most.")
    batch_size: int = Field(256, ge=1, le=1_000_000, description="Rows per step.")
    early_stopping: EarlyStoppingConfig = Field(
        default_factory=lambda: EarlyStoppingConfig(patience=5), description="Early stopping on the normal "
        "validation rows' reconstruction loss.",
    )


OneDetector = Annotated[IsolationForestConfig | LOFConfig | KNNConfig | ECODConfig | AutoencoderConfig,
                        Field(discriminator="type")]


class DetectorsConfig(DetectorConfig):
    """Several detectors combined (ADBench: no one detector wins everywhere): the mean of each
    one's rank among its normal training rows' scores (`combine: rank`), or of the scores on
    their normal rows' scale (`combine: standard`).

    ```yaml
    train: {type: detectors, members: [{type: isolation_forest}, {type: ecod}, {type: knn}]}
    ```
    """

    type: Literal["detectors"] = "detectors"
    members: list[OneDetector] = Field(
        default_factory=lambda: [IsolationForestConfig(), ECODConfig(), KNNConfig()], min_length=1,
        description="The detectors combined.",
    )
    combine: Literal["rank", "standard"] = Field(
        "rank", description="How their scores are combined: mean rank among the normal training rows' scores, or "
        "mean score on the normal rows' scale.",
    )


DETECTOR_TYPES = frozenset({"isolation_forest", "lof", "knn", "ecod", "autoencoder", "detectors", "patchcore"})
