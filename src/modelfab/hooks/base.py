"""Hook events: cross-cutting work (tracking, progress, lineage) subscribes here instead of
living inside stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelfab.artifacts.store import Ref
    from modelfab.pipeline.graph import Stage
    from modelfab.runners.local import RunState


@dataclass
class StageRecord:
    name: str
    key: str
    cached: bool
    seconds: float
    outputs: dict[str, Ref] = field(default_factory=dict)
    inputs: dict[str, Ref] = field(default_factory=dict)
    config: dict = field(default_factory=dict)


class Hook:
    """Subclass and override the events you need; every event is a no-op here."""

    def before_pipeline(self, run: RunState) -> None: ...

    def before_stage(self, run: RunState, stage: Stage) -> None: ...

    def before_compute(self, run: RunState, stage: Stage) -> None:
        """The stage missed the cache and is about to run (before_stage comes before the cache check)."""

    def stage_progress(self, run: RunState, stage: Stage, done: float, total: float | None, note: str) -> None: ...

    def stage_metrics(self, run: RunState, stage: Stage, metrics: dict, step: int) -> None: ...

    def after_stage(self, run: RunState, stage: Stage, record: StageRecord) -> None: ...

    def on_stage_error(self, run: RunState, stage: Stage, error: BaseException) -> None: ...

    def after_pipeline(self, run: RunState) -> None: ...


class HookSet:
    """Calls an event on every hook in order."""

    def __init__(self, hooks: list[Hook]) -> None:
        self.hooks = hooks

    def __getattr__(self, event: str) -> Any:
        def call(*args: Any) -> None:
            for hook in self.hooks:
                getattr(hook, event)(*args)

        return call
