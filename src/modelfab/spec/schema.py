"""The `fab.yaml` contract: one pydantic model per stage, every field typed, bounded and described.

`extra="forbid"` everywhere, so a typo is an error (with a suggestion) instead of a silently
ignored key. Variants (the model family) are chosen by a `type:` key.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from modelfab.spec.base import ModelConfig, Section
from modelfab.tasks import AUTO, TASKS
from modelfab.spec.nets import (
    CNNConfig,
    EfficientNetConfig,
    MiniLMConfig,
    MLPConfig,
    RNNConfig,
    TransformerConfig,
)

CURRENT_VERSION = 1


# --- data -------------------------------------------------------------------------------------


class RemainingLife(Section):
    """Derive a remaining-useful-life target: cycles left until each entity's last row."""

    cap: float | None = Field(
        None, gt=0, description="Clip the derived target at this value for training (125 for C-MAPSS)."
    )
    horizon: float | None = Field(
        None, gt=0,
        description="Evaluate also scores the validation entities' rows at most this many time steps before "
        "their end, against their true (uncapped) remaining life: the question a test of units stopped before "
        "failure asks, on units the model did not train on (150 for C-MAPSS).",
    )


class TestData(Section):
    """A separate test file, used instead of a split-off test set."""

    source: str = Field(description="Path of the test table, relative to fab.yaml.")
    labels: str | None = Field(
        None,
        description="File with one target value per entity, the value at the entity's last row "
        "(as NASA's RUL_FD001.txt). Without it the target column must be in the test table.",
    )
    rows: Literal["all", "last"] = Field(
        "all", description="Score every row, or only the last row of each entity."
    )


class ImagesConfig(Section):
    """Image files as data: `data.source` is a folder with one subfolder per class, or a CSV/Parquet
    manifest with a path column (relative paths are relative to the manifest).

    ```yaml
    data:
      source: images/          # images/<class>/*.png
      target: label
      images: {bad_files: skip}
    ```
    """

    column: str = Field("image", description="The column of image paths (a folder source names it so).")
    bad_files: Literal["error", "skip"] = Field(
        "error", description="A missing, corrupt or unreadable image: stop with its name, or skip and count it."
    )


class DataConfig(Section):
    """Where the table is and which column to predict.

    ```yaml
    data:
      source: data/ai4i2020.csv
      target: Machine failure
      drop: [UDI, Product ID]
    ```
    """

    source: str = Field(description="CSV, TSV, TXT, JSONL or Parquet file, or a folder of images, relative to fab.yaml.")
    target: str | None = Field(None, description="The column to predict (every task today needs one).")
    format: Literal["auto", "csv", "parquet", "jsonl"] = Field(
        "auto", description="File format; auto uses the suffix (.parquet/.pq, .jsonl/.ndjson, else text)."
    )
    delimiter: str | None = Field(
        None, description="Field delimiter; detected when omitted. Use 'whitespace' for space-aligned files."
    )
    encoding: str = Field("auto", description="Text encoding; auto detects UTF-8 (with or without BOM) or Latin-1.")
    columns: list[str] | None = Field(None, description="Column names for files without a header row.")
    drop: list[str] = Field(
        default_factory=list, description="Columns never used as features: identifiers, leaky labels."
    )
    entity: str | None = Field(None, description="Column naming the machine/engine each row belongs to.")
    time: str | None = Field(None, description="Column ordering the rows within an entity.")
    remaining_life: RemainingLife | None = Field(
        None, description="Derive the target as remaining life per entity (needs entity and time)."
    )
    test: TestData | None = Field(None, description="A separate test table instead of a split-off test set.")
    images: ImagesConfig | None = Field(None, description="Image files: a class-per-folder tree or a manifest.")

    @property
    def image_column(self) -> str:
        return self.images.column if self.images else "image"


# --- validate, clean, split ------------------------------------------------------------------


class ValidateConfig(Section):
    max_missing_rate: float = Field(0.5, ge=0, le=1, description="A column missing more than this is an error.")
    max_categories: int = Field(
        50, ge=2, description="A text column with more distinct values than this is treated as an identifier."
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


# --- features ----------------------------------------------------------------------------------


class Combination(Section):
    op: Literal["product", "ratio", "difference", "sum"] = Field(description="How the two columns combine.")
    columns: Annotated[list[str], Field(min_length=2, max_length=2)] = Field(description="The two columns.")
    name: str | None = Field(None, description="Name of the new column; derived when omitted.")


class WindowConfig(Section):
    columns: list[str] = Field(description="Sensor columns to summarise over a trailing window per entity.")
    size: int = Field(10, ge=2, le=10_000, description="Rows in the window.")
    stats: list[Literal["mean", "std", "min", "max", "slope"]] = Field(
        default_factory=lambda: ["mean", "std", "slope"], description="Statistics per column."
    )


class SequenceConfig(Section):
    """Sensor windows for sequence nets (LSTM, GRU, Transformer): each row gets the last `steps`
    readings of its entity, oldest first, as columns `<col>[t-k]`.

    ```yaml
    features:
      sequence: {columns: [s2, s3, s4], steps: 30}
    ```
    """

    columns: list[str] = Field(min_length=1, description="Sensor columns forming the sequence's channels.")
    steps: int = Field(30, ge=2, le=2_000, description="Readings per window.")
    short: Literal["pad", "error"] = Field(
        "pad", description="An entity with fewer readings than steps: repeat its first reading (pad) or stop (error)."
    )


class TextConfig(Section):
    """A free-text column.

    ```yaml
    features:
      text: {column: OriginalShorttext, method: tokens, max_length: 24}
    ```
    """

    column: str = Field(description="The text column.")
    method: Literal["tokens", "minilm_tokens", "minilm_embedding", "tfidf"] = Field(
        "tokens",
        description="tokens: word ids from a vocabulary built on the training rows (LSTM, GRU, Transformer); "
        "minilm_tokens: MiniLM's word pieces (type: minilm fine-tunes on them); minilm_embedding: the frozen "
        "MiniLM sentence embedding (any family); tfidf: word and bigram TF-IDF (linear, lightgbm, mlp).",
    )
    max_length: int = Field(32, ge=2, le=512, description="Tokens per text (longer texts are cut).")
    vocab_size: int = Field(20_000, ge=10, description="tokens/tfidf: words kept, most frequent first.")
    min_count: int = Field(1, ge=1, description="tokens/tfidf: a word seen fewer times is unknown.")


class ImageConfig(Section):
    """An image column (a path per row; an image folder gives one).

    ```yaml
    features:
      image: {size: 224, backbone: efficientnet-lite0}
    ```
    """

    size: int = Field(224, ge=8, le=1024, description="Images are resized to size x size.")
    channels: Literal[1, 3] = Field(3, description="1 (grayscale) or 3 (RGB); images are converted.")
    backbone: Literal["none", "efficientnet-lite0"] = Field(
        "none", description="none: pixels for a CNN; efficientnet-lite0: frozen pretrained features, a cached artifact."
    )
    tune_blocks: int = Field(
        0, ge=0, le=8, description="efficientnet-lite0: the last blocks left trainable (0 caches pooled features "
        "and trains only the head; n caches the activations before the last n blocks)."
    )
    batch_size: int = Field(32, ge=1, le=4096, description="Images decoded and embedded at a time.")


class SelectConfig(Section):
    method: Literal["none", "variance", "mutual_info", "model"] = Field("none", description="Feature selection.")
    k: int = Field(20, ge=1, description="Features kept by mutual_info and model.")
    threshold: float = Field(0.0, ge=0, description="Minimum variance kept by variance.")


class FeaturesConfig(Section):
    """Transforms fitted on the training split only and saved with the model.

    ```yaml
    features:
      scale: standard
      combine:
        - {op: product, columns: [Torque [Nm], Rotational speed [rpm]], name: power}
    ```
    """

    scale: Literal["standard", "minmax", "robust", "none"] = Field("standard", description="Numeric scaling.")
    power: Literal["none", "log", "yeo-johnson"] = Field("none", description="Transform for skewed columns.")
    power_columns: list[str] = Field(default_factory=list, description="Columns the power transform applies to.")
    encode: Literal["onehot", "ordinal", "target"] = Field("onehot", description="Categorical encoding.")
    combine: list[Combination] = Field(default_factory=list, description="New columns from pairs of columns.")
    windows: WindowConfig | None = Field(None, description="Rolling-window features per entity.")
    sequence: SequenceConfig | None = Field(None, description="Sensor windows for sequence nets.")
    text: TextConfig | None = Field(None, description="A free-text column and how to represent it.")
    image: ImageConfig | None = Field(None, description="An image column and how to represent it.")
    select: SelectConfig = Field(default_factory=SelectConfig, description="Feature selection.")


# --- train -------------------------------------------------------------------------------------


class LightGBMConfig(ModelConfig):
    """Gradient-boosted trees (LightGBM).

    ```yaml
    train: {type: lightgbm, n_estimators: 500, learning_rate: 0.05}
    ```
    """

    type: Literal["lightgbm"] = "lightgbm"
    n_estimators: int = Field(500, ge=1, le=100_000, description="Most boosting rounds.")
    learning_rate: float = Field(0.05, gt=0, le=1, description="Shrinkage per round.")
    num_leaves: int = Field(31, ge=2, le=131_072, description="Leaves per tree.")
    max_depth: int = Field(-1, ge=-1, description="Depth limit, -1 for none.")
    min_child_samples: int = Field(20, ge=1, description="Rows per leaf at least.")
    subsample: float = Field(1.0, gt=0, le=1, description="Row share per round.")
    colsample_bytree: float = Field(1.0, gt=0, le=1, description="Column share per tree.")
    reg_alpha: float = Field(0.0, ge=0, description="L1 penalty.")
    reg_lambda: float = Field(0.0, ge=0, description="L2 penalty.")
    max_bin: int = Field(
        255, ge=2, le=65_535,
        description="Histogram bins per feature. Sharp physical limits (a power or strain threshold) "
        "need fine bins: 255 blurs them, 1023 or more keeps them.",
    )
    min_data_in_bin: int = Field(3, ge=1, description="Rows per histogram bin at least.")
    class_weight: Literal["balanced"] | None = Field(None, description="Re-weight classes by frequency.")
    early_stopping_rounds: int | None = Field(
        50, ge=1, description="Stop when the validation loss has not improved for this many rounds."
    )
    refit_full: bool = Field(
        True, description="After early stopping, refit on training + validation rows with the best round count."
    )
    threads: int = Field(0, ge=0, description="Threads; 0 lets LightGBM choose.")


class LinearConfig(ModelConfig):
    """Logistic regression (classification) or ridge regression (regression).

    ```yaml
    train: {type: linear, C: 1.0}
    ```
    """

    type: Literal["linear"] = "linear"
    C: float = Field(1.0, gt=0, description="Inverse regularisation strength (logistic regression).")
    alpha: float = Field(1.0, ge=0, description="L2 penalty (ridge regression).")
    penalty: Literal["l2", "l1"] = Field("l2", description="Penalty of logistic regression.")
    class_weight: Literal["balanced"] | None = Field(None, description="Re-weight classes by frequency.")
    max_iter: int = Field(1000, ge=1, description="Solver iterations at most.")


class ForestConfig(ModelConfig):
    n_estimators: int = Field(200, ge=1, le=5_000, description="Trees.")
    max_features: float = Field(0.5, gt=0, le=1, description="Share of features tried at each split.")
    min_samples_leaf: int = Field(1, ge=1, description="Rows per leaf at least.")
    max_depth: int | None = Field(None, ge=1, description="Depth limit; none grows trees fully.")
    class_weight: Literal["balanced"] | None = Field(None, description="Re-weight classes by frequency.")
    threads: int = Field(0, ge=0, description="Threads; 0 uses every core.")


class ExtraTreesConfig(ForestConfig):
    """Extremely randomized trees (scikit-learn), saved with skops.

    ```yaml
    train: {type: extra_trees, n_estimators: 300}
    ```
    """

    type: Literal["extra_trees"] = "extra_trees"


class RandomForestConfig(ForestConfig):
    """A random forest (scikit-learn), saved with skops.

    ```yaml
    train: {type: random_forest, n_estimators: 300, max_features: 0.3}
    ```
    """

    type: Literal["random_forest"] = "random_forest"


MemberConfig = Annotated[
    LightGBMConfig | LinearConfig | ExtraTreesConfig | RandomForestConfig | MLPConfig, Field(discriminator="type")
]


class EnsembleConfig(ModelConfig):
    """Automatic model selection: every member is cross-validated on the training rows, and a
    weighted average is chosen greedily on the out-of-fold predictions (Caruana et al. 2004,
    as AutoGluon does); the chosen members are then refitted on all training rows.

    ```yaml
    train:
      type: ensemble
      members:
        - {type: lightgbm, num_leaves: 8}
        - {type: extra_trees}
    ```
    """

    type: Literal["ensemble"] = "ensemble"
    members: list[MemberConfig] = Field(
        default_factory=lambda: [LightGBMConfig(), ExtraTreesConfig(), RandomForestConfig()],
        min_length=1, description="Model families to cross-validate and combine.",
    )
    folds: int = Field(5, ge=2, le=20, description="Cross-validation folds for the out-of-fold predictions.")
    rounds: int = Field(25, ge=1, le=1000, description="Greedy selection steps (with replacement).")


class SearchRange(Section):
    """Where one hyperparameter is searched: `low`..`high` (on a log scale with `log: true`),
    or one of `choices`."""

    low: float | None = Field(None, description="Smallest value tried.")
    high: float | None = Field(None, description="Largest value tried.")
    log: bool = Field(False, description="Search on a log scale (learning rates, penalties, leaf counts).")
    choices: list[float | int | str | bool] | None = Field(
        None, min_length=1, description="Try only these values, instead of low..high."
    )


class SearchConfig(ModelConfig):
    """Hyperparameter search (Optuna's TPE sampler): each trial sets the keys of `space` on the
    `model` config, and is scored by the k-fold cross-validated loss on the training and
    validation rows (log loss, or squared error for regression); trials that fall behind the
    median after a fold are pruned. The best trial's config is then refitted on all those rows.
    The test rows take no part. Without `space`, a space for the family is used (LightGBM,
    linear, forests).

    ```yaml
    train:
      type: search
      model: {type: lightgbm, n_estimators: 2000, early_stopping_rounds: 100}
      trials: 40
      timeout: 600            # seconds; no new trial starts after this
      space:
        learning_rate: {low: 0.01, high: 0.2, log: true}
        num_leaves: {low: 4, high: 64, log: true}
    ```
    """

    type: Literal["search"] = "search"
    model: MemberConfig = Field(default_factory=LightGBMConfig, description="The family and its fixed settings.")
    space: dict[str, SearchRange] = Field(
        default_factory=dict, description="Keys of `model` to search, with their ranges (a dot reaches into a "
        "section: `optimizer.lr`); empty uses the family's.",
    )
    trials: int = Field(30, ge=1, le=10_000, description="Trials at most.")
    timeout: float | None = Field(
        None, gt=0, description="Seconds of searching at most: no new trial starts after this, though the first "
        "always runs (results then depend on the machine's speed; `trials` alone keeps a run reproducible).",
    )
    folds: int = Field(5, ge=2, le=20, description="Cross-validation folds that score each trial.")
    prune: bool = Field(True, description="Stop a trial after a fold when it is behind the median of earlier trials.")


class BlendMember(Section):
    model: str = Field(description="A registered model: NAME (its champion), NAME@ALIAS or NAME/VERSION.")
    weight: float = Field(1.0, gt=0, description="Its share of the blend (weights are divided by their sum).")


class BlendConfig(ModelConfig):
    """A weighted mean of the predictions of models already registered, each through its own
    package (its own transform: other cleaning, features, even another kind of model). Nothing
    is fitted: run the members' specs first. The members must answer this spec's task, and
    classifiers the same classes. Choose the weights on data the members did not train on (for
    C-MAPSS, engines held out of the pipeline: benchmarks/bench_rul.py --blend), never on the
    test rows.

    ```yaml
    train:
      type: blend
      members:
        - {model: turbofan-rul, weight: 0.3}
        - {model: turbofan-rul-cnn, weight: 0.7}
    ```
    """

    type: Literal["blend"] = "blend"
    members: list[BlendMember] = Field(min_length=2, description="The registered models and their weights.")


TrainConfig = Annotated[
    LightGBMConfig | LinearConfig | ExtraTreesConfig | RandomForestConfig | EnsembleConfig | SearchConfig
    | BlendConfig | MLPConfig | CNNConfig | RNNConfig | TransformerConfig | EfficientNetConfig | MiniLMConfig,
    Field(discriminator="type"),
]


# --- evaluate, gate, register ------------------------------------------------------------------

# Every task's metrics, in the tasks' order (classification's, then regression's).
Metric = Literal[tuple(dict.fromkeys(m for t in TASKS.values() for m in t.metrics))]  # type: ignore[misc]


class EvaluateConfig(Section):
    cv_folds: int = Field(0, ge=0, le=20, description="k-fold cross-validation on the training rows; 0 is off.")
    plots: bool = Field(True, description="Write PNG plots (confusion matrix, ROC/PR, residuals, importance).")
    importance_repeats: int = Field(
        5, ge=0, le=100, description="Permutation-importance repeats per input column; 0 is off."
    )


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


class RegisterConfig(Section):
    name: str | None = Field(None, description="Registered model name; the spec's name when omitted.")
    alias: str = Field("champion", description="Alias a blessed model gets.")


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


class FabSpec(Section):
    """A whole `fab.yaml`."""

    version: int = Field(CURRENT_VERSION, ge=1, le=CURRENT_VERSION, description="Spec format version.")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Project name (letters, digits, _ . -).")
    task: Literal[(AUTO, *TASKS)] = Field(  # type: ignore[valid-type]
        "auto", description="What to predict; auto infers it from the target."
    )
    store: str = Field(".fab", description="Folder of artifacts, cache and the default MLflow database.")
    data: DataConfig
    validate_: ValidateConfig = Field(default_factory=ValidateConfig, alias="validate")
    clean: CleanConfig = Field(default_factory=CleanConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    train: TrainConfig = Field(default_factory=LightGBMConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    register_: RegisterConfig = Field(default_factory=RegisterConfig, alias="register")
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    retrain: RetrainConfig = Field(default_factory=RetrainConfig)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def model_name(self) -> str:
        return self.register_.name or self.name

    def section(self, key: str) -> object:
        """The config section for a top-level key as written in fab.yaml (`validate`, not `validate_`)."""
        return getattr(self, f"{key}_", None) or getattr(self, key)
