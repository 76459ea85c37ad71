"""What `train.type: auto` tries, strongest first, and what it searches.

The settings are few and strong, after AutoGluon's zeroshot portfolios and what the examples
taught us: LightGBM with fine histogram bins finds sharp physical limits (AI4I's power and
strain limits) that 255 bins blur; extra trees and random forests make different mistakes from
boosting, which a blend needs; a linear model and an MLP see smooth trends trees approximate in
steps. Large data drops what would not pay: forests past a million cells grow fewer trees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from modelfab.spec.schema import ExtraTreesConfig, LightGBMConfig, LinearConfig, RandomForestConfig
from modelfab.spec.sections.nets import MLPConfig

BOOSTING = {"n_estimators": 10_000, "early_stopping_rounds": 50, "refit_full": False}


@dataclass
class Candidate:
    name: str
    config: Any
    family: str

    def settings(self) -> dict:
        """The settings that differ from the family's defaults (what a reader needs to redo it)."""
        default = type(self.config)().model_dump(mode="json")
        return {k: v for k, v in self.config.model_dump(mode="json").items()
                if default.get(k) != v and k not in ("type", "seed")}


def portfolio(auto: Any, task: str, shape: tuple[int, int]) -> Iterator[Candidate]:
    """The candidates for this task and size, in the order they are tried."""
    rows, features = shape
    seed = auto.seed
    cells = rows * features
    trees = 300 if cells < 2_000_000 else 100
    fine = min(8191, max(255, rows // 2))
    table = [
        ("lightgbm", "lightgbm", LightGBMConfig(**BOOSTING, seed=seed)),
        ("lightgbm fine bins", "lightgbm",
         LightGBMConfig(**BOOSTING, max_bin=fine, min_data_in_bin=1, seed=seed) if fine > 255 else None),
        ("extra trees", "extra_trees", ExtraTreesConfig(n_estimators=trees, max_features=_share(task, features),
                                                        seed=seed)),
        ("lightgbm large leaves", "lightgbm",
         LightGBMConfig(**BOOSTING, learning_rate=0.03, num_leaves=128, min_child_samples=5, colsample_bytree=0.9,
                        seed=seed)),
        ("random forest", "random_forest", RandomForestConfig(n_estimators=trees, max_features=_share(task, features),
                                                              seed=seed)),
        ("linear", "linear", LinearConfig(seed=seed)),
        ("mlp", "mlp", MLPConfig(hidden=[256, 128], epochs=60, batch_size=min(512, max(32, rows // 50)),
                                 dropout=0.1, checkpoint_every=0, refit_full=False, seed=seed)),
        ("lightgbm small leaves", "lightgbm",
         LightGBMConfig(**BOOSTING, num_leaves=8, colsample_bytree=0.6, subsample=0.8, min_child_samples=10,
                        seed=seed)),
    ]
    for name, family, config in table:
        if config is not None and family in auto.families:
            yield Candidate(name, config, family)


def _share(task: str, features: int) -> float:
    """Features tried at each split: about sqrt(F) for classes, all of them for values (the
    scikit-learn defaults, which the forests' published benchmarks use)."""
    if task == "regression":
        return 1.0
    return min(1.0, max(1, round(features ** 0.5)) / max(features, 1))


def search_base(done: list) -> tuple[Candidate, dict] | None:
    """The best finished candidate of a family with a search space, and that space."""
    from modelfab.spec.search_space import DEFAULT_SPACES, R

    ranked = sorted((b for b in done if b.candidate.family in DEFAULT_SPACES), key=lambda b: b.loss)
    if not ranked:
        return None
    best = ranked[0].candidate
    space = dict(DEFAULT_SPACES[best.family])
    if best.family == "lightgbm":  # the bins matter as much as the leaves on sharp limits
        space["max_bin"] = R(choices=sorted({255, 1023, best.config.max_bin}))
        space["min_data_in_bin"] = R(choices=[1, 3])
    return Candidate(f"{best.family} search", best.config, best.family), space
