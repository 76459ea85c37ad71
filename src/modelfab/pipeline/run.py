"""The run contract: what a run is while it runs (RunState), what a stage gets (StageContext),
what hooks hear (Hook, StageRecord). Hooks, stages and runners all read this module and it
reads none of them, so there is no circle between them.

A StageContext holds only plain values (paths, the stage's key, its view of the spec), so it
pickles: a runner may send a stage to another process. Progress and metrics reported there are
kept in `pending` until the runner replays them to its hooks.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelfab.spec.load import tracking_uri
from modelfab.spec.view import SpecView

if TYPE_CHECKING:
    from modelfab.artifacts.store import ArtifactStore, Ref
    from modelfab.pipeline.graph import Stage
    from modelfab.spec.load import Project


@dataclass
class StageRecord:
    name: str
    key: str
    cached: bool
    seconds: float
    outputs: dict[str, Ref] = field(default_factory=dict)
    inputs: dict[str, Ref] = field(default_factory=dict)
    config: dict = field(default_factory=dict)


@dataclass
class RunState:
    """What hooks and the runner know about the run in progress (stages never see it)."""

    project: Project
    store: ArtifactStore
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    refs: dict[str, Ref] = field(default_factory=dict)
    records: list[StageRecord] = field(default_factory=list)
    tracking_run_id: str | None = None
    tracking_artifact_uri: str | None = None
    started: float = field(default_factory=time.perf_counter)
    kept: dict[Ref, Any] = field(default_factory=dict)
    held_large: bool = False  # the last stage computed held a large table: give memory back after it
    sizes: dict[Ref, int | None] = field(default_factory=dict)  # memory_bytes of artifacts, measured once

    def load(self, name: str) -> Any:
        return self.get(self.refs[name])

    def get(self, ref: Ref) -> Any:
        """An artifact this run produced and kept in memory, else the stored one."""
        kept = self.kept.get(ref)
        return kept if kept is not None else self.store.get(ref)


@dataclass
class StageContext:
    """Passed to stages as `ctx`: the stage's view of the spec, the project's places, its cache
    key, empty folders for its outputs, and progress reporting."""

    stage: str
    spec: SpecView
    root: Path
    store_dir: Path
    tmp: Path
    key: str = ""  # the stage's cache key: what a checkpoint of this computation is for
    inputs: dict[str, str] = field(default_factory=dict)  # input name -> the artifact's digest (lineage)
    tracking_run_id: str | None = None  # the MLflow run of this pipeline run, if one is open
    events: Callable[..., None] | None = field(default=None, repr=False)
    pending: list[tuple] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)

    def path(self, relative: str) -> Path:
        """A path of the spec (relative to fab.yaml's folder)."""
        return (self.root / relative).resolve()

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking and registry URI; needs `tracking.uri` declared."""
        return tracking_uri(self.spec.tracking.uri, self.store_dir)

    def folder(self) -> Path:
        """An empty folder for a Folder artifact; removed once the outputs are stored."""
        path = self.tmp / f"out-{uuid.uuid4().hex}"
        path.mkdir(parents=True)
        self.folders.append(path)
        return path

    def progress(self, done: float, total: float | None = None, note: str = "") -> None:
        self._emit("stage_progress", done, total, note)

    def log_metrics(self, metrics: dict, step: int) -> None:
        """Metrics while the stage runs (a net's epochs), e.g. to MLflow with their step."""
        self._emit("stage_metrics", metrics, step)

    def _emit(self, event: str, *args: Any) -> None:
        if self.events is None:
            self.pending.append((event, *args))
        else:
            self.events(event, *args)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "events"} | {"events": None}


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
