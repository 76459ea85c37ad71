"""The `fab.yaml` contract: one pydantic model per section, every field typed, bounded and described.

Each section lives in its own file under `spec/sections/`; this module assembles the whole spec
(`FabSpec`) and names every section's model, so `from modelfab.spec.schema import X` finds any.
`extra="forbid"` everywhere, so a typo is an error (with a suggestion) instead of a silently
ignored key. Variants (the model family) are chosen by a `type:` key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from modelfab.spec.sections.base import ModelConfig, Section
from modelfab.spec.sections.data import DataConfig, ImagesConfig, RemainingLife, TestData
from modelfab.spec.sections.evaluate import (
    EvaluateConfig,
    ExplainConfig,
    GateConfig,
    GateRule,
    Metric,
    RegisterConfig,
)
from modelfab.spec.sections.export import CompressConfig, ExportConfig
from modelfab.spec.sections.features import (
    Combination,
    FeaturesConfig,
    ImageConfig,
    SelectConfig,
    SequenceConfig,
    TextConfig,
    WindowConfig,
)
from modelfab.spec.sections.nets import NET_CONFIGS, NET_TYPES, NetBase
from modelfab.spec.sections.ops import MonitorConfig, RetrainConfig, ServeConfig, TrackingConfig
from modelfab.spec.sections.prepare import CleanConfig, DenoiseConfig, OutlierConfig, SplitConfig, ValidateConfig
from modelfab.spec.sections.train import (
    AutoConfig,
    BlendConfig,
    BlendMember,
    EnsembleConfig,
    ExtraTreesConfig,
    ForestConfig,
    LightGBMConfig,
    LinearConfig,
    MemberConfig,
    RandomForestConfig,
    SearchConfig,
    SearchRange,
    TrainConfig,
)
from modelfab.tasks import AUTO, TASKS

CURRENT_VERSION = 1

__all__ = [
    "AutoConfig", "CURRENT_VERSION", "NET_CONFIGS", "NET_TYPES", "BlendConfig", "BlendMember", "CleanConfig", "Combination",
    "DataConfig", "DenoiseConfig", "EnsembleConfig", "EvaluateConfig", "ExplainConfig", "ExtraTreesConfig", "FabSpec",
    "FeaturesConfig", "ForestConfig", "GateConfig", "GateRule", "ImageConfig", "ImagesConfig", "LightGBMConfig",
    "LinearConfig", "MemberConfig", "Metric", "ModelConfig", "MonitorConfig", "NetBase", "OutlierConfig",
    "RandomForestConfig", "RegisterConfig", "RemainingLife", "RetrainConfig", "SearchConfig", "SearchRange",
    "Section", "SelectConfig", "SequenceConfig", "ServeConfig", "SplitConfig", "TestData", "TextConfig",
    "TrackingConfig", "TrainConfig", "ValidateConfig", "WindowConfig",
]


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
    export: ExportConfig = Field(default_factory=ExportConfig)
    compress: CompressConfig = Field(default_factory=CompressConfig)
    explain: ExplainConfig = Field(default_factory=ExplainConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    register_: RegisterConfig = Field(default_factory=RegisterConfig, alias="register")
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    retrain: RetrainConfig = Field(default_factory=RetrainConfig)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _unlabelled(cls, raw: object) -> object:
        """A task that learns without labels (anomaly, cluster), given no label column, reads one
        the ingest stage makes (every row `normal`); with no `train:`, it takes its task's family."""
        if isinstance(raw, dict) and raw.get("task") in TASKS and not TASKS[raw["task"]].needs_target:
            task, data = TASKS[raw["task"]], raw.get("data")
            if isinstance(data, dict) and data.get("target") is None:
                from modelfab.tasks.anomaly import UNLABELLED

                raw = raw | {"data": data | {"target": UNLABELLED}}
            if "train" not in raw:
                raw = raw | {"train": {"type": task.default_family}}
        return raw

    @property
    def model_name(self) -> str:
        return self.register_.name or self.name

    def section(self, key: str) -> object:
        """The config section for a top-level key as written in fab.yaml (`validate`, not `validate_`)."""
        return getattr(self, f"{key}_", None) or getattr(self, key)
