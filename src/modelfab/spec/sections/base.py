"""What every spec section and every model family's config shares."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(Section):
    seed: int = Field(0, description="Random seed of the model.")
    decision_threshold: Literal["f1", "default"] | float = Field(
        "f1",
        description="Binary tasks: pick the threshold maximising F1 on the validation split, "
        "use 0.5 (default), or give one.",
    )
