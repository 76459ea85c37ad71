"""The contract every model family keeps, so the trainer, the gate, the registry and the server
never ask which family they hold.

Rules (after scikit-learn's developer guide):
- `__init__(config, task, n_classes)` only stores hyperparameters; no logic, no validation.
- `fit(X, y, X_valid=None, y_valid=None, progress=None)` returns `self`; learned state lives in
  attributes ending in `_`; `valid_scores_` holds out-of-sample scores on the validation rows
  (class probabilities or values) for threshold choice.
- `predict(X)` gives class codes 0..k-1 or values; `predict_proba(X)` gives (n, k) probabilities
  and exists only where `capabilities` includes "proba".
- `save(folder)` writes safe files only (text, JSON, safetensors); `load(folder)` reads them.
- Predicting before fitting raises `NotFittedError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from modelfab.errors import FabError
from modelfab.tasks import TASKS, Task, get_task

Progress = Callable[[float, float | None, str], None]


class NotFittedError(FabError):
    pass


@dataclass
class TrainContext:
    """What the train stage lends a family: where a net checkpoints, what for (the stage's cache
    key), where per-epoch or per-trial metrics go (MLflow, with their step), and when it must stop
    growing (`deadline`, on `time.monotonic()`'s clock: LightGBM stops adding rounds, a forest
    trees, a net epochs; `train.type: auto` sets it to keep its time budget)."""

    checkpoint: Path | None = None
    fingerprint: str = ""
    log_metrics: Any = None
    deadline: float | None = None


@dataclass
class Contributions:
    """How much each model feature moved the raw output of each row: `values` (rows, features,
    outputs), `base` (outputs,), or (rows, outputs) where each row has its own baseline, and `raw`
    (rows, outputs), with base + values summed over the features equal to raw. One output for
    binary (the positive class's margin or probability) and regression, one per class for
    multiclass. `space` says what raw is: margin, probability, value. `features` names the values'
    columns where they are not the model's features (an image instead of its backbone's
    activations); `maps`, per row, a heat map over an image's pixels."""

    values: np.ndarray
    base: np.ndarray
    raw: np.ndarray
    method: str
    space: str
    features: list[str] | None = None
    maps: np.ndarray | None = None


class ModelFamily(ABC):
    type: ClassVar[str]
    tasks: ClassVar[frozenset[str]] = frozenset(  # the tasks it answers: the supervised ones, unless it says
        n for n, t in TASKS.items() if not (t.detector or t.clusters))
    capabilities: ClassVar[frozenset[str]] = frozenset({"proba"})
    layout: dict | None = None  # how feature columns form images, sequences or tokens (nets read it)
    context: Any = None  # checkpointing and per-epoch logging lent by the train stage (nets use it)
    trained_on_valid_: bool = False  # set by fit when the final model also learned from the validation rows

    def __init__(self, config: Any, task: str, n_classes: int = 0) -> None:
        self.config = config
        self.task = task
        self.n_classes = n_classes

    @property
    def kind(self) -> Task:
        """The task as an object (tasks/): what its targets, scores and outputs are."""
        return get_task(self.task)

    @classmethod
    def fold_config(cls, config: Any) -> Any:
        """The config for one cross-validation fold (the ensemble fits each member k times)."""
        return config

    @classmethod
    def all_rows_config(cls, config: Any, fold_models: list[ModelFamily]) -> Any:
        """The config for a refit on all rows, given the models fitted on the folds (a family
        that stops early can carry the learned round count over)."""
        return config

    def get_params(self) -> dict:
        return {"config": self.config.model_dump(mode="json"), "task": self.task, "n_classes": self.n_classes}

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray, X_valid: np.ndarray | None = None,
            y_valid: np.ndarray | None = None, progress: Progress | None = None) -> ModelFamily: ...

    @abstractmethod
    def predict_scores(self, X: np.ndarray) -> np.ndarray:
        """(n, k) class probabilities, or (n,) values for regression."""

    @abstractmethod
    def save(self, folder: Path) -> None: ...

    @classmethod
    @abstractmethod
    def load(cls, folder: Path, config: Any, task: str, n_classes: int) -> ModelFamily: ...

    def contributions(self, X: np.ndarray) -> Contributions:
        """Exact per-feature contributions; families that cannot (nets, ensembles) raise
        NotImplementedError and are explained by a model-agnostic method instead."""
        raise NotImplementedError(f"{self.type} has no exact contributions")

    def package_info(self) -> dict:
        """Keys the family adds to package.json (a clusterer: its clusters as the classes)."""
        return {}

    @property
    def has_contributions(self) -> bool:
        """Whether `contributions` is exact here (the family overrides it)."""
        return type(self).contributions is not ModelFamily.contributions

    def predict(self, X: np.ndarray) -> np.ndarray:
        scores = self.predict_scores(X)
        return scores.argmax(axis=1) if self.kind.has_classes else scores

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if not self.kind.has_classes:
            raise AttributeError(f"{type(self).__name__} predicts values for regression; it has no predict_proba")
        return self.predict_scores(X)

    def _check_fitted(self, attr: str) -> None:
        if not hasattr(self, attr):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit with training data before predicting"
            )


def deadline_of(model: ModelFamily) -> float | None:
    return getattr(model.context, "deadline", None)


def as_matrix(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise FabError(f"expected a 2-D feature matrix, got shape {X.shape}")
    if X.shape[0] == 0:
        raise FabError("expected at least one row; got an empty feature matrix")
    return X


def balanced_weights(y: np.ndarray) -> np.ndarray:
    classes, counts = np.unique(y, return_counts=True)
    per_class = len(y) / (len(classes) * counts)
    return per_class[np.searchsorted(classes, y)]
