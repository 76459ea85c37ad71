"""`train:`: the model family, chosen by `type:` (the PyTorch families' configs are in nets.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from modelfab.spec.sections.base import ModelConfig, Section
from modelfab.spec.sections.cluster import DBSCANConfig, GaussianMixtureConfig, HDBSCANConfig, KMeansConfig
from modelfab.spec.sections.detect import (
    AutoencoderConfig,
    DetectorsConfig,
    ECODConfig,
    IsolationForestConfig,
    KNNConfig,
    LOFConfig,
    PatchCoreConfig,
)
from modelfab.spec.sections.nets import (
    CNNConfig,
    EfficientNetConfig,
    MiniLMConfig,
    MLPConfig,
    RNNConfig,
    TransformerConfig,
)


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
      timeout: 600            # seconds at most, the refit on all rows included
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
        None, gt=0, description="Seconds at most, the refit on all rows included: trials stop starting, and one in "
        "flight stops growing (LightGBM rounds, forest trees, net epochs), in time for the refit; the first trial "
        "always runs in full (results then depend on the machine's speed; `trials` alone keeps a run reproducible).",
    )
    folds: int = Field(5, ge=2, le=20, description="Cross-validation folds that score each trial.")
    prune: bool = Field(True, description="Stop a trial after a fold when it is behind the median of earlier trials.")


AUTO_FAMILIES = ("lightgbm", "extra_trees", "random_forest", "linear", "mlp")


class AutoConfig(ModelConfig):
    """Automatic model selection under a time budget (what `modelfab init` writes). Within the
    budget, a hard limit on the train stage: the families that suit the task are bagged over k
    folds (strong settings of each, LightGBM with fine histogram bins among them), the best
    family's settings are searched with Optuna in the time left, and a weighted blend of them
    all is chosen greedily on the out-of-fold scores (Caruana et al. 2004). The fold models
    themselves are the final model, so no refit eats the budget. The test rows take no part;
    every candidate, its score and its time are in the package's leaderboard and the report.

    ```yaml
    train:
      type: auto
      time_budget: 120s        # s, m or h; the train stage's wall time at most
      families: [lightgbm, extra_trees, random_forest, linear, mlp]
    ```
    """

    type: Literal["auto"] = "auto"
    time_budget: float = Field(120.0, gt=0, le=7 * 86_400, description="Seconds the train stage may take, at most "
                               "(`90`, `90s`, `5m`, `2h`): featurizing for the nets, every fit and the blend.")
    families: list[Literal[AUTO_FAMILIES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(AUTO_FAMILIES), min_length=1, description="The families tried.")
    folds: int = Field(5, ge=2, le=20, description="Bagging folds: each candidate is fitted k times, and every "
                       "training row is scored by the fold that did not see it.")
    search: bool = Field(True, description="Search the best family's settings (Optuna) in the time left.")
    trials: int | None = Field(None, ge=0, le=100_000, description="Search trials at most; none: as many as the "
                               "budget allows (with deterministic: 40, every one run).")
    rounds: int = Field(25, ge=1, le=1000, description="Greedy blend selection steps (with replacement).")
    deterministic: bool = Field(False, description="Count, not time: every candidate and all `trials` run to the "
                                "end, so the same spec gives the same model on any machine (the budget then only "
                                "warns).")

    @field_validator("time_budget", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value, "train.time_budget")


def parse_duration(value: object, key: str) -> object:
    """Seconds from `90`, `90s`, `1.5m` or `2h`; anything else is left to the field's own check."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], units[text[-1]]) if text and text[-1] in units else (text, 1)
    try:
        return float(number) * unit
    except ValueError:
        raise ValueError(f"{key}: {value!r} is not a duration; expected seconds, or a number with s, m or h "
                         "(120s, 5m, 2h)") from None


class BlendMember(Section):
    model: str = Field(description="A registered model: NAME (its champion), NAME@ALIAS or NAME/VERSION.")
    weight: float = Field(1.0, gt=0, description="Its share of the blend (weights are divided by their sum).")


TeacherConfig = Annotated[
    LightGBMConfig | LinearConfig | ExtraTreesConfig | RandomForestConfig | MLPConfig | EnsembleConfig | SearchConfig,
    Field(discriminator="type"),
]


class RegisteredTeacher(Section):
    model: str = Field(description="A registered model that teaches (a blend, a large net): NAME (its champion), "
                       "NAME@ALIAS or NAME/VERSION. It scores the training rows through its own package.")


StudentConfig = Annotated[
    LightGBMConfig | MLPConfig | CNNConfig | RNNConfig | TransformerConfig, Field(discriminator="type")]


class DistillConfig(ModelConfig):
    """A teacher teaches a student on its soft outputs (class probabilities, or values); the
    package keeps the student alone, small and fast. The teacher is a family fitted here (an
    ensemble, a search, any table family), which also labels perturbed copies of the training
    rows, or a registered model (a blend, a large net), which labels the training rows through
    its own package. The student is one LightGBM or a net that reads this spec's features.

    ```yaml
    train:
      type: distill
      teacher: {type: ensemble, members: [{type: lightgbm}, {type: extra_trees}]}
      student: {type: lightgbm, n_estimators: 800, num_leaves: 15}
      augment: 4
    ---
    train:                                  # the blend of five CNNs and a LightGBM, taught to one CNN
      type: distill
      teacher: {model: turbofan-rul-blend}
      student: {type: cnn, channels: [10, 10, 10, 10], epochs: 80}
    ```
    """

    type: Literal["distill"] = "distill"
    teacher: TeacherConfig | RegisteredTeacher = Field(default_factory=lambda: EnsembleConfig(),
                                                       description="The model that teaches.")
    student: StudentConfig = Field(default_factory=LightGBMConfig, description="The single model that learns.")
    augment: int = Field(4, ge=0, le=50, description="Perturbed copies of the training rows a teacher fitted here "
                         "labels (more rows to learn its function from where the training set is small); a registered "
                         "teacher labels the training rows only.")
    swap: float = Field(0.3, gt=0, lt=1, description="Share of a copy's features taken from another random row.")

    @field_validator("student", mode="before")
    @classmethod
    def _lightgbm_unless_named(cls, value: object) -> object:
        """A student with no `type` is the LightGBM it always was."""
        return {"type": "lightgbm", **value} if isinstance(value, dict) and "type" not in value else value

    @property
    def registered_teacher(self) -> str | None:
        return self.teacher.model if isinstance(self.teacher, RegisteredTeacher) else None


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
    LightGBMConfig | LinearConfig | ExtraTreesConfig | RandomForestConfig | EnsembleConfig | SearchConfig | AutoConfig
    | BlendConfig | DistillConfig | MLPConfig | CNNConfig | RNNConfig | TransformerConfig | EfficientNetConfig | MiniLMConfig
    | IsolationForestConfig | LOFConfig | KNNConfig | ECODConfig | AutoencoderConfig | DetectorsConfig | PatchCoreConfig
    | KMeansConfig | GaussianMixtureConfig | DBSCANConfig | HDBSCANConfig,
    Field(discriminator="type"),
]
